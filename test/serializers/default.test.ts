import { Buffer } from 'node:buffer';
import { serialize as v8Serialize } from 'node:v8';
import { crc32 } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { classNameOf, prototypeForClass, registerClass, unregisterClass } from '../../runtime/support/class-registry.js';
import { ConfigError, SerializationError } from '../../runtime/errors.js';
import { deserialize, serialize, serializeStructureChecked } from '../../runtime/serialize/serializer.js';
import { describeSerializer, expectSafeMutations } from '../../runtime/testing/serializer-conformance.js';

const HEADER_SIZE = 24;

class Point {
  constructor(
    public x: number,
    public y: number,
  ) {}
  length(): number {
    return Math.hypot(this.x, this.y);
  }
}

class Point3 extends Point {
  z = 0;
}

class Line {
  constructor(
    public from: Point,
    public to: Point,
  ) {}
}

class Tally extends Map<string, number> {
  total(): number {
    return [...this.values()].reduce((sum, count) => sum + count, 0);
  }
}

class Samples extends Float64Array {
  mean(): number {
    return this.reduce((sum, value) => sum + value, 0) / this.length;
  }
}

/** A frame around `payload` with valid checksums (header and payload), for inputs serialize would never produce. */
function frame(tag: number, payload: Uint8Array, patch: (header: Uint8Array) => void = () => {}): Uint8Array {
  const bytes = new Uint8Array(HEADER_SIZE + payload.length);
  bytes.set([0x50, 0x58, 0x53, 3, tag, 0x03]);
  new DataView(bytes.buffer).setUint32(8, payload.length, true);
  bytes.set(payload, HEADER_SIZE);
  patch(bytes);
  new DataView(bytes.buffer).setUint32(20, crc32(bytes.subarray(HEADER_SIZE)), true);
  new DataView(bytes.buffer).setUint32(16, crc32(bytes.subarray(0, 16)), true);
  return bytes;
}

/** `bytes` copied to `byteOffset` inside a larger buffer, as a connector reading into pooled memory would hand them over. */
function placedAt(bytes: Uint8Array, byteOffset: number): Uint8Array {
  const placed = new Uint8Array(new ArrayBuffer(byteOffset + bytes.length), byteOffset, bytes.length);
  placed.set(bytes);
  return placed;
}

const validFloats = serialize(Float64Array.of(1, 2));

describeSerializer(
  'default',
  { serialize, deserialize },
  {
    invalidEncodings: {
      'an unknown tag': frame(0x7f, new Uint8Array(8)),
      'a wrong magic': frame(0x02, new Uint8Array(4), (h) => (h[0] = 0x51)),
      'an unsupported format version': frame(0x02, new Uint8Array(4), (h) => (h[3] = 1)),
      'non-zero reserved bytes': frame(0x02, new Uint8Array(4), (h) => (h[6] = 1)),
      'a trailing byte after the payload': Uint8Array.from([...validFloats, 0]),
      'a length whose high word is set': frame(0x02, new Uint8Array(4), (h) => (h[15] = 1)),
      'a Float64Array payload that is not a whole number of elements': frame(0x0d, new Uint8Array(12)),
      'invalid UTF-8 in a string': frame(0x01, Uint8Array.of(0x61, 0xff, 0x62)),
      'a structured payload that is not V8 data': frame(0x20, Uint8Array.of(1, 2, 3, 4)),
      'a class payload of the wrong shape': frame(0x21, new Uint8Array(v8Serialize({ not: 'a triple' }))),
      'a class payload whose names do not pair with instances': frame(0x21, new Uint8Array(v8Serialize([{}, [{}], []]))),
    },
  },
);

