/**
 * Redis going away under a BullMQ executor, its workers and a Redis store:
 * killed and restarted empty, frozen, or never there. Every call settles
 * within a bound with a typed error, shutdown returns, nothing is printed
 * per reconnect attempt, and nothing keeps a process alive for ever. Bounds
 * are set through options, small, so the test runs in seconds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProxyStoreError, RedisUnreachableError } from '../../src/index.js';
import { RedisConnector } from '../../runtime/connectors/redis.js';
import { BullMQExecutor, type BullMQExecutorOptions } from '../../runtime/executors/bullmq/executor.js';
import { JobLostError, NoWorkerError } from '../../runtime/executors/errors.js';
import { fixture, type FixtureTasks } from '../executors/helpers.js';
import { freePort, startRedisServer, type RedisServer } from '../../runtime/testing/redis-server.js';

const ROOT = path.join(import.meta.dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'runtime', 'executors', 'bullmq', 'worker-cli.js');
/** Small bounds, so that every fault settles in a second or two. */
const FAST: Partial<BullMQExecutorOptions> = { watchIntervalMs: 100, unreachableTimeoutMs: 1_500, noWorkerTimeoutMs: 800 };

interface Child {
  readonly child: ChildProcess;
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>;
  readonly output: () => string;
}

function run(args: string[], input?: string): Child {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stdin.end(input ?? '');
  return { child, exited: once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>, output: () => output };
}

/** A script run as an ES module by a fresh node, importing the build as a deployed user would. */
const script = (source: string): Child => run(['--input-type=module', '-e', source]);

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** `ts-proxystore-worker` as a user starts it; resolves once it says it is ready. */
async function startWorker(queue: string, port: number, redisTimeoutMs = 20_000): Promise<Child> {
  const worker = run([CLI, '--queue', queue, '--redis', `redis://127.0.0.1:${port}`, '--tasks', fixture('executor-tasks.mjs'), '--concurrency', '4', '--redis-timeout-ms', String(redisTimeoutMs)]);
  await within(
    new Promise<void>((resolve, reject) => {
      worker.child.stdout?.on('data', () => worker.output().includes('ts-proxystore-worker ready') && resolve());
      void worker.exited.then(() => reject(new Error(`worker exited before it was ready:\n${worker.output()}`)));
    }),
    15_000,
    'worker start',
  );
  return worker;
}

