import path from 'node:path';
import type { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RedisConnector } from '../../runtime/connectors/redis.js';
import { BullMQExecutor, type CreateWorkerOptions } from '../../runtime/executors/bullmq/executor.js';
import { JobLostError, TaskError, TaskTimeoutError, WorkerCrashedError } from '../../runtime/executors/errors.js';
import { StoreExecutor, type StoreExecutorOptions } from '../../runtime/executors/store-executor.js';
import type { BullMQExecutorOptions } from '../../runtime/executors/bullmq/executor.js';
import { getKey, isProxy } from '../../runtime/proxy/proxy.js';
import { Store } from '../../runtime/store/store.js';
import { rejection } from '../../runtime/testing/outcomes.js';
import { startRedisServer, type RedisServer } from '../../runtime/testing/redis-server.js';
import { eventually, fixture, floats, startCli, sumOf, type FixtureTasks } from './helpers.js';

const MB = 1 << 20;
/** The worker half runs the build (as a deployed worker would), so its module instances are the fixture's own. */
const dist = (await import(path.join(import.meta.dirname, '..', '..', 'dist', 'runtime', 'executors', 'bullmq', 'executor.js'))) as typeof import('../../runtime/executors/bullmq/executor.js');
const fixtureTasks = ((await import(fixture('executor-tasks.mjs'))) as { default: object }).default as FixtureTasks;

