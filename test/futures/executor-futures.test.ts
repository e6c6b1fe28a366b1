import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileConnector } from '../../runtime/connectors/file.js';
import { MemoryConnector } from '../../runtime/connectors/memory.js';
import { RedisConnector } from '../../runtime/connectors/redis.js';
import { SharedMemoryConnector } from '../../runtime/connectors/shared-memory/connector.js';
import { ConfigError, ProxyFutureError } from '../../runtime/errors.js';
import { BullMQExecutor } from '../../runtime/executors/bullmq/executor.js';
import { TaskError } from '../../runtime/executors/errors.js';
import { PiscinaExecutor } from '../../runtime/executors/piscina.js';
import { StoreExecutor } from '../../runtime/executors/store-executor.js';
import { isProxy } from '../../runtime/proxy/proxy.js';
import { Store } from '../../runtime/store/store.js';
import { startRedisServer, type RedisServer } from '../../runtime/testing/redis-server.js';
import { tempDirs } from '../../runtime/testing/temp-dirs.js';
import { eventually, fixture, floats, sumOf, taskPool, watchStoredInputs, type FixtureTasks } from '../executors/helpers.js';

const dirs = tempDirs('executor-futures-');
const dist = (await import(path.join(import.meta.dirname, '..', '..', 'dist', 'runtime', 'executors', 'bullmq', 'executor.js'))) as typeof import('../../runtime/executors/bullmq/executor.js');
const fixtureTasks = ((await import(fixture('executor-tasks.mjs'))) as { default: object }).default as FixtureTasks;
let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await dirs.removeAll();
  await redis?.stop();
});

async function piscinaExecutor(kind: 'file' | 'shared memory' = 'file'): Promise<{ executor: StoreExecutor<FixtureTasks>; store: Store; done: () => Promise<void> }> {
  const connector = kind === 'file' ? new FileConnector({ directory: await dirs.make() }) : new SharedMemoryConnector();
  const store = new Store(`futures-${crypto.randomUUID()}`, connector, { cacheSize: 0 });
  const pool = taskPool();
  const executor = new StoreExecutor(new PiscinaExecutor<FixtureTasks>(pool), { store, shouldProxy: { minBytes: 10_000 } });
  return {
    executor,
    store,
    done: async () => {
      await executor.shutdown();
      await pool.destroy();
      await store.close({ clear: true });
    },
  };
}

describe('futures of task results (piscina)', () => {
  it.each(['file', 'shared memory'] as const)('let the next task start before the first has finished; it waits for the value in its worker (%s store)', async (kind) => {
    const { executor, store, done } = await piscinaExecutor(kind);
    try {
      const first = executor.future('slowFill', [300, 100_000, 2]);
      const second = executor.run('sum', [first.proxy()]);
      // The second call is already out while the first still runs.
      expect(await first.done()).toBe(false);
      expect(await second).toBe(200_000);
      expect(await first.done()).toBe(true);
      expect(sumOf(await first.result())).toBe(200_000);
      // The result went from worker to store: owned by the executor, freed with the future's proxy.
      await executor.release(first.proxy());
      expect(await store.exists(first.key)).toBe(false);
    } finally {
      await done();
    }
  });

  it('hand a piscina task its future input unresolved, so its work before the first touch overlaps the upstream task', async () => {
    const store = new Store(`pipeline-${crypto.randomUUID()}`, new FileConnector({ directory: await dirs.make() }), { cacheSize: 0 });
    const pool = taskPool('pipeline-tasks.mjs', 2);
    interface Stage {
      data: Float64Array;
      startedAt: number;
      inputAt: number;
      finishedAt: number;
    }
    const executor = new StoreExecutor(new PiscinaExecutor<{ stage(input: { data: Float64Array }, prepMs: number, workMs: number): Stage }>(pool), { store });
    try {
      const upstream = executor.future('stage', [{ data: new Float64Array(1000).fill(1) }, 0, 300]);
      const downstream = await executor.run('stage', [upstream.proxy() as never, 100, 0]);
      const upstreamStage = await upstream.result();
      // It started (and prepared) while the upstream stage was still working, and waited only at its first touch.
      // Both clocks are this process's wall clock; the order, not a duration, is what is asserted.
      expect(downstream.startedAt).toBeLessThan(upstreamStage.finishedAt);
      expect(downstream.inputAt).toBeGreaterThanOrEqual(upstreamStage.finishedAt);
      expect(downstream.data[0]).toBe(3);
    } finally {
      await executor.shutdown();
      await pool.destroy();
      await store.close({ clear: true });
    }
  });

  it('carry a task’s failure to whoever waits: result() and the next task both fail', async () => {
    const { executor, done } = await piscinaExecutor();
    try {
      const failing = executor.future('throws', ['upstream broke']);
      const next = executor.run('sum', [failing.proxy() as unknown as Float64Array]).catch((error: unknown) => error);
      await expect(failing.result()).rejects.toBeInstanceOf(ProxyFutureError);
      await expect(failing.result()).rejects.toThrow(/RangeError: upstream broke/);
      const failure = await next;
      expect(failure).toBeInstanceOf(TaskError);
      expect((failure as Error).message).toMatch(/upstream broke/);
    } finally {
      await done();
    }
  });

  it('are refused for a store that workers cannot write to', async () => {
    const store = new Store('futures-memory-exec', new MemoryConnector());
    const pool = taskPool();
    const executor = new StoreExecutor(new PiscinaExecutor<FixtureTasks>(pool), { store });
    expect(() => executor.future('fill', [10, 1])).toThrow(ConfigError);
    await executor.shutdown();
    await pool.destroy();
    await store.close();
  });
});

