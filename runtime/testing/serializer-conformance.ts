/**
 * What every serializer the Store accepts must do: round-trip each supported
 * kind of value exactly, name what it cannot encode, and refuse bad bytes with
 * a SerializationError. A store hands decoded values to user code, so a bad
 * input must never surface as some other error type or as a silently shortened
 * value.
 */
import type { Arbitrary } from 'fast-check';
import { SerializationError } from '../errors.js';
import type { Allocate, Deserializer, Serializer } from '../serialize/serializer.js';
import { importOptional } from '../support/optional-dependency.js';
import { missingForTesting, testApi } from './test-api.js';

type FastCheck = typeof import('fast-check');

/**
 * fast-check, loaded when a property test first needs it: a connector author
 * who imports ts-proxystore/testing for the connector suite alone need not
 * install it.
 */
let fc: FastCheck;

async function loadFastCheck(): Promise<FastCheck> {
  fc ??= (await importOptional<FastCheck>('fast-check')) ?? missingForTesting('fast-check', 'the serializer suite\'s property tests');
  return fc;
}

export interface SerializerPair {
  readonly serialize: Serializer;
  readonly deserialize: Deserializer;
}

export interface SerializerSuiteOptions {
  /** Format-specific inputs that must be refused (unknown tag, wrong version, ...), keyed by what is wrong. */
  readonly invalidEncodings?: Readonly<Record<string, Uint8Array>>;
}

/** fast-check runs per property. */
const FUZZ_RUNS = 300;

type Sample = readonly [label: string, value: unknown];

const float16Array = (globalThis as unknown as Partial<Record<string, new (values: number[]) => ArrayBufferView>>).Float16Array;

/** A view that does not start at its buffer's beginning, as slices of pooled or shared memory do. */
function offsetView<T>(make: (buffer: ArrayBuffer, byteOffset: number) => T, byteOffset: number, byteLength: number): T {
  const buffer = new ArrayBuffer(byteOffset + byteLength + 8);
  new Uint8Array(buffer).forEach((_, i, bytes) => (bytes[i] = (i * 37 + 11) & 0xff));
  return make(buffer, byteOffset);
}

const PRIMITIVE_SAMPLES: readonly Sample[] = [
  ['undefined', undefined],
  ['null', null],
  ['true', true],
  ['false', false],
  ['0', 0],
  ['-0', -0],
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
  ['a fraction', -1234.5678],
  ['the largest safe integer', Number.MAX_SAFE_INTEGER],
  ['a small bigint', 42n],
  ['a huge negative bigint', -(2n ** 200n) + 7n],
];

const STRING_SAMPLES: readonly Sample[] = [
  ['the empty string', ''],
  ['ASCII', 'hello, world'],
  ['non-ASCII text', 'grüße, 日本語, emoji 😀'],
  ['a leading byte-order mark', '\uFEFFstarts with a BOM'],
  ['NUL characters', 'a\0b\0'],
  ['a lone high surrogate', 'x\uD800y'],
  ['a lone low surrogate at the end', 'tail\uDC00'],
  ['a long string', 'abcdefghij'.repeat(20_000)],
];

const BINARY_SAMPLES: readonly Sample[] = [
  ['an empty Uint8Array', new Uint8Array(0)],
  ['a Uint8Array', Uint8Array.from({ length: 300 }, (_, i) => i & 0xff)],
  ['a Uint8Array view at an odd offset', offsetView((b, o) => new Uint8Array(b, o, 5), 3, 5)],
  ['a Buffer', Buffer.from('bytes in a Buffer')],
  ['an empty ArrayBuffer', new ArrayBuffer(0)],
  ['an ArrayBuffer', Uint8Array.of(1, 2, 3, 250).buffer],
  ['a DataView', offsetView((b, o) => new DataView(b, o, 7), 5, 7)],
  ['an Int8Array', Int8Array.of(-128, -1, 0, 1, 127)],
  ['a Uint8ClampedArray', Uint8ClampedArray.of(0, 128, 255)],
  ['an Int16Array', Int16Array.of(-32768, -1, 0, 32767)],
  ['a Uint16Array', Uint16Array.of(0, 1, 65535)],
  ['an Int32Array', Int32Array.of(-(2 ** 31), -1, 0, 2 ** 31 - 1)],
  ['a Uint32Array', Uint32Array.of(0, 1, 2 ** 32 - 1)],
  ['a Float32Array', Float32Array.of(-0, 1.5, NaN, Infinity, 3.4e38)],
  ['a Float64Array', Float64Array.of(-0, Math.PI, NaN, -Infinity, Number.MIN_VALUE, Number.MAX_VALUE)],
  ['an empty Float64Array', new Float64Array(0)],
  ['a BigInt64Array', BigInt64Array.of(-(2n ** 63n), -1n, 0n, 2n ** 63n - 1n)],
  ['a BigUint64Array', BigUint64Array.of(0n, 2n ** 64n - 1n)],
  ['a Float64Array view into a larger buffer', offsetView((b, o) => new Float64Array(b, o, 3), 16, 24)],
  ['an Int32Array view into a larger buffer', offsetView((b, o) => new Int32Array(b, o, 2), 4, 8)],
  ...(float16Array === undefined ? [] : [['a Float16Array', new float16Array([-0, 0.5, 65504, NaN])] as const]),
];

