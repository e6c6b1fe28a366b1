import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ConnectorError,
  DescriptorError,
  FileConnector,
  SerializationError,
  MemoryConnector,
  Store,
  autoProxy,
  autoProxyEach,
  configureAutoProxy,
  encodeProxies,
  encodeProxiesAsync,
  flushPending,
  getKey,
  getStore,
  isProxy,
  isResolved,
  type Connector,
  type Key,
  type StartedPut,
} from '../../src/index.js';
import { RedisConnector } from '../../runtime/connectors/redis.js';
import { startRedisServer, type RedisServer } from '../../runtime/testing/redis-server.js';
import { run } from './helpers/compilers.js';
import { stagePackage } from './helpers/stage.js';

const SITE = 'src/main.ts:1:1';
const big = (): { values: number[] } => ({ values: Array.from({ length: 2000 }, (_, i) => i) });

const stores: Store[] = [];
function memoryStore(name: string, connector: Connector = new MemoryConnector()): Store {
  const store = new Store(name, connector, { register: true });
  stores.push(store);
  return store;
}

afterEach(async () => {
  configureAutoProxy({});
  vi.restoreAllMocks();
  await Promise.all(stores.splice(0).map((s) => s.close({ clear: true })));
});

describe('autoProxy', () => {
  it('hands every value back untouched while no store is configured', () => {
    const values = [big(), new Float64Array(100_000), [1, 2, 3], 'text', 42, null, undefined];
    for (const value of values) expect(autoProxy(value, SITE, 0)).toBe(value);
    // A store name from the build that nobody registered is no store either.
    expect(autoProxy(values[0], SITE, 0, 'never-registered')).toBe(values[0]);
  });

  it('proxies values at or over the threshold into a populated proxy, written only once it crosses a boundary', async () => {
    const store = memoryStore('auto');
    configureAutoProxy({ store });
    const value = big();
    const getSync = vi.spyOn(store.connector, 'getSync');
    const startPut = vi.spyOn(store.connector as MemoryConnector, 'startPut');
    const p = autoProxy(value, SITE, 1000);
    expect(isProxy(p)).toBe(true);
    expect(isResolved(p)).toBe(true);
    expect(p.values[1999]).toBe(1999);
    expect(getSync).not.toHaveBeenCalled();
    expect(startPut, 'local use writes nothing').not.toHaveBeenCalled();
    // Asking for the key is what a boundary does: the bytes are written then.
    expect(await store.get(getKey(p) as Key)).toEqual(value);
    expect(startPut).toHaveBeenCalledTimes(1);
    // sizeAtLeast counts 8 bytes per number, 1 per container and key: 2000 numbers reach 16,000 but not 17,000.
    expect(autoProxy(big(), SITE, 17_000)).not.toSatisfy(isProxy);
    expect(autoProxy(big(), SITE, 16_000)).toSatisfy(isProxy);
  });

  it('its writes are counted like any put (the same path logs them): store totals and the key\'s own figures (file store, written in the background)', async () => {
    const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'auto-metrics-'));
    const store = new Store('auto-metrics', new FileConnector({ directory }), { register: true, metrics: true });
    stores.push(store);
    configureAutoProxy({ store, threshold: 0 });
    const p = autoProxy(big(), SITE);
    await encodeProxiesAsync([p]);
    const key = getKey(p) as Key;
    const totals = store.metrics();
    expect(totals?.put?.count).toBe(1);
    expect(totals?.['connector.startPut']?.count).toBe(1);
    expect(totals?.put?.totalBytes).toBeGreaterThan(0);
    expect(totals?.['connector.startPut']?.totalBytes).toBe(totals?.put?.totalBytes);
    expect(store.metrics(key)?.put?.count).toBe(1);
    expect(store.metrics(p)?.put?.count).toBe(1);
    await fs.rm(directory, { recursive: true, force: true });
  });

  it('passes primitives, functions and existing proxies through', async () => {
    const store = memoryStore('through');
    configureAutoProxy({ store, threshold: 0 });
    const existing = await store.proxy(big());
    const fn = (): number => 1;
    expect(autoProxy(existing, SITE)).toBe(existing);
    expect(autoProxy(fn, SITE)).toBe(fn);
    expect(autoProxy('x'.repeat(1_000_000), SITE)).toBe('x'.repeat(1_000_000));
  });

  it('never serializes to decide; serializes once, when the proxy first crosses, and writes those bytes', () => {
    const store = memoryStore('sizes');
    configureAutoProxy({ store });
    const serialize = vi.spyOn(store, 'serialize');
    const startPut = vi.spyOn(store.connector as MemoryConnector, 'startPut');
    const small = new Float64Array(10);
    expect(autoProxy(small, SITE, 81)).toBe(small);
    const p = autoProxy(big(), SITE, 100);
    expect(isProxy(p)).toBe(true);
    expect(serialize).not.toHaveBeenCalled();

    encodeProxies([p, { again: p }]);
    encodeProxies(p);
    expect(serialize).toHaveBeenCalledTimes(1);
    expect(startPut.mock.calls[0]?.[0]).toBe(serialize.mock.results[0]?.value);
  });

  it('takes run-time settings over the build options, field by field', () => {
    const built = memoryStore('built');
    const runtime = memoryStore('runtime');
    const value = big();
    expect(getStore(autoProxy(value, SITE, 0, 'built'))).toBe(built);

    configureAutoProxy({ store: 'runtime' });
    expect(getStore(autoProxy(value, SITE, 0, 'built'))).toBe(runtime);

    configureAutoProxy({ threshold: Number.MAX_SAFE_INTEGER });
    expect(autoProxy(value, SITE, 0, 'built')).toBe(value);

    configureAutoProxy({ enabled: false });
    expect(autoProxy(value, SITE, 0, 'built')).toBe(value);

    expect(() => configureAutoProxy({ threshold: -1 })).toThrow(/threshold/);
  });

  it('a value the store cannot serialize works locally; sending it fails with a SerializationError naming the call site', () => {
    const store = memoryStore('unserializable');
    configureAutoProxy({ store, threshold: 0 });
    const value = { callback: (): number => 7 };
    const p = autoProxy(value, 'src/a.ts:3:4');
    expect(p.callback()).toBe(7);
    expect(() => encodeProxies({ p })).toThrow(SerializationError);
    expect(() => encodeProxies({ p })).toThrow(/autoProxy at src\/a\.ts:3:4: the value must be written to store 'unserializable' to cross this boundary, but it cannot be serialized/);
  });

  it('passes values through when the connector cannot choose keys before writing', () => {
    const connector = Object.defineProperty(new MemoryConnector(), 'startPut', { value: undefined });
    const store = memoryStore('no-start-put', connector);
    configureAutoProxy({ store, threshold: 0 });
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const value = big();
    expect(autoProxy(value, SITE)).toBe(value);
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/store 'no-start-put' \(memory connector\) cannot choose keys before writing/);
  });
});

