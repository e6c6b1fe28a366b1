/**
 * What the frame checksum (CRC-32 over every frame `serialize` writes, checked
 * by `deserialize`) costs a put+get, measured side by side in one run: the
 * same store and connector, with the default (checked) serializer and with
 * the unchecked `serializeInPlace` pair. File and Redis (a throwaway
 * redis-server) stores, 1 MB and 100 MB Float64Arrays. Memory and
 * shared-memory stores are not measured: their frames never leave the
 * process and go unchecked (see serialize.ts).
 *
 * Run: npm run build && node dist/bench/micro/checksum.bench.js
 * The goal is at most 5% over the unchecked put+get. On a loaded machine the
 * medians move by more than that from run to run: trust a run on a quiet one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { FileConnector } from 'ts-proxystore';
import { RedisConnector } from 'ts-proxystore/connectors/redis';
import { deserializeInPlace, serializeInPlace } from '../../runtime/serialize/serializer.js';
import { Store } from 'ts-proxystore';
import type { Connector } from 'ts-proxystore';
import { startRedisServer } from 'ts-proxystore/testing';
import { median, timeMany } from '../timing.js';

const MB = 1 << 20;
const GOAL = 1.05;
const SIZES = [
  { label: '1 MB', bytes: MB, reps: 60 },
  { label: '100 MB', bytes: 100 * MB, reps: 8 },
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
    console.log('connector  size    crc32 alone  unchecked put+get  checked put+get  ratio');
    for (const { label, bytes, reps } of SIZES) {
      const data = Float64Array.from({ length: bytes / 8 }, (_, i) => i * 0.5);
      const frame = new Uint8Array(data.buffer);
      const [crcTimes] = await timeMany([() => Promise.resolve(void crc32(frame))], reps);
      for (const [kind, make] of connectors) {
        // cacheSize 0: every get reads and decodes, as in another process.
        const checked = new Store(`checked-${kind}`, make(), { cacheSize: 0 });
        const unchecked = new Store(`unchecked-${kind}`, make(), { cacheSize: 0, serializer: serializeInPlace, deserializer: deserializeInPlace });
        const roundTrip = (store: Store) => async (): Promise<void> => {
          const key = await store.put(data);
          const back = (await store.get(key)) as Float64Array;
          if (back.length !== data.length) throw new Error('wrong length read back');
          await store.evict(key);
        };
        const [plain, withCrc] = await timeMany([roundTrip(unchecked), roundTrip(checked)], reps);
        const ratio = median(withCrc as number[]) / median(plain as number[]);
        console.log(
          `${kind.padEnd(10)} ${label.padEnd(7)} ${ms(median(crcTimes as number[])).padStart(8)} ms  ${ms(median(plain as number[])).padStart(12)} ms  ${ms(median(withCrc as number[])).padStart(12)} ms  ${ratio.toFixed(3)}x ${ratio <= GOAL ? 'ok' : 'over goal'}`,
        );
        await Promise.all([checked.close({ clear: true }), unchecked.close({ clear: true })]);
      }
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
    await server.stop();
  }
}

await main();