describe('default serializer: byte layout', () => {
  it('writes magic, version, tag, zero reserved bytes, the payload length and both checksums', () => {
    const encoded = serialize(Float64Array.of(1.5, -2));
    expect([...encoded.subarray(0, 8)]).toEqual([0x50, 0x58, 0x53, 3, 0x0d, 0x03, 0, 0]);
    expect(new DataView(encoded.buffer, encoded.byteOffset).getBigUint64(8, true)).toBe(16n);
    expect(new DataView(encoded.buffer, encoded.byteOffset).getUint32(16, true)).toBe(crc32(encoded.subarray(0, 16)));
    expect(new DataView(encoded.buffer, encoded.byteOffset).getUint32(20, true)).toBe(crc32(encoded.subarray(HEADER_SIZE)));
    // The structure-only variant leaves a raw payload unchecked: flag 0x01 alone, no payload checksum.
    const light = serializeStructureChecked(Float64Array.of(1.5, -2));
    expect(light[5]).toBe(0x01);
    expect([...light.subarray(20, 24)]).toEqual([0, 0, 0, 0]);
    expect(encoded.length).toBe(HEADER_SIZE + 16);
    expect(new Float64Array(encoded.slice(HEADER_SIZE).buffer)).toEqual(Float64Array.of(1.5, -2));
  });

  const tags: readonly [string, unknown, number][] = [
    ['well-formed string', 'text', 0x01],
    ['Uint8Array', new Uint8Array(1), 0x02],
    ['Buffer', Buffer.alloc(1), 0x03],
    ['ArrayBuffer', new ArrayBuffer(1), 0x04],
    ['DataView', new DataView(new ArrayBuffer(1)), 0x05],
    ['Int8Array', new Int8Array(1), 0x06],
    ['Uint8ClampedArray', new Uint8ClampedArray(1), 0x07],
    ['Int16Array', new Int16Array(1), 0x08],
    ['Uint16Array', new Uint16Array(1), 0x09],
    ['Int32Array', new Int32Array(1), 0x0a],
    ['Uint32Array', new Uint32Array(1), 0x0b],
    ['Float32Array', new Float32Array(1), 0x0c],
    ['Float64Array', new Float64Array(1), 0x0d],
    ['BigInt64Array', new BigInt64Array(1), 0x0e],
    ['BigUint64Array', new BigUint64Array(1), 0x0f],
    ['string with a lone surrogate', '\uD800', 0x20],
    ['plain object', { a: 1 }, 0x20],
    ['number', 1, 0x20],
  ];
  for (const [label, value, tag] of tags) {
    it(`tags a ${label} 0x${tag.toString(16)}`, () => {
      expect(serialize(value)[4]).toBe(tag);
    });
  }

  it('stores strings as UTF-8', () => {
    expect([...serialize('é€').subarray(HEADER_SIZE)]).toEqual([0xc3, 0xa9, 0xe2, 0x82, 0xac]);
  });

  it('gives each encoding its own ArrayBuffer, from offset 0', () => {
    for (const value of [Float64Array.of(1), 'text', { a: 1 }]) {
      const encoded = serialize(value);
      expect(encoded.byteOffset).toBe(0);
      expect(encoded.buffer.byteLength).toBe(encoded.byteLength);
    }
  });

  it('writes binary data and strings into the memory allocate gives, and round-trips from there', () => {
    for (const value of [Float64Array.of(1.5, -2), Buffer.from('buf'), 'text é']) {
      let given: Uint8Array | undefined;
      const encoded = serialize(value, (size) => (given = new Uint8Array(new ArrayBuffer(size + 24), 24, size)));
      expect(encoded).toBe(given);
      expect(deserialize(encoded)).toEqual(value);
    }
  });

  it('refuses memory from allocate of the wrong size or alignment, naming what came back', () => {
    expect(() => serialize(Float64Array.of(1), (size) => new Uint8Array(size + 1))).toThrow(/exactly 32 bytes.*got 33 bytes at offset 0/);
    expect(() => serialize(Float64Array.of(1), (size) => new Uint8Array(new ArrayBuffer(size + 4), 4, size))).toThrow(/8-aligned.*offset 4/);
    expect(() => serialize('x', () => [] as unknown as Uint8Array)).toThrow(SerializationError);
  });

  it('returns a plain Uint8Array, never a Buffer (whose slice would not copy)', () => {
    expect(Buffer.isBuffer(serialize(Buffer.from('x')))).toBe(false);
    expect(Buffer.isBuffer(serialize({ a: 1 }))).toBe(false);
  });

  it('refuses input that is not a Uint8Array', () => {
    expect(() => deserialize(validFloats.buffer as unknown as Uint8Array)).toThrow(/expected a Uint8Array.*ArrayBuffer/);
  });

  it.runIf(!('Float16Array' in globalThis))('refuses a Float16Array where the runtime has none', () => {
    expect(() => deserialize(frame(0x10, new Uint8Array(4)))).toThrow(SerializationError);
    expect(() => deserialize(frame(0x10, new Uint8Array(4)))).toThrow(/Float16Array/);
  });
});

