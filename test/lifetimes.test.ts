import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ConfigError,
  ContextLifetime,
  LeaseLifetime,
  LifetimeClosedError,
  LifetimeEvictionError,
  ProxyResolveError,
  StaticLifetime,
  Store,
  proxy,
  resolveAsync,
  type Key,
} from '../src/index.js';
import { countingConnector, type CountingHooks } from './helpers/counting-connector.js';

// The fixtures import the package by name, i.e. the build in dist/ (npm test builds first).
const fixture = (name: string): string => path.join(import.meta.dirname, 'fixtures', name);

interface Counted {
  store: Store;
  live: () => number;
}

/** A store over a counting connector; `hooks` lets a test fail an eviction or hold a put until it says so. */
function countingStore(name: string, hooks: CountingHooks = {}): Counted {
  const { connector, live } = countingConnector(hooks);
  const store = new Store(name, connector, { populateTarget: false });
  stores.push(store);
  return { store, live };
}

const stores: Store[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(stores.splice(0).map((s) => s.close({ clear: true })));
});

describe('ContextLifetime', () => {
  it('evicts every key given to it by put, putBatch, proxy, proxyBatch and proxyFromKey when closed', async () => {
    const { store, live } = countingStore('ctx');
    const lifetime = new ContextLifetime(store, { name: 'job' });
    await store.put({ a: 1 }, { lifetime });
    await store.putBatch([{ b: 1 }, { b: 2 }], { lifetime });
    const p = await store.proxy({ c: 1 }, { lifetime });
    await store.proxyBatch([{ d: 1 }], { lifetime });
    const fromKey = store.proxyFromKey<{ e: number }>(await store.put({ e: 1 }), { lifetime });
    const outside = await store.put({ kept: true });
    expect(live()).toBe(7);
    expect(lifetime.done).toBe(false);
    await lifetime.close();
    expect(lifetime.done).toBe(true);
    expect(live()).toBe(1);
    expect(await store.get(outside)).toEqual({ kept: true });
    await expect(resolveAsync(p)).rejects.toBeInstanceOf(ProxyResolveError);
    expect(() => fromKey.e).toThrow(/missing from store 'ctx'/);
  });

  it('close is idempotent: every call gets the same ending', async () => {
    const { store } = countingStore('ctx-idem');
    const lifetime = new ContextLifetime(store);
    await store.put({}, { lifetime });
    const first = lifetime.close();
    expect(lifetime.close()).toBe(first);
    await first;
    expect(lifetime.close()).toBe(first);
  });

  it('a closed lifetime refuses keys with a LifetimeClosedError, and storing with it writes nothing', async () => {
    const { store, live } = countingStore('ctx-closed');
    const lifetime = new ContextLifetime(store, { name: 'done-job' });
    await lifetime.close();
    expect(() => lifetime.addKey('k')).toThrow(new LifetimeClosedError('done-job', `add key "k" of store 'ctx-closed'`));
    expect(() => lifetime.addKey('k')).toThrow(`lifetime 'done-job' has ended: cannot add key "k" of store 'ctx-closed'`);
    await expect(store.put({}, { lifetime })).rejects.toThrow(`lifetime 'done-job' has ended: cannot put into store 'ctx-closed' with it`);
    await expect(store.putBatch([{}], { lifetime })).rejects.toBeInstanceOf(LifetimeClosedError);
    await expect(store.proxy({}, { lifetime })).rejects.toBeInstanceOf(LifetimeClosedError);
    await expect(store.proxyBatch([{}], { lifetime })).rejects.toBeInstanceOf(LifetimeClosedError);
    expect(() => store.proxyFromKey<object>('k', { lifetime })).toThrow(LifetimeClosedError);
    expect(live()).toBe(0);
  });

  it('a lifetime that ends while a put is in flight does not take the new object, which is evicted', async () => {
    let letPutFinish = (): void => undefined;
    const held = new Promise<void>((resolve) => (letPutFinish = resolve));
    const { store, live } = countingStore('ctx-race', { beforePut: () => held });
    const lifetime = new ContextLifetime(store);
    const putting = store.put({ late: true }, { lifetime });
    await lifetime.close();
    letPutFinish();
    await expect(putting).rejects.toBeInstanceOf(LifetimeClosedError);
    expect(live()).toBe(0);
  });

  it('lifetime and evict together is a ConfigError, and nothing is stored', async () => {
    const { store, live } = countingStore('ctx-evict');
    const lifetime = new ContextLifetime(store);
    await expect(store.proxy({}, { lifetime, evict: true })).rejects.toThrow(
      /store 'ctx-evict': proxy\(\) got both 'lifetime' and 'evict'/,
    );
    await expect(store.proxyBatch([{}], { lifetime, evict: true })).rejects.toBeInstanceOf(ConfigError);
    expect(() => store.proxyFromKey<object>('k', { lifetime, evict: true })).toThrow(ConfigError);
    expect(live()).toBe(0);
    await lifetime.close();
  });

  it('`await using` closes at scope end; `using` starts closing and close() waits for it', async () => {
    const { store, live } = countingStore('ctx-using');
    {
      await using lifetime = new ContextLifetime(store);
      await store.put({}, { lifetime });
    }
    expect(live()).toBe(0);
    let kept: ContextLifetime | undefined;
    {
      using lifetime = new ContextLifetime(store);
      kept = lifetime;
      await store.put({}, { lifetime });
    }
    expect(kept.done).toBe(true);
    await kept.close();
    expect(live()).toBe(0);
  });

  it('holds keys of several stores; addProxy takes store proxies only', async () => {
    const one = countingStore('ctx-one');
    const two = countingStore('ctx-two');
    const lifetime = new ContextLifetime(one.store);
    lifetime.addKey(await one.store.put({}));
    lifetime.addKey(await two.store.put({}), two.store);
    lifetime.addProxy(await two.store.proxy({}));
    expect(() => lifetime.addProxy(proxy(() => ({})))).toThrow(ConfigError);
    expect(() => lifetime.addProxy({})).toThrow(/addProxy\(\) takes a proxy made by a Store/);
    await lifetime.close();
    expect(one.live() + two.live()).toBe(0);
  });

  it('a failed eviction names the key and store; the other keys are still evicted', async () => {
    const failing = new Set<Key>();
    const { store, live } = countingStore('ctx-fail', {
      beforeEvict: (key) => {
        if (failing.has(key)) throw new Error('disk on fire');
      },
    });
    const lifetime = new ContextLifetime(store, { name: 'fragile' });
    const bad = await store.put({}, { lifetime });
    failing.add(bad);
    await store.putBatch([{}, {}], { lifetime });
    const error = await lifetime.close().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LifetimeEvictionError);
    expect((error as LifetimeEvictionError).failures.map((f) => f.key)).toEqual([bad]);
    expect((error as Error).message).toMatch(
      new RegExp(`lifetime 'fragile' could not evict 1 of 3 keys: key ${JSON.stringify(bad)} of store 'ctx-fail' \\(.*disk on fire\\)`),
    );
    expect(live()).toBe(1);
  });
});

