import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FileConnector } from '../../runtime/connectors/file.js';
import { MemoryConnector } from '../../runtime/connectors/memory.js';
import { RedisConnector } from '../../runtime/connectors/redis.js';
import { ConfigError, DescriptorError, ProxyFutureError, ProxyFutureTimeoutError, ProxyResolveError, ProxyStoreError } from '../../runtime/errors.js';
import { isResolved, resolveAsync } from '../../runtime/proxy/proxy.js';
import { decodeProxies, encodeProxies } from '../../runtime/store/references.js';
import { Store } from '../../runtime/store/store.js';
import { startRedisServer, type RedisServer } from '../../runtime/testing/redis-server.js';
import { tempDirs } from '../../runtime/testing/temp-dirs.js';

const READER = path.join(import.meta.dirname, '..', 'fixtures', 'future-reader.mjs');
const dirs = tempDirs('future-');
const stores: Store[] = [];
let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close({ clear: true });
});
afterAll(async () => {
  await dirs.removeAll();
  await redis?.stop();
});

function track(store: Store): Store {
  stores.push(store);
  return store;
}
const later = async (ms: number, work: () => Promise<void>): Promise<void> => {
  await new Promise((resolve) => setTimeout(resolve, ms));
  await work();
};

describe('store.future, in one process', () => {
  it('hands out a proxy at once that resolves, without blocking, once the value is set', async () => {
    const store = track(new Store('futures-memory', new MemoryConnector()));
    const future = store.future<{ answer: number }>();
    const p = future.proxy();
    expect(isResolved(p)).toBe(false);
    expect(await future.done()).toBe(false);
    const waiting = resolveAsync(p);
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    await later(60, () => future.setResult({ answer: 42 }));
    expect((await waiting).answer).toBe(42);
    clearInterval(ticker);
    // The event loop kept running while the proxy waited.
    expect(ticks).toBeGreaterThan(3);
    expect(await future.done()).toBe(true);
    expect(await future.result()).toEqual({ answer: 42 });
  });

  it('an unset future\'s proxy can be awaited and returned from an async function without waiting for the value (file store)', async () => {
    const store = track(new Store('futures-await', new FileConnector({ directory: await dirs.make() })));
    const future = store.future<{ answer: number }>({ timeoutMs: 5_000 });
    const p = future.proxy();
    // Adoption by a promise (await, an async function's return) looks for a `then`: a first touch would block until the timeout, then throw.
    expect(await Promise.resolve(p)).toBe(p);
    expect(isResolved(p)).toBe(false);
    await future.setResult({ answer: 7 });
    expect((await resolveAsync(p)).answer).toBe(7);
  });

  it('passes the producer’s error to every reader as a ProxyFutureError', async () => {
    const store = track(new Store('futures-error', new MemoryConnector()));
    const future = store.future<number[]>();
    await future.setError(new RangeError('the upstream task broke'));
    const failure = await future.result().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ProxyFutureError);
    expect(failure).toMatchObject({ remoteName: 'RangeError', remoteMessage: 'the upstream task broke' });
    const viaProxy = await resolveAsync(future.proxy()).catch((error: unknown) => error);
    expect(viaProxy).toBeInstanceOf(ProxyResolveError);
    expect((viaProxy as Error).cause).toBeInstanceOf(ProxyFutureError);
  });

  it('times out with a typed error within its bound, and a synchronous touch of an unset memory future fails at once', async () => {
    const store = track(new Store('futures-timeout', new MemoryConnector()));
    const future = store.future<{ x: number }>({ timeoutMs: 80 });
    const t0 = performance.now();
    await expect(future.result()).rejects.toBeInstanceOf(ProxyFutureTimeoutError);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(75);
    expect(performance.now() - t0).toBeLessThan(2_000);
    const t1 = performance.now();
    expect(() => future.proxy().x).toThrow(ProxyResolveError);
    expect(performance.now() - t1).toBeLessThan(50);
  });

  it('is set once; needs a connector that can name keys in advance; checks its options', async () => {
    const store = track(new Store('futures-once', new MemoryConnector()));
    const future = store.future<{ v: number }>();
    await future.setResult({ v: 1 });
    await expect(future.setResult({ v: 2 })).rejects.toBeInstanceOf(ProxyStoreError);
    expect((await future.result()).v).toBe(1);
    expect(() => store.future({ timeoutMs: -1 })).toThrow(ConfigError);
    expect(() => store.future({ timeoutMs: 1e12 })).toThrow(/timeoutMs/);
    expect(() => store.future({ pollMs: 0 })).toThrow(/pollMs/);
  });
});