describe('default serializer: views and copies', () => {
  it('decodes an aligned typed array as a view of the input (zero copy)', () => {
    const encoded = serialize(Float64Array.of(1, 2, 3));
    const decoded = deserialize(encoded) as Float64Array;
    expect(decoded.buffer).toBe(encoded.buffer);
    expect(decoded.byteOffset).toBe(HEADER_SIZE);
    expect(decoded).toEqual(Float64Array.of(1, 2, 3));
  });

  it('lets later writes to the input show through the decoded view', () => {
    const encoded = serialize(Int32Array.of(7, 8));
    const decoded = deserialize(encoded) as Int32Array;
    new Int32Array(encoded.buffer, HEADER_SIZE, 2)[1] = 42;
    expect([...decoded]).toEqual([7, 42]);
  });

  const alignment: readonly [string, ArrayBufferView, number, boolean][] = [
    ['Float64Array', Float64Array.of(1, 2), 8, true],
    ['Float64Array', Float64Array.of(1, 2), 4, false],
    ['Float64Array', Float64Array.of(1, 2), 1, false],
    ['BigInt64Array', BigInt64Array.of(-1n), 24, true],
    ['BigInt64Array', BigInt64Array.of(-1n), 2, false],
    ['Float32Array', Float32Array.of(1, 2), 4, true],
    ['Float32Array', Float32Array.of(1, 2), 6, false],
    ['Int16Array', Int16Array.of(1, 2), 2, true],
    ['Int16Array', Int16Array.of(1, 2), 3, false],
    ['Uint8Array', Uint8Array.of(1, 2), 3, true],
    ['Int8Array', Int8Array.of(1, 2), 5, true],
    ['DataView', new DataView(Uint8Array.of(1, 2).buffer), 7, true],
  ];
  for (const [type, value, byteOffset, viewed] of alignment) {
    it(`${viewed ? 'views' : 'copies'} a ${type} whose input starts at byte offset ${byteOffset}`, () => {
      const input = placedAt(serialize(value), byteOffset);
      const decoded = deserialize(input) as ArrayBufferView;
      expect(decoded).toStrictEqual(value);
      if (viewed) {
        expect(decoded.buffer).toBe(input.buffer);
        expect(decoded.byteOffset).toBe(byteOffset + HEADER_SIZE);
      } else {
        expect(decoded.buffer).not.toBe(input.buffer);
        expect(decoded.byteOffset).toBe(0);
      }
    });
  }

  it('views a Buffer and restores it as a Buffer; a Uint8Array stays a plain Uint8Array', () => {
    const input = placedAt(serialize(Buffer.from('node')), 3);
    const buffer = deserialize(input) as Buffer;
    expect(Buffer.isBuffer(buffer)).toBe(true);
    expect(buffer.toString()).toBe('node');
    expect(buffer.buffer).toBe(input.buffer);

    const bytes = deserialize(serialize(Uint8Array.of(1))) as Uint8Array;
    expect(Buffer.isBuffer(bytes)).toBe(false);
    expect(bytes).toBeInstanceOf(Uint8Array);
  });

  it('decodes a plain Uint8Array even when the input is a Buffer', () => {
    const decoded = deserialize(Buffer.from(serialize(Uint8Array.of(5, 6)))) as Uint8Array;
    expect(Buffer.isBuffer(decoded)).toBe(false);
    expect([...decoded]).toEqual([5, 6]);
  });

  it('always copies an ArrayBuffer, which cannot be a view', () => {
    const encoded = serialize(Uint8Array.of(1, 2, 3).buffer);
    const decoded = deserialize(encoded) as ArrayBuffer;
    expect(decoded).toBeInstanceOf(ArrayBuffer);
    expect(decoded).not.toBe(encoded.buffer);
    expect([...new Uint8Array(decoded)]).toEqual([1, 2, 3]);
  });

  it('encodes only the viewed bytes of a view into a larger buffer', () => {
    const backing = Float64Array.of(1, 2, 3, 4);
    const encoded = serialize(backing.subarray(1, 3));
    expect(encoded.length).toBe(HEADER_SIZE + 16);
    expect(deserialize(encoded)).toEqual(Float64Array.of(2, 3));
  });

  it('reads input that lives in a SharedArrayBuffer', () => {
    const encoded = serialize(Float64Array.of(4, 5));
    const shared = new Uint8Array(new SharedArrayBuffer(encoded.length));
    shared.set(encoded);
    expect(deserialize(shared)).toEqual(Float64Array.of(4, 5));
  });
});

