import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Piscina } from 'piscina';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileConnector } from '../../runtime/connectors/file.js';
import { MemoryConnector } from '../../runtime/connectors/memory.js';
import { RedisConnector } from '../../runtime/connectors/redis.js';
import { SharedMemoryConnector } from '../../runtime/connectors/shared-memory.js';
import { ProxyStoreError } from '../../runtime/errors.js';
import { TaskError, TaskTimeoutError, WorkerCrashedError } from '../../runtime/executors/errors.js';
import { PiscinaExecutor } from '../../runtime/executors/piscina.js';
import { StoreExecutor, type StoreExecutorOptions } from '../../runtime/executors/store-executor.js';
import { extract, getKey, isProxy } from '../../runtime/proxy.js';
import { Store } from '../../runtime/store.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { allFreed, eventually, floats, proxiedKeys, sumOf, taskPool, type FixtureTasks } from './helpers.js';

const MB = 1 << 20;

describe('PiscinaExecutor under a StoreExecutor', () => {
  let pool: Piscina;
  const stores: Store[] = [];
  beforeAll(() => {
    pool = taskPool();
  });
  afterAll(async () => {
    await pool.destroy();
    for (const store of stores.splice(0)) await store.close({ clear: true });
  });

  function sharedStore(): Store {
    const store = new Store(`piscina-${crypto.randomUUID()}`, new SharedMemoryConnector(), { cacheSize: 0 });
    stores.push(store);
    return store;
  }
  function executor(store: Store, options: Omit<StoreExecutorOptions, 'store'> = {}): StoreExecutor<FixtureTasks> {
    return new StoreExecutor(new PiscinaExecutor<FixtureTasks>(pool), { store, ...options });
  }

  it('sends a 10 MB input by reference and gets a 10 MB result back as a proxy made in the worker', async () => {
    const store = sharedStore();
    await using ex = executor(store);
    const input = floats(10 * MB);
    const [report] = await ex.submit('inspect', input);
    expect(report).toMatchObject({ proxy: true, kind: 'shared-memory' });
    const doubled = await ex.submit('scale', input, 2);
    expect(isProxy(doubled)).toBe(true);
    expect(doubled.length).toBe(input.length);
    expect(doubled[12345]).toBe(2 * 12345);
    await eventually(() => allFreed(store, proxiedKeys([report!])));
    const resultKey = getKey(doubled)!;
    expect(await store.exists(resultKey)).toBe(true);
    await ex.release(doubled);
    expect(await store.exists(resultKey)).toBe(false);
  });

  it('sends small arguments, primitives and values the policy declines by value', async () => {
    await using ex = executor(sharedStore());
    const report = await ex.submit('inspect', new Float64Array(10), 'text', 42, { small: true });
    expect(report.map((r) => r.proxy)).toEqual([false, false, false, false]);
    expect(isProxy(await ex.submit('fill', 10, 1))).toBe(false);
  });

  it('sends proxies the caller made as they are, resolves nested ones in the worker, and never frees them', async () => {
    const store = sharedStore();
    await using ex = executor(store);
    const mine = await store.proxy(floats(1024));
    const [report] = await ex.submit('inspect', mine);
    expect(report).toMatchObject({ proxy: true, key: getKey(mine) });
    expect(await ex.submit('nested', { inner: { data: mine } })).toEqual({ proxy: true, sum: sumOf(floats(1024)) });
    await ex.shutdown();
    expect(await store.exists(getKey(mine)!)).toBe(true);
  });

  it('keeps an input the task hands back alive inside the result, until it is released', async () => {
    const store = sharedStore();
    await using ex = executor(store);
    const echoed = (await ex.submit('echo', floats(200_000))) as Float64Array;
    expect(isProxy(echoed)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await store.exists(getKey(echoed)!)).toBe(true);
    expect(echoed[7]).toBe(7);
    await ex.release(echoed);
    expect(await store.exists(getKey(echoed)!)).toBe(false);
  });

  it('rejects with a TaskError carrying the task’s message and stack, and frees the inputs', async () => {
    const store = sharedStore();
    await using ex = executor(store, { shouldProxy: 'always' });
    const input = floats(1024);
    const [report] = await ex.submit('inspect', input);
    const error = await ex.submit('throws', 'bad tile').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskError);
    expect(error).toBeInstanceOf(ProxyStoreError);
    expect(error).toMatchObject({ task: 'throws', remoteName: 'RangeError', message: "task 'throws' failed: RangeError: bad tile" });
    expect((error as Error).stack).toMatch(/executor-tasks\.mjs/);
    expect(((error as Error).cause as Error).name).toBe('RangeError');
    await eventually(() => allFreed(store, proxiedKeys([report!])));
  });

  it('rejects with WorkerCrashedError when the thread exits mid-task, frees the inputs, and the pool goes on', async () => {
    const store = sharedStore();
    await using ex = executor(store, { shouldProxy: 'always' });
    const launched = ex.launch('exit', [3], {});
    const error = await launched.outcome.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerCrashedError);
    expect((error as Error).message).toMatch(/task 'exit' crashed: worker exited with code: 3/);
    const big = floats(200_000);
    const [report] = await ex.submit('inspect', big);
    expect(report!.proxy).toBe(true);
    expect(await ex.submit('sum', big)).toBe(sumOf(big));
    await eventually(() => allFreed(store, proxiedKeys([report!])));
  });

  it('times out a task stuck in a loop with TaskTimeoutError, stopping its thread, and frees the inputs', async () => {
    const store = sharedStore();
    await using ex = executor(store, { shouldProxy: 'always' });
    const input = { data: floats(1024) };
    const started = performance.now();
    const launched = ex.launch('spin', [], { timeoutMs: 200 });
    const error = await launched.outcome.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskTimeoutError);
    expect(error).toMatchObject({ task: 'spin', timeoutMs: 200 });
    expect(performance.now() - started).toBeLessThan(3_000);
    await launched.finished;
    // The pool replaced the terminated thread.
    expect(await ex.submit('nested', { inner: input })).toEqual({ proxy: false, sum: sumOf(input.data) });
  });

  it('cancels through an AbortSignal with the signal’s reason, and frees the inputs', async () => {
    const store = sharedStore();
    await using ex = executor(store, { shouldProxy: 'always' });
    const controller = new AbortController();
    const launched = ex.launch('sleep', [10_000], { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('user gave up')), 50);
    await expect(launched.outcome).rejects.toThrow('user gave up');
    await launched.finished;
    const before = new Float64Array(300_000);
    const [report] = await ex.submit('inspect', before);
    await eventually(() => allFreed(store, proxiedKeys([report!])));
  });

  it('map runs every call and rejects with the first failure after freeing the results that were made', async () => {
    const store = sharedStore();
    await using ex = executor(store);
    const sums = await ex.map('sum', [[floats(200_000, 1)], [floats(200_000, 2)]]);
    expect(sums).toEqual([sumOf(floats(200_000, 1)), sumOf(floats(200_000, 2))]);
    const made: unknown[] = [];
    const failing = ex.map('fill', [[200_000, 1], [-1, 0]]);
    await expect(failing).rejects.toBeInstanceOf(TaskError);
    expect(made).toEqual([]);
  });

  it('without ownership, inputs are single-use (gone once the worker resolved them) and results are the caller’s', async () => {
    const store = sharedStore();
    const ex = executor(store, { ownership: false });
    const [report] = await ex.submit('inspect', floats(200_000));
    expect(report!.proxy).toBe(true);
    expect(await store.exists(report!.key!)).toBe(true); // inspect never resolved it
    const summed = await ex.submit('sum', floats(200_000));
    expect(summed).toBe(sumOf(floats(200_000)));
    const result = await ex.submit('fill', 200_000, 1);
    await ex.shutdown();
    expect(await store.exists(getKey(result)!)).toBe(true);
    await store.evict(getKey(result)!);
  });

  it('refuses calls after shutdown', async () => {
    const ex = executor(sharedStore());
    await ex.shutdown();
    await expect(ex.submit('sum', new Float64Array(1))).rejects.toThrow(/shut down/);
  });
});

