/**
 * Frames that changed after `serialize` (in a store, on the wire) must never
 * decode silently to another value. Before the checksums, a changed tag byte
 * turned a Float64Array into another typed array. By default every byte is
 * checked; `serializeStructureChecked` (the store option `checksum:
 * 'structure'`) checks the header and structured payloads only, so a raw
 * payload's corruption keeps its type and size.
 */
import { execFileSync } from 'node:child_process';
import { readdir, writeFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { FileConnector, SerializationError, Store, deserialize, serialize, serializeChecked, serializeStructureChecked } from '../../src/index.js';
import { crc32 as frameCrc32, crc32Implementation } from '../../runtime/serialize/crc32.js';
import { tempDirs } from '../../runtime/testing/temp-dirs.js';

const dirs = tempDirs('integrity-');
afterAll(() => dirs.removeAll());

/** Values of every kind the frame format tags differently. */
const values = fc.oneof(
  fc.string(),
  fc.float64Array({ maxLength: 64 }),
  fc.int32Array({ maxLength: 64 }),
  fc.uint8Array({ maxLength: 64 }),
  fc.bigInt64Array({ maxLength: 16 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.integer(), fc.string(), fc.double(), fc.boolean())),
  fc.array(fc.oneof(fc.integer(), fc.string())),
);

/** Byte edits, each of which changes the byte it hits. */
const edits = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 });

/** The positions `changes` hit in a frame of `length` bytes, each once. */
function positions(length: number, changes: readonly [number, number][]): Map<number, number> {
  const hit = new Map<number, number>();
  for (const [position, delta] of changes) {
    const at = position % length;
    // XOR with a non-zero value always changes the byte; a byte hit twice might change back, so each counts once.
    if (!hit.has(at)) hit.set(at, delta);
  }
  return hit;
}

function mutate(frame: Uint8Array, hit: ReadonlyMap<number, number>): Uint8Array {
  const bytes = frame.slice();
  for (const [at, delta] of hit) bytes[at] = (bytes[at] as number) ^ delta;
  return bytes;
}

const HEADER_SIZE = 24;
const STRUCTURED_TAGS = new Set([0x20, 0x21]);

/** Its type as the frame tags tell types apart, and its size: what a raw payload's corruption must never change. */
function shapeOf(value: unknown): string {
  if (typeof value === 'string') return `string`;
  if (ArrayBuffer.isView(value)) return `${Object.prototype.toString.call(value)} ${value.byteLength}`;
  return Object.prototype.toString.call(value);
}