describe('default serializer: unsupported values', () => {
  it('names the type and where it sits', () => {
    expect(() => serialize({ model: { layers: [1, () => 2] } })).toThrow('cannot serialize a value of type function at value.model.layers[1]');
    expect(() => serialize(new Map([['k', new WeakSet()]]))).toThrow('a value of type WeakSet at value<Map value>');
    expect(() => serialize({ 'odd key': Symbol('s') })).toThrow('a value of type symbol at value["odd key"]');
  });

  it('names a Proxy, without running its traps', () => {
    let trapCalls = 0;
    const counting = new Proxy(
      { a: 1 },
      {
        get: (target, key): unknown => {
          trapCalls++;
          return Reflect.get(target, key);
        },
        ownKeys: (target) => {
          trapCalls++;
          return Reflect.ownKeys(target);
        },
        getPrototypeOf: (target) => {
          trapCalls++;
          return Reflect.getPrototypeOf(target);
        },
      },
    );
    registerClass(Point);
    try {
      expect(() => serialize({ inner: counting })).toThrow('a value of type Proxy at value.inner');
    } finally {
      unregisterClass(Point);
    }
    expect(trapCalls).toBe(0);
  });

  it('wraps an error thrown by a getter, with or without registered classes', () => {
    const failing = {
      get broken(): never {
        throw new RangeError('getter failed');
      },
    };
    const causeOf = (value: unknown): unknown => {
      try {
        serialize(value);
      } catch (error) {
        expect(error).toBeInstanceOf(SerializationError);
        return (error as Error).cause;
      }
      throw new Error('serialize did not throw');
    };
    expect(causeOf(failing)).toEqual(new RangeError('getter failed'));
    registerClass(Point);
    try {
      expect(causeOf([new Point(0, 0), failing])).toEqual(new RangeError('getter failed'));
    } finally {
      unregisterClass(Point);
    }
  });

  it('keeps the underlying error as the cause', () => {
    let error: unknown;
    try {
      serialize(() => 1);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as Error).cause).toBeInstanceOf(Error);
  });
});

describe('class registry', () => {
  afterEach(() => {
    for (const ctor of [Point, Point3, Line, Tally, Samples]) {
      unregisterClass(ctor);
    }
    unregisterClass('Renamed');
  });

  it('maps names to prototypes and back', () => {
    registerClass(Point);
    expect(prototypeForClass('Point')).toBe(Point.prototype);
    expect(classNameOf(new Point(1, 2))).toBe('Point');
    expect(classNameOf({})).toBeUndefined();
    expect(classNameOf(Object.create(null) as object)).toBeUndefined();
  });

  it('names an unregistered subclass after its nearest registered ancestor', () => {
    registerClass(Point);
    expect(classNameOf(new Point3(1, 2))).toBe('Point');
    registerClass(Point3);
    expect(classNameOf(new Point3(1, 2))).toBe('Point3');
  });

  it('accepts an explicit name', () => {
    registerClass(Point, 'Renamed');
    expect(classNameOf(new Point(0, 0))).toBe('Renamed');
    expect(prototypeForClass('Point')).toBeUndefined();
  });

  it('ignores registering the same class under the same name twice', () => {
    registerClass(Point);
    expect(() => registerClass(Point)).not.toThrow();
  });

  it('refuses a taken name, a second name for a class, anonymous classes, and a name that is not a string', () => {
    registerClass(Point);
    const Impostor = class Point {};
    expect(() => registerClass(Impostor)).toThrow(ConfigError);
    expect(() => registerClass(Point, 'Renamed')).toThrow(ConfigError);
    expect(() => registerClass(class {})).toThrow(ConfigError);
    // A JavaScript caller's mistake (an options object for a name): refused now, not at every later decode.
    class Untyped {}
    expect(() => registerClass(Untyped, { name: 'x' } as never)).toThrow(/registerClass: the name must be a string, got object/);
    expect(classNameOf(new Untyped())).toBeUndefined();
  });

  it('unregisters by name or by class, and ignores unknown ones', () => {
    registerClass(Point);
    registerClass(Line);
    unregisterClass('Point');
    unregisterClass(Line);
    unregisterClass('Never registered');
    expect(prototypeForClass('Point')).toBeUndefined();
    expect(classNameOf(new Line(new Point(0, 0), new Point(1, 1)))).toBeUndefined();
    registerClass(Point, 'Point');
    expect(classNameOf(new Point(0, 0))).toBe('Point');
  });
});

