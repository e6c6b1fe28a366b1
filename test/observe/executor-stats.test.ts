import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileConnector } from '../../runtime/connectors/file.js';
import { MemoryConnector } from '../../runtime/connectors/memory.js';
import { isResolved } from '../../runtime/proxy/proxy.js';
import { RedisConnector } from '../../runtime/connectors/redis.js';
import { BullMQExecutor } from '../../runtime/executors/bullmq/executor.js';
import { PiscinaExecutor } from '../../runtime/executors/piscina.js';
import { estimateBytes } from '../../runtime/store/size.js';
import { StoreExecutor } from '../../runtime/executors/store-executor.js';
import { decodeReply } from '../../runtime/executors/task-wire.js';
import type { Executor } from '../../runtime/executors/executor.js';
import { Store } from '../../runtime/store/store.js';
import { startRedisServer, type RedisServer } from '../../runtime/testing/redis-server.js';
import { tempDirs } from '../../runtime/testing/temp-dirs.js';
import { fixture, floats, sumOf, taskPool, type FixtureTasks } from '../executors/helpers.js';

/** The worker half runs the build, as a deployed worker would. */
const dist = (await import(path.join(import.meta.dirname, '..', '..', 'dist', 'runtime', 'executors', 'bullmq', 'executor.js'))) as typeof import('../../runtime/executors/bullmq/executor.js');
const fixtureTasks = ((await import(fixture('executor-tasks.mjs'))) as { default: object }).default as FixtureTasks;

let server: RedisServer;
const dirs = tempDirs('executor-stats-');
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
  await dirs.removeAll();
});

/**
 * The same calls on either engine, through a StoreExecutor with its default
 * 100 kB thresholds: a 400 kB input goes by proxy, an 800 B one by value, a
 * 400 kB result comes back by proxy, a number by value, and one task fails.
 */
async function runAndCheck(executor: StoreExecutor<FixtureTasks>, engine: Executor<FixtureTasks>): Promise<void> {
  const big = floats(400_000);
  const small = floats(800);
  expect(await executor.run('sum', [big])).toBe(sumOf(big));
  expect(await executor.run('sum', [small])).toBe(sumOf(small));
  const filled = await executor.run('fill', [50_000, 1]);
  expect(filled.length).toBe(50_000);
  await executor.release(filled);
  await expect(executor.run('throws', ['no'])).rejects.toThrow('no');
  // A future's result goes into the store, never back through the caller: by proxy.
  const future = executor.future('scale', [floats(800), 2]);
  expect((await future.result()).length).toBe(100);
  // The reply to the call itself comes after the value is in the store.
  for (const counting of [executor, engine]) await expect.poll(() => counting.stats()['scale']?.done).toBe(1);

  // The StoreExecutor and the engine under it count the same calls from the same replies.
  for (const stats of [executor.stats(), engine.stats()]) {
    expect(stats['sum']).toMatchObject({ calls: 2, inFlight: 0, done: 2, failed: 0 });
    expect(stats['throws']).toMatchObject({ calls: 1, done: 0, failed: 1 });
    expect(stats['sum']!.durations.reduce((a, b) => a + b, 0)).toBe(2);

    const sum = stats['sum']!.bytes;
    expect(sum.calls).toBe(2);
    // By proxy: the 400 kB the worker read from the store, exactly (binary data counts its byteLength).
    expect(sum.argsByProxy).toBe(big.byteLength);
    // By value: the small array itself, plus the list and the big one's descriptor, a few hundred bytes.
    expect(sum.argsByValue).toBeGreaterThan(small.byteLength);
    expect(sum.argsByValue).toBeLessThan(small.byteLength + 2_000);
    expect(sum.resultByValue).toBe(16);
    expect(sum.resultByProxy).toBe(0);

    const fill = stats['fill']!.bytes;
    expect(fill.resultByProxy).toBe(400_000);
    expect(fill.resultByValue).toBeGreaterThan(0);
    expect(fill.resultByValue).toBeLessThan(2_000);
    expect(fill.argsByProxy).toBe(0);
    expect(stats['scale']!.bytes).toMatchObject({ calls: 1, argsByProxy: 0, resultByProxy: 800 });
    expect(stats['scale']!.bytes.resultByValue).toBeLessThan(10);
    // A failed call reports nothing from its worker.
    expect(stats['throws']!.bytes.calls).toBe(0);
    expect(stats['throws']!.worker.calls).toBe(0);
  }
  const sum = executor.stats()['sum']!;
  expect(sum.worker.calls).toBe(2);
  // The 400 kB input went by proxy: the worker fetched it before the task ran.
  expect(sum.worker.inputMs).toBeGreaterThan(0);
  expect(sum.worker.inputMs + sum.worker.taskMs + sum.worker.outputMs).toBeLessThan(sum.totalMs);
  // Time in transfer (all but the task) per call: one entry for each call whose worker reported.
  expect(sum.transfers.reduce((a, b) => a + b, 0)).toBe(2);
  expect(executor.stats()['throws']!.transfers.reduce((a, b) => a + b, 0)).toBe(0);
}