describe('BullMQExecutor', () => {
  let server: RedisServer;
  let client: Redis;
  const cleanups: (() => unknown)[] = [];
  beforeAll(async () => {
    server = await startRedisServer();
    client = new Redis({ port: server.port, lazyConnect: true });
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    client.disconnect();
    await server.stop();
  });

  const connection = (): { host: string; port: number } => ({ host: '127.0.0.1', port: server.port });
  const queueName = (): string => `q-${crypto.randomUUID()}`;

  function redisStore(): Store {
    const store = new Store(`bull-${crypto.randomUUID()}`, new RedisConnector({ port: server.port }), { cacheSize: 0 });
    cleanups.push(() => store.close({ clear: true }));
    return store;
  }
  /** How many objects `store` holds, counted on the server. */
  const storedKeys = async (store: Store): Promise<number> => (await client.keys(`${(store.connector as RedisConnector).prefix}*`)).length;

  function worker(queue: string, options: Partial<CreateWorkerOptions> = {}): Worker {
    const made = dist.createWorker(queue, fixtureTasks, { connection: connection(), ...options });
    cleanups.push(() => made.close());
    return made;
  }
  function executor(queue: string, store: Store, options: Omit<StoreExecutorOptions, 'store'> = {}, engine: Partial<BullMQExecutorOptions> = {}): StoreExecutor<FixtureTasks> {
    return new StoreExecutor(new BullMQExecutor<FixtureTasks>(queue, { connection: connection(), ...engine }), { store, ...options });
  }

  it('adds jobs that carry references, not payloads, and brings a 10 MB result back as a proxy', async () => {
    const queue = queueName();
    const store = redisStore();
    await using ex = executor(queue, store);
    const input = floats(10 * MB);
    const result = ex.submit('scale', input, 2);
    const engine = ex.executor as BullMQExecutor<FixtureTasks>;
    let waiting: { data: unknown }[] = [];
    await eventually(async () => (waiting = await engine.queue.getJobs(['waiting'])).length === 1);
    expect(JSON.stringify(waiting[0]!.data).length).toBeLessThan(4_096);
    worker(queue);
    const doubled = await result;
    expect(isProxy(doubled)).toBe(true);
    expect(doubled.length).toBe(input.length);
    expect(doubled[1_000_000]).toBe(2_000_000);
    await ex.release(doubled);
    await eventually(async () => (await storedKeys(store)) === 0);
  });

  it('runs tasks in a worker process started from the CLI, which exits cleanly on SIGTERM', async () => {
    const queue = queueName();
    const cli = await startCli(queue, server.port, ['--concurrency', '2']);
    cleanups.push(() => cli.child.kill('SIGKILL'));
    const store = redisStore();
    const ex = executor(queue, store);
    const input = floats(MB, 1);
    expect(await ex.map('sum', [[input], [floats(16)]])).toEqual([sumOf(input), sumOf(floats(16))]);
    const scaled = await ex.submit('scale', input, 0.5);
    expect(scaled[10]).toBe(5.5);
    await ex.shutdown();
    expect(await storedKeys(store)).toBe(0);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toEqual([0, null]);
  });

  it('rejects a failed job with the task’s message and stack, and frees the inputs', async () => {
    const queue = queueName();
    const store = redisStore();
    worker(queue);
    await using ex = executor(queue, store, { shouldProxy: 'always' });
    const launched = ex.launch('throws', ['bad tile']);
    const error = await rejection(launched.outcome);
    expect(error).toBeInstanceOf(TaskError);
    expect(error).toMatchObject({ task: 'throws', remoteName: 'RangeError', message: "task 'throws' failed: RangeError: bad tile" });
    expect((error as Error).stack).toMatch(/\n\s+at throws \(.*executor-tasks\.mjs/);
    await launched.finished;
    expect(await storedKeys(store)).toBe(0);
    // A thrown string keeps its text, as on piscina (BullMQ records only an Error's message).
    const thrown = await rejection(ex.submit('throwsValue', 'plain string thrown'));
    expect(thrown).toBeInstanceOf(TaskError);
    expect((thrown as Error).message).toBe("task 'throwsValue' failed: Error: plain string thrown");
  });

  it('keeps inputs through BullMQ’s retries and frees them once, when the job is settled for good', async () => {
    const queue = queueName();
    const store = redisStore();
    worker(queue);
    const evictions = vi.spyOn(store, 'evict');
    const ex = executor(queue, store, {}, { jobOptions: { attempts: 3 } });
    const input = floats(200_000);
    expect(await ex.submit('flaky', 'recovers', 2, input)).toEqual({ attempts: 3, sum: sumOf(input) });
    const failing = ex.launch('flaky', ['gives-up', 5, input]);
    await expect(failing.outcome).rejects.toThrow("task 'flaky' failed: Error: attempt 3 of gives-up fails");
    await ex.shutdown();
    expect(evictions).toHaveBeenCalledTimes(2);
    expect(await storedKeys(store)).toBe(0);
  });

  it('times out a job with TaskTimeoutError; the worker aborts the task and fails the job for good, and the inputs are freed', async () => {
    const queue = queueName();
    const store = redisStore();
    worker(queue);
    await using ex = executor(queue, store, { shouldProxy: 'always' }, { jobOptions: { attempts: 3 } });
    const started = performance.now();
    const launched = ex.launch('untilAborted', [], { timeoutMs: 300 });
    await expect(launched.outcome).rejects.toBeInstanceOf(TaskTimeoutError);
    expect(performance.now() - started).toBeLessThan(2_000);
    await launched.finished;
    const engine = ex.executor as BullMQExecutor<FixtureTasks>;
    const [failed] = await engine.queue.getJobs(['failed']);
    // Whichever sees the deadline first stops the job: the worker's own timer, or the caller's, through the cancel channel.
    expect(failed).toMatchObject({ attemptsMade: 1, failedReason: expect.stringMatching(/^(cancelled by its caller: )?task 'untilAborted' did not finish within 300 ms$/) as unknown });
    expect(await storedKeys(store)).toBe(0);
  });

  it('cancels a job no worker has taken by removing it, and one that runs by having its worker abort it, for good', async () => {
    const queue = queueName();
    const store = redisStore();
    await using ex = executor(queue, store, { shouldProxy: 'always', resultThreshold: 0 }, { jobOptions: { attempts: 3 } });
    const engine = ex.executor as BullMQExecutor<FixtureTasks>;
    const queued = new AbortController();
    const waiting = ex.launch('sum', [floats(1024)], { signal: queued.signal });
    await eventually(async () => (await engine.queue.getJobCounts('waiting')).waiting === 1);
    queued.abort(new Error('not needed'));
    await expect(waiting.outcome).rejects.toThrow('not needed');
    await waiting.finished;
    expect(await engine.queue.getJobCounts('waiting')).toEqual({ waiting: 0 });
    expect(await storedKeys(store)).toBe(0);

    await worker(queue).waitUntilReady();
    const running = new AbortController();
    // untilAborted settles only when its worker aborts it: without the cancel reaching the worker, this would never finish.
    const late = ex.launch('untilAborted', [floats(1024)], { signal: running.signal });
    await eventually(async () => (await engine.queue.getJobCounts('active')).active === 1);
    running.abort(new Error('too slow'));
    await expect(late.outcome).rejects.toThrow('too slow');
    await late.finished;
    const [failed] = await engine.queue.getJobs(['failed']);
    expect(failed).toMatchObject({ attemptsMade: 1, failedReason: 'cancelled by its caller: too slow' });
    await eventually(async () => (await storedKeys(store)) === 0);
  });

  it('rejects with JobLostError when someone else removes a job before it runs, and frees the inputs', async () => {
    const queue = queueName();
    const store = redisStore();
    await using ex = executor(queue, store, { shouldProxy: 'always', resultThreshold: 0 }, { noWorkerTimeoutMs: Infinity });
    const engine = ex.executor as BullMQExecutor<FixtureTasks>;
    const launched = ex.launch('sum', [floats(1024)]);
    await eventually(async () => (await engine.queue.getJobCounts('waiting')).waiting === 1);
    const [job] = await engine.queue.getJobs(['waiting']);
    await engine.queue.remove(job?.id ?? '');
    const error = await rejection(launched.outcome);
    expect(error).toBeInstanceOf(JobLostError);
    expect(error).toMatchObject({ code: 'PS_JOB_LOST', task: 'sum', queueName: queue });
    expect((error as Error).message).toContain('it was removed from the queue');
    await launched.finished;
    await eventually(async () => (await storedKeys(store)) === 0);
  });

  it('rejects with WorkerCrashedError when the worker process is killed mid-job, once another worker notices, and frees the inputs', async () => {
    const queue = queueName();
    const store = redisStore();
    const flags = ['--lock-duration-ms', '1000', '--stalled-interval-ms', '300', '--max-stalled-count', '0'];
    const first = await startCli(queue, server.port, flags);
    cleanups.push(() => first.child.kill('SIGKILL'));
    await using ex = executor(queue, store, { shouldProxy: 'always' });
    const launched = ex.launch('kill', [floats(1024)]);
    expect((await first.exited)[1]).toBe('SIGKILL');
    const second = await startCli(queue, server.port, flags);
    cleanups.push(() => second.child.kill('SIGKILL'));
    const error = await rejection(launched.outcome);
    expect(error).toBeInstanceOf(WorkerCrashedError);
    expect((error as Error).message).toMatch(/the worker running task 'kill' crashed: job stalled more than allowable limit/);
    await launched.finished;
    expect(await storedKeys(store)).toBe(0);
    expect(await ex.submit('sum', floats(64))).toBe(sumOf(floats(64)));
  });

  it('rejects with WorkerCrashedError when the only worker is killed mid-job: no worker is left to run the stalled-job check', async () => {
    const queue = queueName();
    const store = redisStore();
    const only = await startCli(queue, server.port, ['--lock-duration-ms', '1000', '--stalled-interval-ms', '300', '--max-stalled-count', '0']);
    cleanups.push(() => only.child.kill('SIGKILL'));
    await using ex = executor(queue, store, { shouldProxy: 'always' }, { noWorkerTimeoutMs: 1_500, watchIntervalMs: 100 });
    const launched = ex.launch('kill', [floats(1024)]);
    expect((await only.exited)[1]).toBe('SIGKILL');
    const error = await rejection(launched.outcome);
    expect(error).toBeInstanceOf(WorkerCrashedError);
    expect((error as Error).message).toMatch(/the worker running task 'kill' crashed: no worker has been connected to queue '.*' for \d+ ms \(noWorkerTimeoutMs\) while the job was running/);
    await launched.finished;
    expect(await storedKeys(store)).toBe(0);
  });

  it('runs 1,000 tasks with proxied inputs and results, loses none, and leaves the store and the queue empty', async () => {
    const queue = queueName();
    const store = redisStore();
    worker(queue, { concurrency: 16 });
    const ex = executor(queue, store, { shouldProxy: { minBytes: 1_000 } });
    const calls = Array.from({ length: 1_000 }, (_, i) => [floats(2_048, i), 2] as [Float64Array, number]);
    const results = await ex.map('scale', calls);
    expect(results.every((result) => isProxy(result))).toBe(true);
    expect(new Set(results.map((result) => getKey(result))).size).toBe(1_000);
    results.forEach((result, i) => expect(result[1]).toBe(2 * (i + 1)));
    const engine = ex.executor as BullMQExecutor<FixtureTasks>;
    const counts = await engine.queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
    expect(Object.values(counts)).toEqual([0, 0, 0, 0, 0]);
    await ex.shutdown();
    expect(await storedKeys(store)).toBe(0);
  });
});
