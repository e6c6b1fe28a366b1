/**
 * 20,000 round trips of 1 MiB through piscina and a shared-memory store, 8 in
 * flight: the recycled pool keeps memory flat, and gives it back at shutdown.
 * Before the pool, every put took a fresh SharedArrayBuffer and RSS plateaued
 * at 3.0–4.6 GB here (by value: 146–176 MB). The curve itself is reported by
 * bench/micro/store-rss.ts.
 */
import path from 'node:path';
import { Piscina } from 'piscina';
import { expect, it } from 'vitest';
import { SharedMemoryConnector } from '../runtime/connectors/shared-memory/connector.js';
import { PiscinaExecutor } from '../runtime/executors/piscina.js';
import { StoreExecutor } from '../runtime/executors/store-executor.js';
import { getKey, isProxy, resolveAsync } from '../runtime/proxy/proxy.js';
import { Store } from '../runtime/store/store.js';

const CALLS = 20_000;
const IN_FLIGHT = 8;
const BYTES = 2 ** 20;
const MB = 2 ** 20;

it(`keeps RSS flat over ${CALLS} round trips of 1 MiB, recycling a few slots, and gives the memory back at shutdown`, { timeout: 600_000 }, async () => {
  const rssAtStart = process.memoryUsage().rss;
  const pool = new Piscina({ filename: path.join(import.meta.dirname, 'fixtures', 'soak-tasks.mjs'), minThreads: 2, maxThreads: 2, atomics: 'async' });
  const store = new Store(`soak-${crypto.randomUUID()}`, new SharedMemoryConnector());
  const executor = new StoreExecutor(new PiscinaExecutor<{ mirror: (input: Uint8Array) => Uint8Array }>(pool, { closePool: true }), { store });
  const input = new Uint8Array(BYTES);
  for (let i = 0; i < BYTES; i += 4096) input[i] = (i >> 12) & 0xff;
  const slots = new Set<string>();
  let peak = 0;
  let started = 0;
  const lane = async (): Promise<void> => {
    while (started < CALLS) {
      started++;
      const result = await executor.run('mirror', [input]);
      if (!isProxy(result)) throw new Error('a 1 MiB result should come back as a proxy');
      // `<slab>:<slot>` without the generation: which memory served the result.
      slots.add((getKey(result) as string).replace(/\.\d+@.*$/, ''));
      const bytes = await resolveAsync(result);
      if (bytes.byteLength !== BYTES || bytes[4096 * 7] !== 7) throw new Error('the result does not mirror the input');
      await executor.release(result);
      if (started % 1000 === 0) peak = Math.max(peak, process.memoryUsage().rss);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  await executor.shutdown();
  await store.close({ clear: true });
  // The slabs go once collected; dropping them prompts a collection (see `released`), which a few turns let happen.
  for (let i = 0; i < 20 && process.memoryUsage().rss - rssAtStart > 200 * MB; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  const rssAfter = process.memoryUsage().rss;
  // Results came from a handful of recycled slots (a fresh segment each would have given 20,000 keys without one).
  expect(slots.size).toBeLessThanOrEqual(64);
  expect([...slots].every((slot) => slot.includes(':'))).toBe(true);
  // Generous bounds on a busy machine: the old scheme reached 3 GB and more.
  expect((peak - rssAtStart) / MB).toBeLessThan(600);
  expect((rssAfter - rssAtStart) / MB).toBeLessThan(300);
});
