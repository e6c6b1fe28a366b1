/**
 * Frames that changed after `serialize` (in a store, on the wire) must never
 * decode to a different value: every mutation is a SerializationError. Before
 * the checksum, a changed tag byte silently turned a Float64Array into
 * another typed array, and any payload byte changed a number.
 */
import { readdir, writeFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { FileConnector, SerializationError, Store, deserialize, serialize } from '../../src/index.js';
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

function mutate(frame: Uint8Array, changes: readonly [number, number][]): Uint8Array {
  const bytes = frame.slice();
  const touched = new Set<number>();
  for (const [position, delta] of changes) {
    const at = position % bytes.length;
    // XOR with a non-zero value always changes the byte; a byte hit twice might change back, so each counts once.
    if (touched.has(at)) continue;
    touched.add(at);
    bytes[at] = (bytes[at] as number) ^ delta;
  }
  return bytes;
}

describe('frame integrity', () => {
  it('turns every mutation of a frame into a SerializationError: no silent wrong decode', () => {
    let mutated = 0;
    fc.assert(
      fc.property(values, edits, (value, changes) => {
        const frame = serialize(value);
        const bytes = mutate(frame, changes);
        mutated++;
        expect(() => deserialize(bytes)).toThrow(SerializationError);
      }),
      { numRuns: 5_000 },
    );
    expect(mutated).toBe(5_000);
  });

  it('refuses a frame whose checksum flag was cleared, so the check cannot be switched off', () => {
    const frame = serialize(Float64Array.of(1, 2, 3));
    const unflagged = frame.slice();
    unflagged[5] = 0;
    expect(() => deserialize(unflagged)).toThrow(/no checksum/);
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
});