describe('Redis outages', () => {
  let server: RedisServer;
  const cleanups: (() => unknown)[] = [];
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(() => server.stop());

  const queueName = (): string => `faults-${crypto.randomUUID()}`;
  function executor(queue: string, port = server.port, options: Partial<BullMQExecutorOptions> = {}): BullMQExecutor<FixtureTasks> {
    const made = new BullMQExecutor<FixtureTasks>(queue, { connection: { host: '127.0.0.1', port }, ...FAST, ...options });
    cleanups.push(() => within(made.shutdown(), 10_000, 'cleanup shutdown'));
    return made;
  }

  it('ends a submit no worker listens for with NoWorkerError naming the queue, and takes the job off the queue', async () => {
    const queue = queueName();
    const ex = executor(queue);
    const started = performance.now();
    const error = await within(ex.submit('echo', 1).then(() => undefined, (e: unknown) => e), 5_000, 'submit');
    expect(error).toBeInstanceOf(NoWorkerError);
    expect((error as Error).message).toContain(`no worker listening on queue '${queue}'`);
    expect(performance.now() - started).toBeGreaterThanOrEqual(800);
    expect(await ex.queue.getJobCounts('waiting', 'prioritized', 'delayed')).toEqual({ waiting: 0, prioritized: 0, delayed: 0 });
    await within(ex.shutdown(), 3_000, 'shutdown');
  });

  it('settles every call within a bound when Redis is killed and restarted empty, and shutdown returns', async () => {
    const queue = queueName();
    const worker = await startWorker(queue, server.port);
    cleanups.push(() => worker.child.kill('SIGKILL'));
    // The worker needs a few seconds to reconnect after the restart: that is not "no worker".
    const ex = executor(queue, server.port, { noWorkerTimeoutMs: 15_000 });
    // 40 calls of 1.5 s on 4 worker slots: some run, most wait, when Redis dies.
    const calls = Array.from({ length: 40 }, () => ex.submit('sleep', 1_500));
    const outcomes = Promise.allSettled(calls);
    await within(
      (async () => {
        while ((await ex.queue.getActiveCount()) === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      })(),
      10_000,
      'first job running',
    );
    await server.kill();
    await server.start();
    const settled = await within(outcomes, 10_000, 'calls after the restart');
    const failures = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures) expect(failure).toBeInstanceOf(ProxyStoreError);
    expect(failures.some((failure) => failure instanceof JobLostError)).toBe(true);
    expect((failures.find((failure) => failure instanceof JobLostError) as Error).message).toMatch(/Redis restarted/);
    // The worker rode the outage out and serves new calls.
    expect(await within(ex.submit('echo', 'after'), 15_000, 'call after the restart')).toBe('after');
    await within(ex.shutdown(), 5_000, 'shutdown');
  });

  it('fails calls with RedisUnreachableError when Redis is not there, tells onError once, and `await using` returns', async () => {
    const port = await freePort();
    const told: RedisUnreachableError[] = [];
    let error: unknown;
    const started = performance.now();
    await within(
      (async () => {
        await using ex = new BullMQExecutor<FixtureTasks>(queueName(), { connection: { host: '127.0.0.1', port }, ...FAST, onError: (e) => told.push(e) });
        error = await ex.submit('echo', 1).then(() => undefined, (e: unknown) => e);
      })(),
      8_000,
      'submit and dispose with Redis down',
    );
    expect(error).toBeInstanceOf(RedisUnreachableError);
    expect((error as Error).message).toContain(`Redis at 127.0.0.1:${port} unreachable`);
    expect(performance.now() - started).toBeLessThan(8_000);
    // ioredis retried many times meanwhile; the caller heard of the outage once.
    expect(told).toHaveLength(1);
    expect(told[0]).toBeInstanceOf(RedisUnreachableError);
  });

  it('prints no connection errors during an outage, and the process exits by itself', async () => {
    const port = await freePort();
    const child = script(`
      import { BullMQExecutor } from './dist/runtime/executors/bullmq/executor.js';
      const ex = new BullMQExecutor('q', { connection: { host: '127.0.0.1', port: ${port} }, watchIntervalMs: 100, unreachableTimeoutMs: 1000 });
      const error = await ex.submit('echo', 1).catch((e) => e);
      await ex.shutdown();
      console.log('settled:', error.name);
    `);
    const [code] = await within(child.exited, 10_000, 'child process');
    expect(child.output()).toContain('settled: RedisUnreachableError');
    expect(child.output()).not.toMatch(/ECONNREFUSED/);
    expect(code).toBe(0);
  });

  it('does not keep a process alive with a Redis store nobody closed, reachable or not', async () => {
    const deadPort = await freePort();
    const child = script(`
      import { Store } from './dist/src/index.js';
      import { RedisConnector } from './dist/runtime/connectors/redis.js';
      const live = new Store('live', new RedisConnector({ port: ${server.port} }));
      const key = await live.put({ ok: 1 });
      console.log('read:', JSON.stringify(await live.get(key)));
      const dead = new Store('dead', new RedisConnector({ port: ${deadPort}, commandTimeoutMs: 1000 }));
      console.log('dead:', await dead.put({ lost: 1 }).catch((e) => e.name));
    `);
    const [code] = await within(child.exited, 10_000, 'child process with unclosed stores');
    expect(child.output()).toContain('read: {"ok":1}');
    expect(child.output()).toContain('dead: RedisUnreachableError');
    expect(code).toBe(0);
  });

  it('the worker CLI and a caller\'s executor find a Redis that comes back after a long outage within a second or so, not after their client library\'s backoff of up to 20 s', async () => {
    const queue = queueName();
    const worker = await startWorker(queue, server.port);
    cleanups.push(() => worker.child.kill('SIGKILL'));
    // A caller that was there before the outage: its queue's events must come back as promptly.
    const ex = executor(queue, server.port, { unreachableTimeoutMs: 60_000, noWorkerTimeoutMs: 60_000 });
    expect(await within(ex.submit('echo', 'before'), 10_000, 'call before the outage')).toBe('before');
    await server.kill();
    // Long enough for the client library's own backoff to have grown to 8 s between attempts.
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    await server.start();
    const back = performance.now();
    await within(
      (async () => {
        while (!worker.output().includes('reachable again')) await new Promise((resolve) => setTimeout(resolve, 50));
      })(),
      10_000,
      'worker reconnecting',
    );
    expect(await within(ex.submit('echo', 'served'), 10_000, 'call after the outage')).toBe('served');
    expect(performance.now() - back).toBeLessThan(4_000);
    expect(worker.child.exitCode).toBeNull();
  }, 40_000);

  it('a worker told to stop while a job is in hand and Redis is gone exits once --redis-timeout-ms has passed, instead of waiting for ever', async () => {
    const queue = queueName();
    const worker = await startWorker(queue, server.port, 2_000);
    cleanups.push(() => worker.child.kill('SIGKILL'));
    const ex = executor(queue);
    void ex.submit('sleep', 3_000).catch(() => undefined);
    await within(
      (async () => {
        while ((await ex.queue.getActiveCount()) === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      })(),
      10_000,
      'job running',
    );
    worker.child.kill('SIGTERM');
    await server.kill();
    const [code] = await within(worker.exited, 10_000, 'worker exit');
    expect(code).toBe(1);
    expect(worker.output()).toContain('giving up');
    await server.start();
  }, 30_000);

  it('makes the worker CLI give up on an unreachable Redis with one clear message and exit status 1', async () => {
    const port = await freePort();
    const worker = run([CLI, '--queue', 'q', '--redis', `redis://127.0.0.1:${port}`, '--tasks', fixture('executor-tasks.mjs'), '--redis-timeout-ms', '1000']);
    const [code] = await within(worker.exited, 10_000, 'worker CLI');
    expect(code).toBe(1);
    expect(worker.output()).toMatch(new RegExp(`Redis at 127.0.0.1:${port} unreachable for 1000 ms`));
    expect(worker.output().match(/ECONNREFUSED/g)?.length ?? 0).toBeLessThanOrEqual(2);
  });

  it('fails calls with RedisUnreachableError while Redis is frozen, and shutdown returns', async () => {
    const ex = executor(queueName(), server.port, { noWorkerTimeoutMs: 60_000 });
    await ex.queue.waitUntilReady();
    const calls = Promise.allSettled(Array.from({ length: 10 }, () => ex.submit('echo', 1)));
    server.pause();
    try {
      const settled = await within(calls, 8_000, 'calls while Redis is frozen');
      for (const outcome of settled) {
        expect(outcome.status).toBe('rejected');
        expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(RedisUnreachableError);
      }
      await within(ex.shutdown(), 8_000, 'shutdown while Redis is frozen');
    } finally {
      server.resume();
    }
  });

  it('leaves no key behind for puts that timed out while Redis was frozen', async () => {
    const connector = new RedisConnector({ port: server.port, commandTimeoutMs: 300 });
    cleanups.push(() => connector.close({ clear: true }));
    const client = new Redis({ port: server.port, lazyConnect: true });
    cleanups.push(() => client.disconnect());
    await connector.put(new Uint8Array(8)); // connected before the freeze
    server.pause();
    let failures: unknown[];
    try {
      const outcomes = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => connector.put(new Uint8Array(1024).fill(i))));
      failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
    } finally {
      server.resume();
    }
    expect(failures).toHaveLength(30);
    for (const failure of failures) expect(failure).toBeInstanceOf(RedisUnreachableError);
    // The SETs reach Redis once it wakes; the deletes queued behind them follow.
    const deadline = Date.now() + 5_000;
    let left = -1;
    while (Date.now() < deadline && (left = (await client.keys(`${connector.prefix}*`)).length) > 1) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(left).toBe(1); // only the put made before the freeze
  });
});