describe('autoProxyEach', () => {
  it('keeps arrays arrays and other iterables lazy', () => {
    const store = memoryStore('each');
    configureAutoProxy({ store, threshold: 1000 });
    const [large, small] = autoProxyEach([big(), { values: [1] }], SITE) as { values: number[] }[];
    expect(isProxy(large) && !isProxy(small)).toBe(true);

    let pulled = 0;
    function* items(): Generator<{ values: number[] }> {
      for (;;) {
        pulled++;
        yield big();
      }
    }
    const lazy = autoProxyEach(items(), SITE)[Symbol.iterator]();
    expect(pulled).toBe(0);
    expect(isProxy(lazy.next().value)).toBe(true);
    expect(pulled).toBe(1);
  });
});

/** A memory connector whose background writes finish only when the test says so. */
class GatedConnector extends MemoryConnector {
  readonly gates: { open: () => void; fail: (error: Error) => void }[] = [];

  override startPut(data: Uint8Array): StartedPut {
    const { key } = super.startPut(data);
    const written = new Promise<void>((resolve, reject) => this.gates.push({ open: resolve, fail: reject }));
    return { key, written };
  }
}

describe('writes that finish after the proxy is made', () => {
  it('the synchronous encoder refuses a proxy whose object is not written yet; the async one waits for it', async () => {
    const connector = new GatedConnector();
    configureAutoProxy({ store: memoryStore('gated', connector), threshold: 0 });
    const p = autoProxy(big(), SITE);
    expect(() => encodeProxies({ p })).toThrow(DescriptorError);
    let encoded: unknown;
    const encoding = encodeProxiesAsync({ p }).then((value) => (encoded = value));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(encoded).toBeUndefined();
    connector.gates[0]?.open();
    await encoding;
    expect((encoded as { p: { key: Key } }).p.key).toBe(getKey(p));
    expect(() => encodeProxies({ p })).not.toThrow();
  });

  it('reports a failed write to whoever sends the proxy, and to flushPending; the next send writes again', async () => {
    const connector = new GatedConnector();
    configureAutoProxy({ store: memoryStore('failing', connector), threshold: 0 });
    const p = autoProxy(big(), SITE);
    const sending = encodeProxiesAsync([p]);
    connector.gates[0]?.fail(new Error('disk full'));
    await expect(sending).rejects.toBeInstanceOf(ConnectorError);
    await expect(flushPending()).resolves.toBeUndefined();
    // Local use never needed the store.
    expect(p.values.length).toBe(2000);
    const retry = encodeProxiesAsync([p]);
    expect(connector.gates).toHaveLength(2);
    connector.gates[1]?.fail(new Error('disk still full'));
    const flushed = flushPending();
    await expect(retry).rejects.toThrow(/disk still full/);
    await expect(flushed).rejects.toThrow(/disk still full/);
  });
});