describe('default serializer: registered classes', () => {
  afterEach(() => {
    for (const ctor of [Point, Point3, Line, Tally, Samples]) {
      unregisterClass(ctor);
    }
  });

  const roundTrip = <T>(value: T): T => deserialize(serialize(value)) as T;

  it('restores the prototype of a top-level instance', () => {
    registerClass(Point);
    const decoded = roundTrip(new Point(3, 4));
    expect(decoded).toBeInstanceOf(Point);
    expect(decoded.length()).toBe(5);
    expect(serialize(new Point(3, 4))[4]).toBe(0x21);
  });

  it('restores instances nested in arrays, objects, Map keys and values, Sets and other instances', () => {
    registerClass(Point);
    registerClass(Line);
    const p = new Point(1, 0);
    const decoded = roundTrip({
      list: [p],
      byName: { origin: new Point(0, 0) },
      map: new Map([[new Point(2, 0), new Point(0, 2)]]),
      set: new Set([new Point(5, 5)]),
      line: new Line(new Point(0, 0), new Point(0, 3)),
    });
    expect(decoded.list[0]).toBeInstanceOf(Point);
    expect(decoded.byName.origin).toBeInstanceOf(Point);
    const [[key, value]] = [...decoded.map] as [[Point, Point]];
    expect(key.length()).toBe(2);
    expect(value.length()).toBe(2);
    expect([...decoded.set][0]).toBeInstanceOf(Point);
    expect(decoded.line).toBeInstanceOf(Line);
    expect(decoded.line.to.length()).toBe(3);
  });

  it('keeps identity and cycles among instances', () => {
    registerClass(Point);
    const p = new Point(1, 1) as Point & { self?: unknown };
    p.self = p;
    const decoded = roundTrip([p, p]);
    expect(decoded[0]).toBe(decoded[1]);
    expect(decoded[0]).toBeInstanceOf(Point);
    expect(decoded[0]?.self).toBe(decoded[0]);
  });

  it('finds instances in a sparse array far longer than its elements, without walking the holes', () => {
    registerClass(Point);
    const sparse: unknown[] = [];
    sparse[2 ** 31] = new Point(3, 4);
    const started = performance.now();
    const decoded = roundTrip(sparse);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(decoded).toHaveLength(2 ** 31 + 1);
    expect(decoded[2 ** 31]).toBeInstanceOf(Point);
  });

  it('restores an unregistered subclass as its nearest registered ancestor', () => {
    registerClass(Point);
    const decoded = roundTrip(new Point3(1, 2));
    expect(decoded).toBeInstanceOf(Point);
    expect(decoded).not.toBeInstanceOf(Point3);
    expect(decoded.z).toBe(0);
  });

  it('restores subclasses of Map and of typed arrays', () => {
    registerClass(Tally);
    registerClass(Samples);
    const tally = new Tally([
      ['a', 2],
      ['b', 3],
    ]);
    expect(roundTrip(tally).total()).toBe(5);
    const samples = roundTrip({ s: new Samples([1, 2, 3]) }).s;
    expect(samples).toBeInstanceOf(Samples);
    expect(samples.mean()).toBe(2);
  });

  it('leaves instances of unregistered classes as plain objects', () => {
    const decoded = roundTrip(new Point(1, 2));
    expect(decoded).not.toBeInstanceOf(Point);
    expect(decoded).toEqual({ x: 1, y: 2 });
  });

  it('refuses an instance whose class the decoding process has not registered', () => {
    registerClass(Point);
    const encoded = serialize({ p: new Point(1, 2) });
    unregisterClass(Point);
    expect(() => deserialize(encoded)).toThrow(SerializationError);
    expect(() => deserialize(encoded)).toThrow(/class 'Point' is not registered/);
  });

  it('leaves the binary fast path and registry-free values alone', () => {
    const before = serialize(Float64Array.of(1, 2));
    registerClass(Point);
    expect(serialize(Float64Array.of(1, 2))).toEqual(before);
    expect(serialize({ a: [1, { b: 2 }] })[4]).toBe(0x20);
  });

  it('decodes mutated class encodings to something or throws SerializationError (property)', async () => {
    registerClass(Point);
    registerClass(Line);
    const encodings = [serialize(new Line(new Point(0, 1), new Point(2, 3))), serialize([new Map([[1, new Point(1, 1)]])])];
    await expectSafeMutations(deserialize, encodings, 500);
  });
});