const shared = { shared: true };
const cyclic: Record<string, unknown> = { name: 'cycle' };
cyclic.self = cyclic;

const STRUCTURED_SAMPLES: readonly Sample[] = [
  ['a plain object', { a: 1, b: 'two', c: [3], d: { e: null } }],
  ['an empty object', {}],
  ['an array with undefined and holes', [1, undefined, , 'x']], // eslint-disable-line no-sparse-arrays
  ['a Map with object keys', new Map<unknown, unknown>([[{ k: 1 }, 'object key'], ['s', new Set([1])]])],
  ['a Set', new Set([1, 'two', 3n, null])],
  ['a Date', new Date(Date.UTC(2024, 1, 29, 12, 30))],
  ['a RegExp with flags', /^a+b*$/giu],
  ['typed arrays nested in an object', { f: Float64Array.of(1, 2), b: Uint8Array.of(9), big: BigInt64Array.of(-5n) }],
  ['a nested mixture', { list: [new Map([[1, { at: new Date(0) }]])], meta: { tags: new Set(['x']) } }],
  ['shared references', { a: shared, b: shared, list: [shared] }],
  ['a cycle', cyclic],
];

const ALL_SAMPLES: readonly Sample[] = [...PRIMITIVE_SAMPLES, ...STRING_SAMPLES, ...BINARY_SAMPLES, ...STRUCTURED_SAMPLES];

/** Decoding `bytes` may fail, but only with a SerializationError. */
export function expectSafeDecode(deserialize: Deserializer, bytes: Uint8Array): void {
  const { expect } = testApi('expectSafeDecode');
  try {
    deserialize(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(SerializationError);
  }
}

/**
 * Decodes `runs` mutations of `encodings` (bytes flipped, cut, spliced) and
 * checks each gives a value or a SerializationError, never anything else.
 * (fast-check stays inside: this entry's types name no test library.)
 */
export async function expectSafeMutations(deserialize: Deserializer, encodings: readonly Uint8Array[], runs: number): Promise<void> {
  await loadFastCheck();
  fc.assert(
    fc.property(mutatedEncoding(encodings), (bytes) => {
      expectSafeDecode(deserialize, bytes);
    }),
    { numRuns: runs },
  );
}

/** A valid encoding with some bytes overwritten. */
function mutatedEncoding(encodings: readonly Uint8Array[]): Arbitrary<Uint8Array> {
  return fc
    .record({
      source: fc.constantFrom(...encodings),
      edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
    })
    .map(({ source, edits }) => {
      const bytes = source.slice();
      for (const [position, value] of edits) {
        if (bytes.length > 0) {
          bytes[position % bytes.length] = value;
        }
      }
      return bytes;
    });
}

function expectRoundTrip(pair: SerializerPair, value: unknown, allocate?: Allocate): unknown {
  const { expect } = testApi('describeSerializer');
  const decoded = pair.deserialize(pair.serialize(value, allocate));
  if (Buffer.isBuffer(value)) {
    // A Buffer may come back as a plain Uint8Array; the bytes are what must match.
    expect(decoded).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(decoded as Uint8Array).equals(value)).toBe(true);
  } else {
    expect(decoded).toStrictEqual(value);
  }
  return decoded;
}

function prefixLengths(length: number): number[] {
  if (length <= 64) {
    return Array.from({ length }, (_, i) => i);
  }
  return [0, 1, 8, 15, 16, 17, 24, Math.floor(length / 2), length - 8, length - 1];
}

