/**
 * RedisConnector against raw ioredis on the same throwaway redis-server:
 * put+get round trips (connector put/get vs SET + getBuffer), and what a
 * synchronous read through the sync bridge costs next to an async get, cold
 * (worker start and its connection included) and warm.
 *
 * Run: npm run build && node dist/bench/micro/connectors-redis.bench.js
 * The goal is a connector within 1.2x of raw ioredis.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisConnector } from 'ts-proxystore/connectors/redis';
import { startRedisServer } from 'ts-proxystore/testing';
import { payload } from '../paper/cases.js';
import { median } from '../timing.js';

const SIZES = [
  { label: '1 KB', bytes: 1 << 10, rounds: 2000 },
  { label: '1 MB', bytes: 1 << 20, rounds: 100 },
  { label: '10 MB', bytes: 10 << 20, rounds: 30 },
  { label: '100 MB', bytes: 100 << 20, rounds: 6 },
];
/** Fresh connectors (so cold bridges) per size for the sync-read comparison. */
const COLD_ROUNDS = 5;

const ms = (x: number): string => x.toFixed(x < 1 ? 3 : 1);

function check(got: Uint8Array | Buffer | null | undefined, size: number): void {
  if (got?.byteLength !== size) throw new Error(`read back ${got?.byteLength} bytes, expected ${size}`);
}

async function main(): Promise<void> {
  const server = await startRedisServer({ args: ['--maxmemory', '0'] });
  const raw = new Redis({ host: server.host, port: server.port });
  const connector = new RedisConnector({ port: server.port, commandTimeoutMs: 60_000 });
  const roundTrips: Record<string, string>[] = [];
  const syncReads: Record<string, string>[] = [];
  try {
    for (const { label, bytes, rounds } of SIZES) {
      const data = payload(bytes);
      const buffer = Buffer.from(data.buffer);
      const viaConnector: number[] = [];
      const viaRaw: number[] = [];
      // Alternating, so drift in machine load hits both sides alike; deletes stay outside the timing.
      for (let round = 0; round < rounds + 2; round++) {
        let t0 = performance.now();
        const key = await connector.put(data);
        check(await connector.get(key), bytes);
        const connectorTime = performance.now() - t0;
        await connector.evict(key);

        const rawKey = `bench:${randomUUID()}`;
        t0 = performance.now();
        await raw.set(rawKey, buffer);
        check(await raw.getBuffer(rawKey), bytes);
        const rawTime = performance.now() - t0;
        await raw.unlink(rawKey);
        // The first rounds warm up JIT and connections.
        if (round >= 2) {
          viaConnector.push(connectorTime);
          viaRaw.push(rawTime);
        }
      }
      const [c, r] = [median(viaConnector), median(viaRaw)];
      roundTrips.push({ size: label, 'RedisConnector ms': ms(c), 'raw ioredis ms': ms(r), ratio: (c / r).toFixed(2) });

      const key = await connector.put(data);
      const asyncGets: number[] = [];
      const warmSyncs: number[] = [];
      for (let round = 0; round < Math.min(rounds, 50) + 2; round++) {
        let t0 = performance.now();
        check(await connector.get(key), bytes);
        const asyncTime = performance.now() - t0;
        t0 = performance.now();
        check(connector.getSync(key), bytes);
        const syncTime = performance.now() - t0;
        if (round >= 2) {
          asyncGets.push(asyncTime);
          warmSyncs.push(syncTime);
        }
      }
      const coldSyncs: number[] = [];
      for (let round = 0; round < COLD_ROUNDS; round++) {
        // Its own prefix, hence its own config: bridges are shared per config, and this one must start from nothing.
        const fresh = new RedisConnector({ port: server.port, commandTimeoutMs: 60_000 });
        const freshKey = await fresh.put(data);
        const t0 = performance.now();
        check(fresh.getSync(freshKey), bytes);
        coldSyncs.push(performance.now() - t0);
        await fresh.close({ clear: true });
      }
      await connector.evict(key);
      const [a, w, cold] = [median(asyncGets), median(warmSyncs), median(coldSyncs)];
      syncReads.push({
        size: label,
        'get (async) ms': ms(a),
        'getSync warm ms': ms(w),
        'warm/async': (w / a).toFixed(2),
        'getSync cold ms': ms(cold),
        'cold - async ms': ms(cold - a),
      });
    }
  } finally {
    await connector.close({ clear: true });
    raw.disconnect();
    await server.stop();
  }
  console.log('put + get round trip, median per round (ratio: connector / raw; goal <= 1.20)');
  console.table(roundTrips);
  console.log('synchronous read through the sync bridge vs async get (cold: first getSync of a new connector, worker start included)');
  console.table(syncReads);
}

await main();