describe('a future’s proxy in another thread or process', () => {
  it('blocks a worker thread’s synchronous first touch until the main thread sets the value (file store)', async () => {
    const store = track(new Store('futures-file', new FileConnector({ directory: await dirs.make() })));
    const future = store.future<{ total: number; items: number[] }>({ timeoutMs: 10_000 });
    const source = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(${JSON.stringify(path.join(import.meta.dirname, '..', '..', 'dist', 'src', 'index.js'))}).then(({ decodeProxies }) => {
        const { p } = decodeProxies(workerData);
        parentPort.postMessage('waiting');
        parentPort.postMessage({ total: p.total, at: Date.now() });
      });`;
    const worker = new Worker(source, { eval: true, workerData: encodeProxies({ p: future.proxy() }) });
    const messages: unknown[] = [];
    let started: () => void = () => undefined;
    const waiting = new Promise<void>((resolve) => (started = resolve));
    const done = new Promise<{ total: number; at: number }>((resolve, reject) => {
      worker.on('message', (message: unknown) => (messages.push(message), message === 'waiting' ? started() : resolve(message as { total: number; at: number })));
      worker.on('error', reject);
    });
    // However long the worker takes to start on a loaded machine, it then stays blocked until the value is set.
    await waiting;
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(messages).toEqual(['waiting']);
    const setAt = Date.now();
    await future.setResult({ total: 7, items: [1, 2, 4] });
    const got = await done;
    expect(got.total).toBe(7);
    expect(got.at).toBeGreaterThanOrEqual(setAt);
    await worker.terminate();
  });

  it.each(['async', 'sync'])('resolves in another process through Redis once set there (%s)', async (how) => {
    const store = track(new Store('futures-redis', new RedisConnector({ port: redis.port, prefix: `proxystore:fut-${how}:` })));
    const future = store.future<{ total: number; items: number[] }>({ timeoutMs: 20_000 });
    const child = spawn(process.execPath, [READER, how], { stdio: ['pipe', 'pipe', 'inherit'] });
    child.stdin.end(JSON.stringify({ p: future.proxy() }));
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await new Promise<void>((resolve) => {
      const check = (): void => (output.includes('waiting') ? resolve() : void setTimeout(check, 10));
      check();
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const setAt = Date.now();
    await future.setResult({ total: 99, items: [99] });
    await once(child, 'exit');
    const answer = JSON.parse(output.split('\n')[1] as string) as { ok: boolean; total: number; at: number };
    expect(answer).toMatchObject({ ok: true, total: 99 });
    expect(answer.at).toBeGreaterThanOrEqual(setAt);
  });

  it('a reader in another process gets the producer’s error', async () => {
    const store = track(new Store('futures-redis-error', new RedisConnector({ port: redis.port, prefix: 'proxystore:fut-err:' })));
    const future = store.future<{ total: number }>();
    const child = spawn(process.execPath, [READER, 'async'], { stdio: ['pipe', 'pipe', 'inherit'] });
    child.stdin.end(JSON.stringify({ p: future.proxy() }));
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await future.setError(new TypeError('bad input row 7'));
    await once(child, 'exit');
    expect(JSON.parse(output.split('\n')[1] as string)).toMatchObject({ ok: false, name: 'ProxyFutureError', message: expect.stringContaining('TypeError: bad input row 7') as unknown });
  });

  it('a descriptor cannot make its reader wait longer than the bound, or poll faster than 1 ms', () => {
    const store = track(new Store('futures-forged', new MemoryConnector(), { register: true }));
    const descriptor = JSON.parse(JSON.stringify(store.future().proxy())) as Record<string, unknown>;
    expect(descriptor['wait']).toMatchObject({ timeoutMs: 60_000 });
    for (const wait of [{ timeoutMs: 1e12, pollMs: 1, maxPollMs: 10 }, { timeoutMs: 10, pollMs: 0, maxPollMs: 10 }, { timeoutMs: 10, pollMs: 1, maxPollMs: 1e9 }, 'forever']) {
      expect(() => decodeProxies({ ...descriptor, wait } as never)).toThrow(DescriptorError);
    }
  });
});