export function describeSerializer(name: string, pair: SerializerPair, options: SerializerSuiteOptions = {}): void {
  const { beforeAll, describe, expect, it } = testApi('describeSerializer');
  describe(`serializer conformance: ${name}`, () => {
    beforeAll(loadFastCheck);
    describe('round trips', () => {
      for (const [label, value] of ALL_SAMPLES) {
        it(label, () => {
          expectRoundTrip(pair, value);
        });
      }

      it('round-trips every sample written into memory a connector allocates (shared, at an offset)', () => {
        const allocate: Allocate = (size) => new Uint8Array(new SharedArrayBuffer(size + 8), 8, size);
        for (const [, value] of ALL_SAMPLES) expectRoundTrip(pair, value, allocate);
      });

      it('keeps object identity: shared references and cycles', () => {
        const decoded = pair.deserialize(pair.serialize({ a: shared, b: shared, cycle: cyclic })) as {
          a: object;
          b: object;
          cycle: { self: unknown };
        };
        expect(decoded.a).toBe(decoded.b);
        expect(decoded.cycle.self).toBe(decoded.cycle);
      });

      it('returns a Uint8Array that does not follow later changes to the value', () => {
        const value = Float64Array.of(1, 2, 3);
        const encoded = pair.serialize(value);
        value[0] = 99;
        expect(encoded).toBeInstanceOf(Uint8Array);
        expect(pair.deserialize(encoded)).toStrictEqual(Float64Array.of(1, 2, 3));
      });

      it('round-trips arbitrary structured values', () => {
        const values = fc.anything({
          withMap: true,
          withSet: true,
          withDate: true,
          withBigInt: true,
          withTypedArray: true,
          withSparseArray: true,
          withUnicodeString: true,
        });
        fc.assert(
          fc.property(values, (value) => {
            expectRoundTrip(pair, value);
          }),
          { numRuns: FUZZ_RUNS },
        );
      });
    });

    describe('unsupported values', () => {
      const unsupported: readonly [string, unknown, RegExp][] = [
        ['a function', () => 1, /function/],
        ['a symbol', Symbol('s'), /symbol/],
        ['a WeakMap', new WeakMap(), /WeakMap/],
        ['a function nested in an object', { deep: { handler: () => 1 } }, /function/],
        ['a Promise nested in an array', [1, Promise.resolve()], /Promise/],
      ];
      for (const [label, value, typeName] of unsupported) {
        it(`refuses ${label}, naming its type`, () => {
          expect(() => pair.serialize(value)).toThrow(SerializationError);
          expect(() => pair.serialize(value)).toThrow(typeName);
        });
      }
    });

    describe('bad input', () => {
      const encodings = ALL_SAMPLES.map(([, value]) => pair.serialize(value));

      it('refuses empty input', () => {
        expect(() => pair.deserialize(new Uint8Array(0))).toThrow(SerializationError);
      });

      it('refuses bytes that are not an encoding', () => {
        expect(() => pair.deserialize(new TextEncoder().encode('{"just": "some JSON, not an encoding"}'))).toThrow(SerializationError);
        expect(() => pair.deserialize(new Uint8Array(64))).toThrow(SerializationError);
      });

      for (const [problem, bytes] of Object.entries(options.invalidEncodings ?? {})) {
        it(`refuses input with ${problem}`, () => {
          expect(() => pair.deserialize(bytes)).toThrow(SerializationError);
        });
      }

      it('refuses every truncation of a valid encoding', () => {
        for (const encoding of encodings) {
          for (const length of prefixLengths(encoding.length)) {
            expect(() => pair.deserialize(encoding.slice(0, length)), `prefix of ${length}/${encoding.length} bytes`).toThrow(
              SerializationError,
            );
          }
        }
      });

      it('refuses random truncations (property)', () => {
        const truncated = fc
          .record({ source: fc.constantFrom(...encodings), cut: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }) })
          .map(({ source, cut }) => source.slice(0, Math.floor(cut * source.length)));
        fc.assert(
          fc.property(truncated, (bytes) => {
            expect(() => pair.deserialize(bytes)).toThrow(SerializationError);
          }),
          { numRuns: FUZZ_RUNS },
        );
      });

      it('decodes mutated encodings to something or throws SerializationError (property)', async () => {
        await expectSafeMutations(pair.deserialize, encodings, FUZZ_RUNS * 3);
      });

      it('decodes random bytes to something or throws SerializationError (property)', () => {
        fc.assert(
          fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
            expectSafeDecode(pair.deserialize, bytes);
          }),
          { numRuns: FUZZ_RUNS },
        );
      });
    });
  });
}
