import { Redis } from 'ioredis';
import type { Piscina } from 'piscina';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { MemoryConnector } from '../../runtime/connectors/memory.js';
import { RedisConnector } from '../../runtime/connectors/redis.js';
import { SharedMemoryConnector } from '../../runtime/connectors/shared-memory/connector.js';
import { ProxyStoreError } from '../../runtime/errors.js';
import { BorrowError, borrow, dispose, mutBorrow, ownedProxy } from '../../runtime/store/ownership.js';
import { TaskError, TaskTimeoutError, WorkerCrashedError } from '../../runtime/executors/errors.js';
import { PiscinaExecutor, resultArray } from '../../runtime/executors/piscina.js';
import type { TaskCall, TaskSuccess } from '../../runtime/executors/task-wire.js';
import { StoreExecutor, type StoreExecutorOptions } from '../../runtime/executors/store-executor.js';
import { extract, getKey, isProxy, isResolved } from '../../runtime/proxy/proxy.js';
import { Store } from '../../runtime/store/store.js';
import { rejection } from '../../runtime/testing/outcomes.js';
import { startRedisServer } from '../../runtime/testing/redis-server.js';
import { fileStore, floats, sumOf, taskPool, watchStoredInputs, type FileStore, type FixtureTasks } from './helpers.js';

const MB = 1 << 20;