describe('per-call proxying, like the Dask client’s proxy_args and proxy_result', () => {
  it('overrides the executor’s policy for arguments and results, one call at a time', async () => {
    const { executor, store, done } = await piscinaExecutor();
    try {
      const big = floats(80_000);
      const small = floats(80);
      // What went as a proxy, seen where the executor makes them.
      const watch = watchStoredInputs(store);
      const sent = async (options?: { proxyArgs: boolean }): Promise<boolean[]> => {
        const before = watch.picked().length;
        await executor.run('echo', [big], options);
        await executor.run('sum', [small], options);
        const picked = watch.picked().slice(before);
        return [picked.includes(big), picked.includes(small)];
      };
      expect(await sent()).toEqual([true, false]);
      expect(await sent({ proxyArgs: false })).toEqual([false, false]);
      expect(await sent({ proxyArgs: true })).toEqual([true, true]);
      expect(isProxy(await executor.run('fill', [20_000, 1]))).toBe(true);
      expect(isProxy(await executor.run('fill', [20_000, 1], { proxyResult: false }))).toBe(false);
      expect(isProxy(await executor.run('fill', [10, 1], { proxyResult: true }))).toBe(true);
      const [a, b] = await executor.map('fill', [[10, 1], [10, 2]], { proxyResult: true });
      expect([isProxy(a), isProxy(b)]).toEqual([true, true]);
    } finally {
      await done();
    }
  });
});

describe('futures on BullMQ with a Redis store', () => {
  it('run a chain A → B → C overlapped across worker processes’ queue, each reading the last from Redis', async () => {
    const queue = `futures-${crypto.randomUUID()}`;
    const connection = { host: '127.0.0.1', port: redis.port };
    const worker = dist.createWorker(queue, fixtureTasks, { connection, concurrency: 3 });
    const store = new Store(`futures-${crypto.randomUUID()}`, new RedisConnector({ port: redis.port }), { cacheSize: 0 });
    const executor = new StoreExecutor(new BullMQExecutor<FixtureTasks>(queue, { connection }), { store, shouldProxy: { minBytes: 10_000 } });
    try {
      const a = executor.future('slowFill', [200, 50_000, 1]);
      const b = executor.future('scale', [a.proxy() as unknown as Float64Array, 3]);
      const c = executor.run('sum', [b.proxy() as unknown as Float64Array]);
      expect(await a.done()).toBe(false);
      expect(await c).toBe(150_000);
      await executor.release(a.proxy(), b.proxy());
      await eventually(async () => !(await store.exists(a.key)) && !(await store.exists(b.key)));
    } finally {
      await executor.shutdown();
      await worker.close();
      await store.close({ clear: true });
    }
  });
});
