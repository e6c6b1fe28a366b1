/**
 * Futures in shared memory: the key is a cell (shared-memory-cell.ts) that any
 * thread of the process can set, and readers wait on a word of it with
 * Atomics.wait / waitAsync instead of polling. Real worker threads throughout.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SharedMemoryConnector } from '../../runtime/connectors/shared-memory/connector.js';
import { ConnectorError, ProxyFutureError } from '../../runtime/errors.js';
import { ownedProxy, update } from '../../runtime/store/ownership.js';
import { getKey, resolveAsync } from '../../runtime/proxy/proxy.js';
import { encodeProxies } from '../../runtime/store/references.js';
import { Store } from '../../runtime/store/store.js';
import { startWorker, type WorkerClient } from '../helpers/worker-client.js';

const FIXTURE = path.join(import.meta.dirname, '..', 'fixtures', 'shm-future-worker.mjs');
const workers: WorkerClient[] = [];
const stores: Store[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((client) => client.terminate()));
  for (const store of stores.splice(0)) await store.close({ clear: true });
});

function worker(): WorkerClient {
  const client = startWorker(FIXTURE);
  workers.push(client);
  return client;
}
function shmStore(name: string): Store {
  const store = new Store(name, new SharedMemoryConnector({ space: `futures-${name}-${crypto.randomUUID()}` }), { cacheSize: 0 });
  stores.push(store);
  return store;
}
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Waited {
  ok: boolean;
  total?: number;
  at?: number;
  reads: number;
  name?: string;
  cause?: string;
  message?: string;
}

/** Starts a wait in `client`; returns once the worker is about to wait, with the wait's outcome to come (wrapped, so awaiting this does not await it). */
async function startWait(client: WorkerClient, encoded: unknown, how: 'sync' | 'async'): Promise<{ waited: Promise<Waited> }> {
  const ready = new SharedArrayBuffer(4);
  const waited = client.call<Waited>('wait', { encoded, how, ready });
  while (Atomics.load(new Int32Array(ready), 0) === 0) await sleep(2);
  return { waited };
}

describe('shared-memory futures across worker threads', () => {
  it('wakes a worker blocked on first touch and one awaiting, on one setResult, without polling meanwhile', async () => {
    const store = shmStore('wake');
    const future = store.future<{ total: number }>({ timeoutMs: 10_000 });
    const encoded = encodeProxies({ p: future.proxy() });
    const [blocked, awaiting] = [worker(), worker()];
    const waits = [(await startWait(blocked, encoded, 'sync')).waited, (await startWait(awaiting, encoded, 'async')).waited];
    // Long enough for backed-off polls (1, 2, 4, 8, 10, 10 … ms) to have read the key about 30 times.
    await sleep(300);
    const setAt = performance.timeOrigin + performance.now();
    await future.setResult({ total: 42 });
    for (const waited of await Promise.all(waits)) {
      expect(waited).toMatchObject({ ok: true, total: 42 });
      expect(waited.at).toBeGreaterThanOrEqual(setAt);
      // One read before the wait, one after the wake (two for an async read that first finds the cell to wait on).
      expect(waited.reads).toBeLessThanOrEqual(3);
    }
  });

  it('a worker sets a future made here, waking this thread’s async wait; every thread then reads the value', async () => {
    const store = shmStore('set-in-worker');
    const future = store.future<{ total: number; rows: number[] }>({ timeoutMs: 10_000 });
    const encoded = encodeProxies({ p: future.proxy() });
    const waiting = future.result();
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    await sleep(50);
    const producer = worker();
    const { at } = await producer.call<{ at: number }>('set', { encoded, value: { total: 7, rows: [1, 2, 4] } });
    expect(await waiting).toEqual({ total: 7, rows: [1, 2, 4] });
    clearInterval(ticker);
    expect(ticks).toBeGreaterThan(3); // the wait did not block this thread
    expect(performance.timeOrigin + performance.now()).toBeGreaterThanOrEqual(at);
    expect((await resolveAsync(future.proxy())).total).toBe(7);
    const late = await startWait(worker(), encoded, 'sync');
    expect(await late.waited).toMatchObject({ ok: true, total: 7, reads: 1 });
  });

  it('passes a producer’s error to a worker waiting synchronously', async () => {
    const store = shmStore('error');
    const future = store.future<{ total: number }>({ timeoutMs: 10_000 });
    const { waited } = await startWait(worker(), encodeProxies({ p: future.proxy() }), 'sync');
    await sleep(50);
    await future.setError(new RangeError('row 3 is out of range'));
    expect(await waited).toMatchObject({ ok: false, cause: 'ProxyFutureError', message: expect.stringContaining('row 3 is out of range') as unknown });
    await expect(future.result()).rejects.toBeInstanceOf(ProxyFutureError);
  });

  it('times out a blocked worker at the future’s timeout, not before', async () => {
    const store = shmStore('timeout');
    const future = store.future<{ total: number }>({ timeoutMs: 150 });
    const t0 = performance.now();
    const { waited: outcome } = await startWait(worker(), encodeProxies({ p: future.proxy() }), 'sync');
    const waited = await outcome;
    expect(waited).toMatchObject({ ok: false, cause: 'ProxyFutureTimeoutError' });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  it('evicting the future’s key frees its value for every thread; the key cannot be set again', async () => {
    const store = shmStore('evict');
    const future = store.future<{ total: number }>();
    const encoded = encodeProxies({ p: future.proxy() });
    const other = worker();
    expect(await other.call('exists', { encoded })).toBe(false);
    await future.setResult({ total: 1 });
    expect(await other.call('exists', { encoded })).toBe(true);
    await store.evict(future.key);
    expect(await other.call('exists', { encoded })).toBe(false);
    expect(await store.get(future.key)).toBeUndefined();
    await expect(store.set(future.key, { total: 2 })).rejects.toThrow(/evicted/);
  });

  it('overwrites only keys from newKey; update() of an owned proxy in shared memory still works, under a new key', async () => {
    const store = shmStore('update');
    const connector = store.connector as SharedMemoryConnector;
    const future = store.future<{ n: number }>();
    expect(connector.canSet(future.key)).toBe(true);
    const key = await store.put({ n: 1 });
    expect(connector.canSet(key)).toBe(false);
    await expect(store.set(key, { n: 2 })).rejects.toBeInstanceOf(ConnectorError);
    const owned = await ownedProxy(store, { n: 1 });
    const before = getKey(owned);
    owned.n = 5;
    await update(owned);
    expect(getKey(owned)).not.toEqual(before);
    expect(await store.get(getKey(owned)!)).toEqual({ n: 5 });
  });
});