describe('over the file connector, which writes in the background', () => {
  it('the key is readable by another connector on the directory once encodeProxiesAsync resolves', async () => {
    const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'auto-proxy-file-'));
    try {
      configureAutoProxy({ store: memoryStore('file-auto', new FileConnector({ directory })), threshold: 0 });
      const value = big();
      const p = autoProxy(value, SITE);
      // No I/O can have finished yet: the write is still pending.
      expect(() => encodeProxies(p)).toThrow(/still being written/);
      const encoded = (await encodeProxiesAsync(p)) as unknown as { key: string };
      const elsewhere = new Store('file-elsewhere', new FileConnector({ directory }));
      expect(await elsewhere.get(encoded.key)).toEqual(value);
      await elsewhere.close();
    } finally {
      await fs.rm(directory, { recursive: true, force: true });
    }
  });

  it('JSON.stringify starts the write and hands out the key; flushPending waits until another connector can read it', async () => {
    const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'auto-proxy-json-'));
    try {
      configureAutoProxy({ store: memoryStore('file-json', new FileConnector({ directory })), threshold: 0 });
      const value = big();
      const p = autoProxy(value, SITE);
      expect(await fs.readdir(directory), 'nothing written before the proxy crosses').toEqual([]);
      const text = JSON.stringify({ p });
      await flushPending();
      const elsewhere = new Store('file-json-elsewhere', new FileConnector({ directory }));
      expect(await elsewhere.get((JSON.parse(text) as { p: { key: Key } }).p.key)).toEqual(value);
      await elsewhere.close();
      // The same proxy sent again: the same key, nothing written twice.
      expect(JSON.stringify({ p })).toBe(text);
      expect(await fs.readdir(directory)).toHaveLength(1);
    } finally {
      await fs.rm(directory, { recursive: true, force: true });
    }
  });
});

describe('over Redis, whose writes are asynchronous', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('no other process gets the key before the object is in Redis: encodeProxiesAsync waits for the write', async () => {
    const connector = new RedisConnector({ port: server.port });
    const store = memoryStore('redis-auto', connector);
    await store.exists(`${connector.prefix}warm-up`); // connect first, so the pause below holds back only the write
    configureAutoProxy({ store, threshold: 0 });
    const value = big();

    server.pause();
    let encoded: string | undefined;
    const encoding = encodeProxiesAsync({ data: autoProxy(value, SITE) }).then((e) => (encoded = JSON.stringify(e)));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(encoded, 'no descriptor while the write is held up').toBeUndefined();
    server.resume();
    await encoding;

    // Another process, knowing only the descriptor, finds the object.
    const stage = await stagePackage();
    const script = `
      import { decodeProxies, resolveAsync } from 'ts-proxystore';
      import 'ts-proxystore/connectors/redis';
      const { data } = decodeProxies(JSON.parse(process.argv[1]));
      console.log(JSON.stringify(await resolveAsync(data)));
      process.exit(0);`;
    const child = await run('--input-type=module', ['-e', script, encoded as string], { cwd: stage.root });
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toEqual(value);
  });
});