describe('executor stats', () => {
  it('on piscina: calls, failures, durations, transfer times and bytes by value and by proxy per task, from the workers', async () => {
    const store = new Store(`stats-${crypto.randomUUID()}`, new FileConnector({ directory: await dirs.make() }));
    const pool = taskPool();
    const engine = new PiscinaExecutor<FixtureTasks>(pool);
    const executor = new StoreExecutor(engine, { store });
    try {
      await runAndCheck(executor, engine);
    } finally {
      await executor.shutdown();
      await pool.destroy();
      await store.close({ clear: true });
    }
  });

  it('on BullMQ with a real redis-server: the same figures, sent back with the job results', async () => {
    const queue = `stats-${crypto.randomUUID()}`;
    const connection = { host: '127.0.0.1', port: server.port };
    const worker = dist.createWorker(queue, fixtureTasks, { connection });
    const store = new Store(`stats-${crypto.randomUUID()}`, new RedisConnector({ port: server.port }));
    const engine = new BullMQExecutor<FixtureTasks>(queue, { connection });
    const executor = new StoreExecutor(engine, { store });
    try {
      await runAndCheck(executor, engine);
    } finally {
      await executor.shutdown();
      await worker.close();
      await store.close({ clear: true });
    }
  });

  it('count only well-formed figures from a reply: a worker cannot poison the sums', () => {
    const reply = { ok: true, value: 1, proxied: false, timing: { inputMs: 1, taskMs: 1, outputMs: 1 } };
    const good = { argsByValue: 10, argsByProxy: 0, resultByValue: 8, resultByProxy: 0 };
    expect(decodeReply('t', { ...reply, bytes: good }, {}).bytes).toEqual(good);
    for (const forged of [{ ...good, argsByProxy: Number.NaN }, { ...good, resultByValue: -1 }, { ...good, argsByValue: Infinity }, { ...good, resultByProxy: '9' }, 'lots', null]) {
      expect(decodeReply('t', { ...reply, bytes: forged }, {})).not.toHaveProperty('bytes');
    }
  });
});

describe('estimateBytes', () => {
  it('counts binary data and strings exactly, and a proxy as its descriptor, not its target', () => {
    expect(estimateBytes(new Float64Array(1_000))).toBe(8_000);
    expect(estimateBytes(new ArrayBuffer(123))).toBe(123);
    expect(estimateBytes('x'.repeat(5_000))).toBe(5_000);
    expect(estimateBytes([new Uint8Array(10), new Uint8Array(20)])).toBe(1 + 30);
  });

  it('counts a proxy of an array as its descriptor without resolving it, alone or in a list', async () => {
    const store = new Store(`estimate-${crypto.randomUUID()}`, new MemoryConnector());
    const p = await store.proxy(Array.from({ length: 10 }, (_, i) => i), { populateTarget: false });
    expect(estimateBytes(p)).toBe(300);
    expect(estimateBytes([1, p])).toBe(1 + 8 + 300);
    expect(isResolved(p)).toBe(false);
    await store.close({ clear: true });
  });

  it('counts a primitive or a short list of primitives (the usual arguments of a call) by the same rules as the walk', () => {
    expect(estimateBytes(null)).toBe(1);
    expect(estimateBytes(1_000)).toBe(8);
    expect(estimateBytes([null, 1_000, 'abc', true, 5n, undefined])).toBe(1 + 1 + 8 + 3 + 1 + 8 + 1);
    // Past 32 items the walk samples the first 32 and scales them: the same count for uniform items.
    expect(estimateBytes(Array.from({ length: 33 }, () => 7))).toBe(1 + 33 * 8);
    expect(estimateBytes(Array.from({ length: 64 }, (_, i) => (i < 32 ? 1 : 'a much longer string')))).toBe(1 + 64 * 8);
    // An object inside takes the walk: counted once however often it appears.
    const bytes = new Uint8Array(100);
    expect(estimateBytes([1, bytes, bytes])).toBe(1 + 8 + 100 + 1);
  });

  it('never throws: a throwing getter or a revoked Proxy ends the count, as a lower bound', () => {
    const hostile = Object.defineProperty({}, 'boom', {
      enumerable: true,
      get: () => {
        throw new Error('read me not');
      },
    });
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(estimateBytes([new Uint8Array(100), hostile])).toBeGreaterThanOrEqual(100);
    expect(estimateBytes([proxy])).toBeGreaterThanOrEqual(0);
    // Alone, too: a revoked Proxy throws even when asked whether it is an array.
    expect(estimateBytes(proxy)).toBe(0);
  });

  it('estimates a big uniform array from a sample, close to its full count', () => {
    const rows = Array.from({ length: 100_000 }, (_, i) => ({ id: i, name: `row-${String(i).padStart(6, '0')}` }));
    // Counted in full by the same rules: 1 per object, 2 keys (2 and 4 bytes), a number (8) and a 10-character name.
    const full = 1 + rows.length * (1 + 2 + 8 + 4 + 10);
    const estimate = estimateBytes(rows);
    expect(estimate).toBeGreaterThan(full * 0.95);
    expect(estimate).toBeLessThan(full * 1.05);
  });

  it('looks at a bounded number of items however big the value', () => {
    let visited = 0;
    // Each leaf counts the walks that list its keys.
    const leaf = (): object =>
      new Proxy({ a: 1 }, { ownKeys: (target) => (visited++, Reflect.ownKeys(target)) });
    const huge = Array.from({ length: 200 }, () => Array.from({ length: 200 }, leaf));
    const full = 1 + 200 * (1 + 200 * (1 + 1 + 8));
    const estimate = estimateBytes(huge);
    expect(visited).toBeGreaterThan(0);
    expect(visited).toBeLessThanOrEqual(2_048);
    // Stopped early, the estimate is a lower bound.
    expect(estimate).toBeGreaterThan(0);
    expect(estimate).toBeLessThanOrEqual(full);
  });
});
