/**
 * What the frame checksums cost a put+get, measured side by side in one run:
 * the same connector with the unchecked `serializeInPlace` pair (no checksum
 * at all), with `checksum: 'structure'` (header and structured payloads
 * checked) and with the default `serialize` (every payload byte checked).
 * File and Redis (a throwaway redis-server) stores; 1 MB and 100 MB
 * Float64Arrays (a raw payload, which only the default checks) and a 1 MB
 * structured value (an array of objects, whose payload both check). Memory
 * and shared-memory stores are not measured: their frames never leave the
 * process and go unchecked (see serialize.ts). The first line says which CRC
 * ran (crc32.ts: the native one, or zlib's where it is missing).
 *
 * The (codec) rows time encode+decode alone, without a connector: the most
 * the checksums can add to a store of any kind.
 *
 * Run: npm run build && node dist/bench/micro/checksum.bench.js
 * The goal is at most 5% over the unchecked put+get for the default. On a
 * loaded machine the medians move by several percent from run to run: trust
 * the ratios of a run on a quiet one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileConnector } from '../../runtime/connectors/file.js';
import { RedisConnector } from '../../runtime/connectors/redis.js';
import { crc32, crc32Implementation } from '../../runtime/serialize/crc32.js';
import { deserialize, deserializeInPlace, serialize, serializeInPlace, serializeStructureChecked, type Deserializer, type Serializer } from '../../runtime/serialize/serializer.js';
import { Store, type StoreOptions } from '../../runtime/store/store.js';
import type { Connector } from '../../runtime/connectors/connector.js';
import { startRedisServer } from '../../runtime/testing/redis-server.js';
import { formatRatio, median, timeMany } from '../timing.js';

const MB = 1 << 20;
const GOAL = 1.05;

const floats = (bytes: number): Float64Array => Float64Array.from({ length: bytes / 8 }, (_, i) => i * 0.5);
/** About 1 MB of V8 structured data: the payload the default checksums as structure. */
const records = (): object[] => Array.from({ length: 30_000 }, (_, i) => ({ id: i, name: `row ${i}`, score: i * 0.25 }));

const CASES: readonly { label: string; value: () => unknown; reps: number }[] = [
  { label: 'f64 1 MB', value: () => floats(MB), reps: 60 },
  { label: 'f64 100 MB', value: () => floats(100 * MB), reps: 8 },
  { label: 'objs ~1 MB', value: records, reps: 30 },
];

const ms = (x: number): string => x.toFixed(x < 1 ? 3 : 1);

async function main(): Promise<void> {
  const server = await startRedisServer();
  const directory = mkdtempSync(path.join(os.tmpdir(), 'checksum-bench-'));
  const connectors: readonly [string, () => Connector][] = [
    ['file', () => new FileConnector({ directory })],
    ['redis', () => new RedisConnector({ port: server.port, commandTimeoutMs: 60_000 })],
  ];
  try {
    console.log(`frame CRC: ${crc32Implementation()}`);
    console.log('connector  value        frame     crc32 pass  unchecked    structure (ratio)        default (ratio)');
    for (const { label, value: make, reps } of CASES) {
      const value = make();
      const frame = serialize(value);
      const [crcTimes] = await timeMany([() => Promise.resolve(void crc32(frame))], reps);
      // No connector: encode and decode alone, the bound on what the checksums can add to any store.
      const codec = (write: Serializer, read: Deserializer) => (): Promise<void> => Promise.resolve(void read(write(value)));
      const [bare, bareStructure, bareDefault] = (await timeMany([codec(serializeInPlace, deserializeInPlace), codec(serializeStructureChecked, deserialize), codec(serialize, deserialize)], reps)).map(median) as [number, number, number];
      console.log(
        `${'(codec)'.padEnd(10)} ${label.padEnd(12)} ${`${(frame.byteLength / MB).toFixed(1)} MB`.padStart(8)}  ${ms(median(crcTimes as number[])).padStart(8)} ms  ${ms(bare).padStart(8)} ms  ${ms(bareStructure).padStart(8)} ms (${(bareStructure / bare).toFixed(2)}x)  ${ms(bareDefault).padStart(8)} ms (${(bareDefault / bare).toFixed(2)}x)`,
      );
      for (const [kind, connector] of connectors) {
        // cacheSize 0: every get reads and decodes, as in another process.
        const storeWith = (options: StoreOptions): Store => new Store(`${kind}-${crypto.randomUUID()}`, connector(), { cacheSize: 0, ...options });
        const unchecked = storeWith({ serializer: serializeInPlace, deserializer: deserializeInPlace });
        const structure = storeWith({ checksum: 'structure' });
        const all = storeWith({});
        const roundTrip = (store: Store) => async (): Promise<void> => {
          const key = await store.put(value);
          if ((await store.get(key)) === undefined) throw new Error('nothing read back');
          await store.evict(key);
        };
        const [plain, structureOnly, byDefault] = (await timeMany([roundTrip(unchecked), roundTrip(structure), roundTrip(all)], reps)).map(median) as [number, number, number];
        console.log(
          `${kind.padEnd(10)} ${label.padEnd(12)} ${`${(frame.byteLength / MB).toFixed(1)} MB`.padStart(8)}  ${ms(median(crcTimes as number[])).padStart(8)} ms  ${ms(plain).padStart(8)} ms  ${ms(structureOnly).padStart(8)} ms (${(structureOnly / plain).toFixed(2)}x)  ${ms(byDefault).padStart(8)} ms (${formatRatio(byDefault / plain, GOAL)})`,
        );
        await Promise.all([unchecked, structure, all].map((store) => store.close({ clear: true })));
      }
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
    await server.stop();
  }
}

await main();