describe('frame integrity', () => {
  it('default frames: every mutation is a SerializationError, no silent wrong decode', () => {
    let mutated = 0;
    fc.assert(
      fc.property(values, edits, (value, changes) => {
        const frame = serialize(value);
        const bytes = mutate(frame, positions(frame.length, changes));
        mutated++;
        expect(() => deserialize(bytes)).toThrow(SerializationError);
      }),
      { numRuns: 5_000 },
    );
    expect(mutated).toBe(5_000);
  });

  it('structure-checked frames: a mutation of the header or of a structured payload is a SerializationError; one of a raw payload keeps type and size', () => {
    let refused = 0;
    let kept = 0;
    fc.assert(
      fc.property(values, edits, (value, changes) => {
        const frame = serializeStructureChecked(value);
        const hit = positions(frame.length, changes);
        const bytes = mutate(frame, hit);
        const checked = STRUCTURED_TAGS.has(frame[4] as number) || [...hit.keys()].some((at) => at < HEADER_SIZE);
        if (checked) {
          expect(() => deserialize(bytes)).toThrow(SerializationError);
          refused++;
          return;
        }
        // Only raw payload bytes changed: the value may differ (or invalid UTF-8 is refused), its type and size may not.
        let decoded: unknown;
        try {
          decoded = deserialize(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(SerializationError);
          refused++;
          return;
        }
        expect(shapeOf(decoded)).toBe(shapeOf(deserialize(frame)));
        kept++;
      }),
      { numRuns: 5_000 },
    );
    // Both branches ran many times: the generator reaches headers, structured payloads and raw payloads.
    expect(refused).toBeGreaterThan(1_000);
    expect(kept).toBeGreaterThan(100);
  });

  it('keeps serializeChecked, the old name of the full check, as the same serializer', () => {
    expect(serializeChecked).toBe(serialize);
  });

  it('refuses a frame whose header checksum flag was cleared, so the check cannot be switched off', () => {
    const frame = serialize(Float64Array.of(1, 2, 3));
    const unflagged = frame.slice();
    unflagged[5] = 0;
    expect(() => deserialize(unflagged)).toThrow(/no checksum/);
  });

  it("refuses a structured frame whose payload checksum flag was cleared, even with the header checksum redone", () => {
    const frame = serialize({ a: 1 });
    expect(frame[5]).toBe(0x03);
    const unflagged = frame.slice();
    unflagged[5] = 0x01;
    expect(() => deserialize(unflagged)).toThrow(/header: its checksum/);
    unflagged.fill(0, 16, 24);
    const view = new DataView(unflagged.buffer);
    view.setUint32(16, crc32(unflagged.subarray(0, 16)), true);
    expect(() => deserialize(unflagged)).toThrow(/no payload checksum/);
  });

  it('reports a file changed on disk as a SerializationError from the store', async () => {
    const directory = await dirs.make();
    const store = new Store(`integrity-${crypto.randomUUID()}`, new FileConnector({ directory }), { cacheSize: 0 });
    const key = await store.put(Float64Array.of(1.5, 2.5, 3.5));
    const [name] = (await readdir(directory)).filter((file) => file === key);
    const file = path.join(directory, name as string);
    const bytes = await readFile(file);
    // The tag byte: 0x0d (Float64Array) becomes 0x0a (Int32Array), same size, a different value.
    bytes[4] = 0x0a;
    await writeFile(file, bytes);
    await expect(store.get(key)).rejects.toThrow(SerializationError);
    await store.close({ clear: true });
  });

  it("by default a store reports a changed payload byte on disk; with checksum: 'structure' it reads the changed value", async () => {
    const directory = await dirs.make();
    const stores = {
      all: new Store(`integrity-${crypto.randomUUID()}`, new FileConnector({ directory }), { cacheSize: 0 }),
      structure: new Store(`integrity-${crypto.randomUUID()}`, new FileConnector({ directory }), { cacheSize: 0, checksum: 'structure' }),
    };
    expect(stores.all.config().checksum).toBeUndefined();
    expect(stores.structure.config().checksum).toBe('structure');
    expect(Store.fromConfig(stores.structure.config()).config().checksum).toBe('structure');
    const flipFirstPayloadByte = async (key: unknown): Promise<void> => {
      const file = path.join(directory, key as string);
      const bytes = await readFile(file);
      bytes[HEADER_SIZE] = (bytes[HEADER_SIZE] as number) ^ 0x01;
      await writeFile(file, bytes);
    };
    const allKey = await stores.all.put(Float64Array.of(1.5, 2.5, 3.5));
    await flipFirstPayloadByte(allKey);
    await expect(stores.all.get(allKey)).rejects.toThrow(/payload checksum/);
    const defaultKey = await stores.structure.put(Float64Array.of(1.5, 2.5, 3.5));
    await flipFirstPayloadByte(defaultKey);
    const read = (await stores.structure.get(defaultKey)) as Float64Array;
    expect(read).toBeInstanceOf(Float64Array);
    expect(read.length).toBe(3);
    expect(read[0]).not.toBe(1.5);
    await Promise.all([stores.all.close({ clear: true }), stores.structure.close({ clear: true })]);
  });
});

describe('the frame CRC', () => {
  it('is the native SIMD one here (the optional dependency is installed), and equals zlib on every length and offset', () => {
    expect(crc32Implementation()).toBe('native');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 9_000 }), fc.nat({ max: 64 }), (bytes, skip) => {
        const view = bytes.subarray(Math.min(skip, bytes.length));
        expect(frameCrc32(view)).toBe(crc32(view));
      }),
      { numRuns: 500 },
    );
    const shared = new Uint8Array(new SharedArrayBuffer(70_000)).map((_, i) => i * 31);
    expect(frameCrc32(shared)).toBe(crc32(shared));
  });

  it('falls back to zlib where the native build is missing, and reads frames the native one wrote', () => {
    const frame = serialize(Float64Array.from({ length: 5_000 }, (_, i) => i / 3));
    // A preload that makes the optional dependency unresolvable, as on a platform without a build or with --omit=optional.
    const hide = `import M from 'node:module'; const resolve = M._resolveFilename; M._resolveFilename = function (request, ...rest) { if (request === '@node-rs/crc32') throw Object.assign(new Error('hidden'), { code: 'MODULE_NOT_FOUND' }); return resolve.call(this, request, ...rest); };`;
    const script = `
      const { crc32Implementation } = await import(${JSON.stringify(new URL('../../dist/runtime/serialize/crc32.js', import.meta.url).href)});
      const { deserialize, serialize } = await import(${JSON.stringify(new URL('../../dist/runtime/serialize/serializer.js', import.meta.url).href)});
      const value = deserialize(Buffer.from(process.argv[1], 'base64'));
      const again = deserialize(serialize(value));
      console.log(JSON.stringify([crc32Implementation(), value.length, again[4999]]));`;
    const out = execFileSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(hide)}`, '--input-type=module', '-e', script, Buffer.from(frame).toString('base64')], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual(['zlib', 5_000, 4999 / 3]);
  });
});