describe('PiscinaExecutor under a StoreExecutor', () => {
  let pool: Piscina;
  const cleanups: (() => Promise<void>)[] = [];
  beforeAll(() => {
    pool = taskPool();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  afterAll(() => pool.destroy());

  function counted(): FileStore {
    const made = fileStore();
    cleanups.push(made.remove);
    return made;
  }
  function executor(store: Store, options: Omit<StoreExecutorOptions, 'store'> = {}): StoreExecutor<FixtureTasks> {
    return new StoreExecutor(new PiscinaExecutor<FixtureTasks>(pool), { store, ...options });
  }

  it('sends a 10 MB input through shared memory by reference and gets a 10 MB result back as a proxy made in the worker', async () => {
    const store = new Store(`piscina-${crypto.randomUUID()}`, new SharedMemoryConnector(), { cacheSize: 0 });
    cleanups.push(() => store.close({ clear: true }));
    const watched = watchStoredInputs(store);
    await using ex = executor(store);
    const input = floats(10 * MB);
    const inspected = ex.launch('inspect', [input]);
    // A view on the shared memory the input was put in: it was not copied on the way.
    expect((await inspected.outcome).value).toEqual([{ proxy: false, type: 'Float64Array', shared: true }]);
    await inspected.finished;
    const [sent] = await watched.keys();
    expect(await store.exists(sent!)).toBe(false);
    const doubled = await ex.submit('scale', input, 2);
    expect(isProxy(doubled)).toBe(true);
    expect(doubled.length).toBe(input.length);
    expect(doubled[12345]).toBe(2 * 12345);
    const resultKey = getKey(doubled)!;
    expect(await store.exists(resultKey)).toBe(true);
    await ex.release(doubled);
    expect(await store.exists(resultKey)).toBe(false);
  });

  it('sends arguments and takes results by key, as its flags say: no proxy is made for them and no descriptor crosses, and results it owns go on by key', async () => {
    const store = new Store(`piscina-${crypto.randomUUID()}`, new SharedMemoryConnector(), { cacheSize: 0 });
    cleanups.push(() => store.close({ clear: true }));
    const messages: { call: unknown; reply: unknown }[] = [];
    const watching = {
      run: async (call: unknown): Promise<unknown> => {
        const reply: unknown = await pool.run(call);
        messages.push({ call, reply });
        return reply;
      },
      close: () => Promise.resolve(),
    };
    const engine = new PiscinaExecutor<FixtureTasks>(watching);
    expect(engine.flags.byKey).toBe(true);
    const made = vi.spyOn(store, 'proxyBatch');
    await using ex = new StoreExecutor(engine, { store, shouldProxy: 'always' });
    const input = floats(64 * 1024);
    const read = vi.spyOn(store, 'getSync');
    const scaled = await ex.submit('scale', input, 2);
    // Handed back through async functions without reading the store: a worker says thenable only of a result that is.
    expect(isResolved(scaled)).toBe(false);
    expect(read).not.toHaveBeenCalled();
    expect(made).not.toHaveBeenCalled();
    const [{ call, reply }] = messages as [{ call: TaskCall; reply: TaskSuccess }];
    expect(call.args).toEqual([null, 2]);
    expect(call.stored?.keys).toEqual([expect.any(String), null]);
    expect(JSON.stringify(call)).not.toContain('$proxystore');
    expect(reply.value).toBeNull();
    expect(reply.stored?.key).toBe(getKey(scaled));
    expect(extract(scaled)).toEqual(input.map((x) => x * 2));
    // A result it owns goes on to the next task by its key too, and stays the caller's.
    expect(await ex.submit('sum', scaled)).toBe(2 * sumOf(input));
    const passed = messages[1]?.call as TaskCall;
    expect([passed.args, passed.stored?.keys]).toEqual([[null], [getKey(scaled)]]);
    expect(await store.exists(getKey(scaled)!)).toBe(true);
    // The caller owns the result made from its key, as it would own a decoded proxy.
    await ex.release(scaled);
    expect(await store.exists(reply.stored!.key)).toBe(false);
    expect(await store.exists(call.stored!.keys[0]!)).toBe(false);
  });

  it('stores a result born in shared memory (resultArray) as it lies: writes the worker makes to it later show in the caller’s result', async () => {
    const store = new Store(`piscina-${crypto.randomUUID()}`, new SharedMemoryConnector(), { cacheSize: 0 });
    cleanups.push(() => store.close({ clear: true }));
    const single = taskPool(undefined, 1);
    cleanups.push(() => single.destroy());
    await using ex = new StoreExecutor(new PiscinaExecutor<FixtureTasks>(single), { store });
    const result = await ex.submit('fillInPlace', 200_000, 1);
    expect(isProxy(result)).toBe(true);
    expect(result[7]).toBe(1);
    expect(await ex.submit('writeLastInPlace', 7, 42)).toBe(true);
    expect(result[7]).toBe(42);
    await ex.release(result);
    // Below the result threshold the result goes back by value, so it is not born in the store.
    const small = await ex.submit('fillInPlace', 10, 1);
    expect(isProxy(small)).toBe(false);
    expect(await ex.submit('writeLastInPlace', 0, 5)).toBe(false);
    expect(small[0]).toBe(1);
  });

  it('gives a plain array from resultArray outside a task, where no results store is known', () => {
    const array = resultArray(Float64Array, 4);
    expect(array).toBeInstanceOf(Float64Array);
    expect(array.buffer).toBeInstanceOf(ArrayBuffer);
    expect(Array.from(array)).toEqual([0, 0, 0, 0]);
  });

  it('sends small arguments, primitives and values the policy declines by value', async () => {
    const { store, files } = counted();
    const watched = watchStoredInputs(store);
    await using ex = executor(store);
    const report = await ex.submit('inspect', new Float64Array(10), 'text', 42, { small: true });
    expect(report.map((r) => r.type)).toEqual(['Float64Array', 'String', 'Number', 'Object']);
    expect(isProxy(await ex.submit('fill', 10, 1))).toBe(false);
    expect(watched.picked()).toEqual([]);
    expect(files()).toEqual([]);
  });

  it('sends proxies the caller made as they are, nested ones too, hands the task their targets, and never frees them', async () => {
    const { store, files } = counted();
    const watched = watchStoredInputs(store);
    await using ex = executor(store);
    const mine = await store.proxy(floats(1024));
    expect(await ex.submit('inspect', mine)).toEqual([{ proxy: false, type: 'Float64Array', shared: false }]);
    expect(await ex.submit('nested', { inner: { data: mine } })).toBe(sumOf(floats(1024)));
    await ex.shutdown();
    expect(watched.picked()).toEqual([]);
    expect(files()).toEqual([getKey(mine)]);
  });

  it('ends the borrows sent to a task once it has settled, so their owner can then be disposed', async () => {
    const { store, files } = counted();
    await using ex = executor(store);
    const owner = await ownedProxy(store, floats(1024));
    const shared = borrow(owner);
    const first = ex.launch('sum', [shared]);
    const second = ex.launch('sleep', [100, shared]);
    await first.finished;
    expect(() => mutBorrow(owner)).toThrow(BorrowError); // the sleeping task still holds the shared borrow
    await second.finished;
    await dispose(owner);
    expect(files()).toEqual([]);
  });

  it('returns a new proxy for an input the task hands back, and frees the input', async () => {
    const { store, files } = counted();
    await using ex = executor(store);
    const launched = ex.launch('echo', [floats(200_000)]);
    const echoed = (await launched.outcome).value as Float64Array;
    await launched.finished;
    expect(isProxy(echoed)).toBe(true);
    expect(files()).toEqual([getKey(echoed)]);
    expect(echoed[7]).toBe(7);
    await ex.release(echoed);
    expect(files()).toEqual([]);
  });

  it('rejects with a TaskError carrying the task’s message and stack, and frees the inputs', async () => {
    const { store, files } = counted();
    await using ex = executor(store, { shouldProxy: 'always' });
    const launched = ex.launch('throws', ['bad tile']);
    const error = await rejection(launched.outcome);
    expect(error).toBeInstanceOf(TaskError);
    expect(error).toBeInstanceOf(ProxyStoreError);
    expect(error).toMatchObject({ task: 'throws', remoteName: 'RangeError', message: "task 'throws' failed: RangeError: bad tile" });
    expect((error as Error).stack).toMatch(/^TaskError: task 'throws' failed: RangeError: bad tile\n\s+at throws \(.*executor-tasks\.mjs/);
    expect(((error as Error).cause as Error).name).toBe('RangeError');
    await launched.finished;
    expect(files()).toEqual([]);
  });

  it('rejects with WorkerCrashedError when the thread exits mid-task, frees the inputs, and the pool goes on', async () => {
    const { store, files } = counted();
    await using ex = executor(store, { shouldProxy: 'always' });
    const launched = ex.launch('exit', [3, floats(1024)]);
    const error = await rejection(launched.outcome);
    expect(error).toBeInstanceOf(WorkerCrashedError);
    expect((error as Error).message).toBe("the worker running task 'exit' crashed: worker exited with code: 3");
    await launched.finished;
    expect(files()).toEqual([]);
    expect(await ex.submit('sum', floats(1024))).toBe(sumOf(floats(1024)));
  });

  it('times out a task stuck in a loop with TaskTimeoutError, stopping its thread, and frees the inputs', async () => {
    const { store, files } = counted();
    await using ex = executor(store, { shouldProxy: 'always' });
    const started = performance.now();
    const launched = ex.launch('spin', [floats(1024)], { timeoutMs: 200 });
    const error = await rejection(launched.outcome);
    expect(error).toBeInstanceOf(TaskTimeoutError);
    expect(error).toMatchObject({ task: 'spin', timeoutMs: 200, message: "task 'spin' did not finish within 200 ms" });
    expect(performance.now() - started).toBeLessThan(3_000);
    await launched.finished;
    expect(files()).toEqual([]);
    expect(await ex.submit('sum', floats(1024))).toBe(sumOf(floats(1024)));
  });

  it('cancels through an AbortSignal with the signal’s reason, and frees the inputs', async () => {
    const { store, files } = counted();
    await using ex = executor(store, { shouldProxy: 'always' });
    const controller = new AbortController();
    const launched = ex.launch('sleep', [10_000, floats(1024)], { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('user gave up')), 100);
    await expect(launched.outcome).rejects.toThrow('user gave up');
    await launched.finished;
    expect(files()).toEqual([]);
  });

  it('map returns results in order, and on a failure rejects after freeing the results that were made', async () => {
    const { store, files } = counted();
    await using ex = executor(store);
    expect(await ex.map('sum', [[floats(200_000, 1)], [floats(200_000, 2)]])).toEqual([sumOf(floats(200_000, 1)), sumOf(floats(200_000, 2))]);
    await expect(ex.map('fill', [[200_000, 1], [-1, 0]])).rejects.toThrow(/RangeError: Invalid typed array length/);
    expect(files()).toEqual([]);
  });

  it('without ownership, inputs are single-use (evicted once the worker fetched them) and results are the caller’s', async () => {
    const { store, files } = counted();
    const ex = executor(store, { ownership: false });
    const watched = watchStoredInputs(store);
    expect(await ex.submit('sum', floats(200_000))).toBe(sumOf(floats(200_000)));
    expect(watched.picked()).toHaveLength(1);
    expect(files()).toEqual([]);
    const result = await ex.submit('fill', 200_000, 1);
    await ex.shutdown();
    expect(files()).toEqual([getKey(result)]);
  });

  it('refuses calls after shutdown', async () => {
    const ex = executor(counted().store);
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

  /** Every input and result by proxy; only the connector changes. */
  async function roundTrip(store: Store): Promise<void> {
    const watched = watchStoredInputs(store);
    await using ex = new StoreExecutor(new PiscinaExecutor<FixtureTasks>(pool), { store, shouldProxy: 'always' });
    const input = floats(MB);
    expect(await ex.submit('sum', input)).toBe(sumOf(input));
    expect(watched.picked()).toEqual([input]);
    const scaled = await ex.submit('scale', input, 3);
    expect(isProxy(scaled) ? extract(scaled) : 'not a proxy').toEqual(input.map((x) => x * 3));
  }

  it('works with a file store, which holds nothing afterwards', async () => {
    const { store, files, remove } = fileStore();
    try {
      await roundTrip(store);
      expect(files()).toEqual([]);
    } finally {
      await remove();
    }
  });

  it('works with a Redis store (the workers load its connector themselves), which holds no key afterwards', async () => {
    const server = await startRedisServer();
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

  it('a fresh thread loads the Redis connector for arguments sent by key, also when results come back by value', async () => {
    const server = await startRedisServer();
    const store = new Store(`redis-${crypto.randomUUID()}`, new RedisConnector({ port: server.port }));
    const fresh = taskPool(undefined, 1);
    try {
      await using ex = new StoreExecutor(new PiscinaExecutor<FixtureTasks>(fresh), { store, shouldProxy: 'always', resultThreshold: Infinity });
      const input = floats(4096);
      expect(await ex.submit('sum', input)).toBe(sumOf(input));
    } finally {
      await fresh.destroy();
      await store.close({ clear: true });
      await server.stop();
    }
  });

  it('refuses inputs in the caller’s memory store, since a memory store lives in one thread', async () => {
    const store = new Store(`memory-${crypto.randomUUID()}`, new MemoryConnector());
    await using ex = new StoreExecutor(new PiscinaExecutor<FixtureTasks>(pool), { store, shouldProxy: 'always' });
    const error = await rejection(ex.submit('sum', floats(1024)));
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
    const { store, files, remove } = fileStore();
    const pool = taskPool();
    try {
      const ex = new StoreExecutor(new PiscinaExecutor<FixtureTasks>(pool), { store, shouldProxy: { minBytes: 1_000 } });
      const calls = Array.from({ length: 1_000 }, (_, i) => [floats(2_048, i), 2] as [Float64Array, number]);
      const results = await ex.map('scale', calls);
      expect(results.every((result) => isProxy(result))).toBe(true);
      results.forEach((result, i) => expect(result[1]).toBe(2 * (i + 1)));
      await ex.shutdown();
      expect(files()).toEqual([]);
    } finally {
      await pool.destroy();
      await remove();
    }
  });
});