describe('LeaseLifetime', () => {
  it('evicts at expiry', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const { store, live } = countingStore('lease');
    const lease = new LeaseLifetime(store, { expiry: 1_000 });
    await store.put({}, { lifetime: lease });
    vi.advanceTimersByTime(999);
    expect(lease.done).toBe(false);
    vi.advanceTimersByTime(1);
    expect(lease.done).toBe(true);
    await lease.close();
    expect(live()).toBe(0);
  });

  it('extend pushes the expiry further', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const { store } = countingStore('lease-extend');
    const lease = new LeaseLifetime(store, { expiry: 1_000 });
    const expiry = lease.expiry.getTime();
    vi.advanceTimersByTime(900);
    lease.extend(500);
    expect(lease.expiry.getTime()).toBe(expiry + 500);
    vi.advanceTimersByTime(599);
    expect(lease.done).toBe(false);
    vi.advanceTimersByTime(1);
    expect(lease.done).toBe(true);
    await lease.close();
  });

  it('an expiry beyond what one timer can wait is kept', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const { store } = countingStore('lease-far');
    const far = 2 ** 31 + 5_000;
    const lease = new LeaseLifetime(store, { expiry: new Date(Date.now() + far) });
    vi.advanceTimersByTime(2 ** 31 - 1);
    expect(lease.done).toBe(false);
    vi.advanceTimersByTime(far - (2 ** 31 - 1));
    expect(lease.done).toBe(true);
    await lease.close();
  });

  it('a far expiry neither ends early nor overflows the timer', async () => {
    const { store } = countingStore('lease-overflow');
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      const lease = new LeaseLifetime(store, { expiry: 2 ** 31 + 60_000 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(lease.done).toBe(false);
      expect(warnings).not.toContain('TimeoutOverflowWarning');
      await lease.close();
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('a past Date ends it at once; closing early cancels its timer', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const { store } = countingStore('lease-past');
    const past = new LeaseLifetime(store, { expiry: new Date(Date.now() - 1) });
    expect(past.done).toBe(true);
    const early = new LeaseLifetime(store, { expiry: 10_000 });
    expect(vi.getTimerCount()).toBe(1);
    await early.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('extending an ended lease is a LifetimeClosedError; bad expiries and extensions are ConfigErrors', async () => {
    const { store } = countingStore('lease-errors');
    const lease = new LeaseLifetime(store, { expiry: 60_000, name: 'short' });
    expect(() => lease.extend(-1)).toThrow(ConfigError);
    expect(() => lease.extend(Number.NaN)).toThrow(/extend\(\) takes a finite, non-negative number of milliseconds/);
    await lease.close();
    expect(() => lease.extend(10)).toThrow(new LifetimeClosedError('short', 'extend it by 10 ms'));
    expect(() => new LeaseLifetime(store, { expiry: Number.POSITIVE_INFINITY })).toThrow(ConfigError);
    expect(() => new LeaseLifetime(store, { expiry: new Date('nonsense') })).toThrow(/expiry must be a finite number of milliseconds or a valid Date/);
  });

  it('an expiry of now or in the past (0, a negative duration, a past Date) ends the lease at once', async () => {
    const { store } = countingStore('lease-past');
    for (const expiry of [0, -1, new Date(0)]) {
      const lease = new LeaseLifetime(store, { expiry });
      expect(lease.done, `expiry ${String(expiry)}`).toBe(true);
      const key = await store.put({ v: String(expiry) });
      expect(() => lease.addKey(key, store)).toThrow(LifetimeClosedError);
      await lease.close();
      // Nothing was added, so nothing was evicted: the key is still the caller's.
      expect(await store.exists(key)).toBe(true);
    }
  });

  it('a pending lease does not keep the process alive', async () => {
    const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'lease-child-'));
    try {
      const started = performance.now();
      const { stdout } = await promisify(execFile)(process.execPath, [fixture('lifetime-lease.mjs'), directory], { timeout: 20_000 });
      expect(performance.now() - started).toBeLessThan(10_000);
      expect(stdout).toMatch(/^stored /);
      // The lease never ended, so its object is still there.
      expect(await fs.readdir(directory)).toHaveLength(1);
    } finally {
      await fs.rm(directory, { recursive: true, force: true });
    }
  });
});

describe('StaticLifetime', () => {
  it('is one per process until closed; its exit hooks exist only while it holds keys', async () => {
    const { store, live } = countingStore('static-here');
    const lifetime = StaticLifetime.instance();
    expect(StaticLifetime.instance()).toBe(lifetime);
    const listeners = (): number[] => ['beforeExit', 'SIGINT', 'SIGTERM'].map((event) => process.listenerCount(event));
    await new Promise((resolve) => setImmediate(resolve)); // holding nothing, it installs nothing, now or later
    const before = listeners();
    await store.put({}, { lifetime });
    expect(listeners()).toEqual(before.map((n) => n + 1));
    await lifetime.close();
    expect(listeners()).toEqual(before);
    expect(live()).toBe(0);
    expect(() => lifetime.addKey('k', store)).toThrow(LifetimeClosedError);
    const next = StaticLifetime.instance();
    expect(next).not.toBe(lifetime);
    expect(next.done).toBe(false);
  });

  it('close({ closeStores }) also closes the stores of its keys', async () => {
    const { store } = countingStore('static-close');
    const lifetime = StaticLifetime.instance();
    lifetime.addProxy(await store.proxy({}));
    await lifetime.close({ closeStores: true });
    expect(store.closed).toBe(true);
  });

  interface Ending {
    code: number | null;
    signal: NodeJS.Signals | null;
    left: string[];
    closed: boolean;
    stderr: string;
  }

  /** Runs the fixture, waits until it has stored its objects, ends it as `mode` says and reports what is left. */
  async function runStatic(mode: string, closeStores: boolean): Promise<Ending> {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'static-child-'));
    const directory = path.join(root, 'objects');
    const marker = path.join(root, 'closed');
    try {
      const child = spawn(process.execPath, [fixture('lifetime-static.mjs'), directory, mode, closeStores ? '1' : '0', marker]);
      let stdout = '';
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const ready = new Promise<void>((resolve) => {
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          if (stdout.includes('\n')) resolve();
        });
      });
      const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      await Promise.race([ready, exited]);
      expect(stdout).toBe('ready 4\n');
      if (mode !== 'exit') child.kill(mode === 'SIGINT-handled' ? 'SIGINT' : (mode as NodeJS.Signals));
      const [code, signal] = await exited;
      const closed = await fs.access(marker).then(() => true, () => false);
      return { code, signal, left: await fs.readdir(directory), closed, stderr };
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  }

  it('evicts at a normal exit, closing the stores when asked', async () => {
    expect(await runStatic('exit', true)).toEqual({ code: 0, signal: null, left: [], closed: true, stderr: '' });
  });

  it('evicts on SIGINT, then ends by that signal', async () => {
    expect(await runStatic('SIGINT', false)).toEqual({ code: null, signal: 'SIGINT', left: [], closed: false, stderr: '' });
  });

  it('evicts on SIGTERM, then ends by that signal', async () => {
    expect(await runStatic('SIGTERM', true)).toEqual({ code: null, signal: 'SIGTERM', left: [], closed: true, stderr: '' });
  });

  it('leaves the exit to the application when it handles the signal itself', async () => {
    expect(await runStatic('SIGINT-handled', false)).toEqual({ code: 7, signal: null, left: [], closed: false, stderr: '' });
  });
});