describe('PiscinaExecutor across connectors', () => {
  let pool: Piscina;
  beforeAll(() => {
    pool = taskPool();
  });
  afterAll(() => pool.destroy());

  /** Every input and result proxied, all freed by the end: only the connector changes. */
  async function roundTrip(store: Store): Promise<void> {
    await using ex = new StoreExecutor(new PiscinaExecutor<FixtureTasks>(pool), { store, shouldProxy: 'always' });
    const input = floats(MB);
    const [report] = await ex.submit('inspect', input);
    expect(report).toMatchObject({ proxy: true, kind: store.connector.kind });
    const scaled = await ex.submit('scale', input, 3);
    expect(isProxy(scaled)).toBe(true);
    expect(extract(scaled)).toEqual(input.map((x) => x * 3));
  }

  it('works with a file store, whose directory is empty afterwards', async () => {
    const directory = mkdtempSync(path.join(os.tmpdir(), 'executor-file-'));
    const store = new Store(`file-${crypto.randomUUID()}`, new FileConnector({ directory }));
    try {
      await roundTrip(store);
      expect(readdirSync(directory)).toEqual([]);
    } finally {
      await store.close({ clear: true });
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('works with a Redis store (the workers load its connector themselves), which holds no key afterwards', async () => {
    const server: RedisServer = await startRedisServer();
    const store = new Store(`redis-${crypto.randomUUID()}`, new RedisConnector({ port: server.port }));
    const client = new Redis({ port: server.port, lazyConnect: true });
    try {
      await roundTrip(store);
      expect(await client.keys('*')).toEqual([]);
    } finally {
      client.disconnect();
      await store.close({ clear: true });
      await server.stop();
    }
  });

  it('refuses inputs in the caller’s memory store: a memory store lives in one thread', async () => {
    const store = new Store(`memory-${crypto.randomUUID()}`, new MemoryConnector());
    await using ex = new StoreExecutor(new PiscinaExecutor<FixtureTasks>(pool), { store, shouldProxy: 'always' });
    const error = await ex.submit('sum', floats(1024)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskError);
    expect((error as TaskError).remoteName).toBe('ConfigError');
    expect((error as Error).message).toMatch(/memory connector only the thread that made it can read/);
    await store.close();
  });

  it('returns results by value from a worker whose own result store is in memory', async () => {
    const memoryPool = taskPool('executor-memory-tasks.mjs', 1);
    try {
      await using ex = new PiscinaExecutor<FixtureTasks>(memoryPool);
      const result = await ex.submit('fill', 200_000, 2);
      expect(isProxy(result)).toBe(false);
      expect(result).toBeInstanceOf(Float64Array);
      expect(result[199_999]).toBe(2);
    } finally {
      await memoryPool.destroy();
    }
  });
});

describe('PiscinaExecutor under load', () => {
  it('runs 1,000 tasks with proxied inputs and results, loses none, and leaves the store empty', async () => {
    const directory = mkdtempSync(path.join(os.tmpdir(), 'executor-load-'));
    const store = new Store(`load-${crypto.randomUUID()}`, new FileConnector({ directory }), { cacheSize: 0 });
    const pool = taskPool();
    try {
      const ex = new StoreExecutor(new PiscinaExecutor<FixtureTasks>(pool), { store, shouldProxy: { minBytes: 1_000 } });
      const inputs = Array.from({ length: 1_000 }, (_, i) => [floats(2_048, i)] as [Float64Array]);
      const results = await ex.map('scale', inputs.map(([array]) => [array, 2] as [Float64Array, number]));
      expect(results.every(isProxy)).toBe(true);
      results.forEach((result, i) => expect(result[1]).toBe(2 * (i + 1)));
      await ex.shutdown();
      expect(readdirSync(directory)).toEqual([]);
    } finally {
      await pool.destroy();
      await store.close({ clear: true });
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
