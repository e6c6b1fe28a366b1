import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import {
  ConfigError,
  ConnectorError,
  DescriptorError,
  InvalidArgumentError,
  FileConnector,
  MemoryConnector,
  MultiConnector,
  NonProxiableTypeError,
  ProxyResolveError,
  ProxyResolveMissingKeyError,
  SerializationError,
  SharedMemoryConnector,
  Store,
  StoreClosedError,
  StoreExistsError,
  extract,
  getKey,
  getOrCreateStore,
  getStore,
  isProxy,
  isResolved,
  deserialize,
  dispose,
  intoOwned,
  registerClass,
  registerStore,
  resolveAsync,
  serialize,
  unregisterClass,
  unregisterStore,
  type Connector,
  type Key,
  type StoreConfig,
} from '../src/index.js';
import { asyncOnly } from './helpers/async-only.js';
import { RedisConnector } from '../runtime/connectors/redis.js';

const stores: Store[] = [];
function memoryStore(name: string, options: ConstructorParameters<typeof Store>[2] = {}): Store {
  const store = new Store(name, new MemoryConnector(), options);
  stores.push(store);
  return store;
}
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close({ clear: true })));
});

/** A connector that counts reads, to prove what does and does not touch the store. */
function countingConnector(): { connector: Connector; reads: () => number } {
  const inner = new MemoryConnector();
  let reads = 0;
  const connector: Connector = {
    kind: inner.kind,
    put: (d) => inner.put(d),
    putBatch: (d) => inner.putBatch(d),
    get: (k) => { reads++; return inner.get(k); },
    getBatch: (k) => { reads += k.length; return inner.getBatch(k); },
    getSync: (k) => { reads++; return inner.getSync(k); },
    exists: (k) => inner.exists(k),
    evict: (k) => inner.evict(k),
    config: () => inner.config(),
    close: (o) => inner.close(o),
  };
  return { connector, reads: () => reads };
}

describe('Store basics', () => {
  it('puts and gets values of many types', async () => {
    const store = memoryStore('basics');
    const values = [new Float64Array([1.5, 2.5]), new Map([['a', 1]]), { nested: [1, 'two', new Date(5)] }, 'text', 42n];
    const keys = await Promise.all(values.map((v) => store.put(v)));
    for (const [i, key] of keys.entries()) expect(await store.get(key)).toEqual(values[i]);
  });

  it('returns undefined for a missing key, and exists/evict agree', async () => {
    const store = memoryStore('missing');
    const key = await store.put({ a: 1 });
    expect(await store.exists(key)).toBe(true);
    await store.evict(key);
    expect(await store.exists(key)).toBe(false);
    expect(await store.get(key)).toBeUndefined();
    await expect(store.evict(key)).resolves.toBeUndefined();
  });

  it('releaseViews drops just that object from the cache, the last one as any other', async () => {
    const { connector, reads } = countingConnector();
    const store = new Store('release-views-cache', connector);
    stores.push(store);
    const [a, b] = await store.putBatch([{ a: 1 }, { b: 2 }]);
    await store.get(a as Key);
    await store.get(b as Key);
    expect(store.stats().cache.objects).toBe(2);
    store.releaseViews(a as Key);
    expect(store.stats().cache.objects).toBe(1);
    // b stayed: read again from the cache, not the connector.
    const before = reads();
    expect(await store.get(b as Key)).toEqual({ b: 2 });
    expect(reads()).toBe(before);
    // The last entry goes too (lru-cache pops it rather than resetting itself), and the store caches again afterwards.
    store.releaseViews(b as Key);
    expect(store.stats().cache).toMatchObject({ objects: 0, bytes: 0 });
    expect(await store.get(a as Key)).toEqual({ a: 1 });
    expect(reads()).toBe(before + 1);
    expect(await store.get(a as Key)).toEqual({ a: 1 });
    expect(reads()).toBe(before + 1);
    expect(store.stats().cache.objects).toBe(1);
  });

  it('getNow gives what get would when nothing need wait: the cache, shared memory at hand; null when only get can tell', async () => {
    const { connector, reads } = countingConnector();
    const counted = new Store('get-now-counted', connector);
    stores.push(counted);
    const k = await counted.put({ a: 1 });
    // A connector without getNow: only get can tell, and getNow reads nothing.
    expect(counted.getNow(k)).toBeNull();
    expect(reads()).toBe(0);
    expect(await counted.get(k)).toEqual({ a: 1 });
    expect(counted.getNow(k)).toEqual({ a: 1 });
    expect(reads()).toBe(1);
    const shared = new Store('get-now-shared', new SharedMemoryConnector(), { cacheSize: 0 });
    stores.push(shared);
    const key = await shared.put(Float64Array.of(1, 2));
    expect(Array.from(shared.getNow<Float64Array>(key) ?? [])).toEqual([1, 2]);
    await shared.evict(key);
    expect(shared.getNow(key)).toBeUndefined();
    await shared.close();
    expect(() => shared.getNow(key)).toThrow(StoreClosedError);
  });

  it('a proxy resolved from what the store has at once settles as a promise, also when the object is gone', async () => {
    const shared = new Store('get-now-proxies', new SharedMemoryConnector(), { cacheSize: 0 });
    stores.push(shared);
    const held = await shared.proxy(Float64Array.of(3), { populateTarget: false });
    expect(Array.from(await resolveAsync(held))).toEqual([3]);
    const gone = await shared.proxy(Float64Array.of(4), { populateTarget: false });
    await shared.evict(getKey(gone) as Key);
    const resolving = resolveAsync(gone);
    await expect(resolving).rejects.toBeInstanceOf(ProxyResolveError);
    await expect(resolving).rejects.toHaveProperty('cause', expect.any(ProxyResolveMissingKeyError));
  });

  it('evict clears the cache too', async () => {
    const store = memoryStore('evict-cache');
    const key = await store.put({ a: 1 });
    expect(await store.get(key)).toEqual({ a: 1 }); // now cached
    await store.evict(key);
    expect(await store.get(key)).toBeUndefined();
  });

  it('raises SerializationError naming key and store for corrupt bytes, and loses nothing', async () => {
    const store = memoryStore('corrupt');
    const key = await store.connector.put(new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
    const error = await store.get(key).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as Error).message).toContain(JSON.stringify(key));
    expect((error as Error).message).toContain("'corrupt'");
    expect(await store.exists(key)).toBe(true);
  });

  it('raises SerializationError for values the serializer cannot encode', async () => {
    const store = memoryStore('unencodable');
    await expect(store.put({ f: () => 1 })).rejects.toBeInstanceOf(SerializationError);
  });

  it('putBatch/getBatch keep order and report missing keys as undefined', async () => {
    const store = memoryStore('batch');
    const keys = await store.putBatch([{ i: 0 }, { i: 1 }, { i: 2 }]);
    await store.evict(keys[1] as Key);
    expect(await store.getBatch(keys)).toEqual([{ i: 0 }, undefined, { i: 2 }]);
  });

  it('caches deserialized objects with LRU eviction', async () => {
    const { connector, reads } = countingConnector();
    const store = new Store('lru', connector, { cacheSize: 2 });
    stores.push(store);
    const [a, b, c] = await store.putBatch([{ v: 'a' }, { v: 'b' }, { v: 'c' }]) as [Key, Key, Key];
    await store.get(a);
    await store.get(a);
    expect(reads()).toBe(1);
    await store.get(b);
    await store.get(c); // pushes a out
    await store.get(a);
    expect(reads()).toBe(4);
  });

  it('keeps cached objects within cacheBytes of encoded size, and never caches a bigger one', async () => {
    const { connector, reads } = countingConnector();
    const store = new Store('budget', connector, { cacheBytes: 3000 });
    stores.push(store);
    const [a, b, big] = (await store.putBatch([new Uint8Array(1000), new Uint8Array(1000), new Uint8Array(5000)])) as [Key, Key, Key];
    await store.get(a);
    await store.get(b);
    await store.get(a);
    await store.get(b);
    expect(reads()).toBe(2);
    await store.get(big);
    await store.get(big);
    expect(reads()).toBe(4);
    const c = await store.put(new Uint8Array(1500));
    await store.get(c); // 1016 + 1016 + 1516 bytes is over budget: pushes out the least recently used
    await store.get(a);
    expect(reads()).toBe(6);
    expect(store.config().cacheBytes).toBe(3000);
  });

  it('cacheSize 0 disables the cache', async () => {
    const { connector, reads } = countingConnector();
    const store = new Store('nocache', connector, { cacheSize: 0 });
    stores.push(store);
    const key = await store.put({ v: 1 });
    await store.get(key);
    await store.get(key);
    expect(reads()).toBe(2);
  });

  it('rejects bad options with ConfigError', () => {
    expect(() => new Store('', new MemoryConnector())).toThrow(ConfigError);
    expect(() => new Store('x', new MemoryConnector(), { cacheSize: -1 })).toThrow(/cacheSize/);
    expect(() => new Store('x', new MemoryConnector(), { cacheBytes: 0.5 })).toThrow(/store 'x': cacheBytes must be a non-negative whole number of bytes, got 0.5/);
    expect(() => new Store('x', {} as Connector)).toThrow(/Connector interface/);
    expect(() => new Store('x', new MemoryConnector(), { serializer: () => new Uint8Array() })).toThrow(/deserializer/);
  });
});

describe('Store proxies', () => {
  it('populated proxies never touch the store for local use', async () => {
    const { connector, reads } = countingConnector();
    const store = new Store('populated', connector);
    stores.push(store);
    const p = await store.proxy({ x: 1, list: [1, 2, 3] });
    expect(isProxy(p)).toBe(true);
    expect(isResolved(p)).toBe(true);
    expect(p.x + p.list.length).toBe(4);
    expect(reads()).toBe(0);
    expect(await store.get(getKey(p) as Key)).toEqual({ x: 1, list: [1, 2, 3] });
  });

  it('unpopulated proxies read the store once, on first use', async () => {
    const { connector, reads } = countingConnector();
    const store = new Store('lazy', connector, { populateTarget: false, cacheSize: 0 });
    stores.push(store);
    const p = await store.proxy(new Float64Array([1, 2, 3]));
    expect(isResolved(p)).toBe(false);
    expect(p instanceof Float64Array).toBe(true);
    expect(reads()).toBe(0);
    expect(p[1]).toBe(2);
    expect(p.length).toBe(3);
    expect(reads()).toBe(1);
  });

  it('evict: true deletes the object once the proxy resolves', async () => {
    const store = memoryStore('evict-proxy');
    const p = await store.proxy({ v: 7 }, { evict: true, populateTarget: false });
    const key = getKey(p) as Key;
    expect(await store.exists(key)).toBe(true);
    expect(await resolveAsync(p)).toEqual({ v: 7 });
    expect(await store.exists(key)).toBe(false);
  });

  it('evict: true also deletes after a synchronous resolution', async () => {
    const store = memoryStore('evict-sync');
    const p = await store.proxy({ v: 8 }, { evict: true, populateTarget: false });
    expect(p.v).toBe(8);
    await new Promise((r) => setImmediate(r));
    expect(await store.exists(getKey(p) as Key)).toBe(false);
  });

  it('refuses to hand back the proxy of a thenable through a promise, which would call its then; proxyBatch carries one', async () => {
    const store = memoryStore('thenable');
    let called = 0;
    class Query {
      constructor(readonly sql: string) {}
      then(resolve: (rows: string) => void): void {
        called++;
        resolve(`rows of ${this.sql}`);
      }
    }
    registerClass(Query, 'test.Query');
    onTestFinished(() => unregisterClass('test.Query'));
    const query = new Query('select 1');
    const stored = (): number => (store.connector as MemoryConnector).list().length;
    await expect(store.proxy(query)).rejects.toThrow(InvalidArgumentError);
    await expect(store.proxy(query)).rejects.toThrow(/has a then method.*proxyBatch/);
    await expect(store.ownedProxy(query)).rejects.toThrow(InvalidArgumentError);
    expect(called).toBe(0);
    expect(stored()).toBe(0);
    const [p] = await store.proxyBatch([query], { populateTarget: false });
    expect(isProxy(p)).toBe(true);
    expect(p.sql).toBe('select 1');
    await expect(intoOwned(p)).rejects.toThrow(/OwnedProxy of a thenable/);
  });

  it('a key whose members come in another order is the same key to the cache: evicting through it leaves nothing cached', async () => {
    const store = new Store('key-order', new MultiConnector({ connectors: { small: { connector: new MemoryConnector(), policy: {} } } }));
    stores.push(store);
    const key = (await store.put({ v: 1 })) as { c: string; k: string };
    expect(await store.get(key)).toEqual({ v: 1 });
    const reordered = { k: key.k, c: key.c };
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(key));
    await store.evict(reordered);
    expect(await store.exists(key)).toBe(false);
    expect(await store.get(key)).toBeUndefined();
  });

  it('proxyBatch makes one proxy per object', async () => {
    const store = memoryStore('proxy-batch');
    const ps = await store.proxyBatch([{ i: 1 }, { i: 2 }]);
    expect(ps.map((p) => p.i)).toEqual([1, 2]);
    expect(new Set(ps.map((p) => getKey(p))).size).toBe(2);
  });

  it('proxyFromKey does no I/O until used, and a missing key names key and store', async () => {
    const { connector, reads } = countingConnector();
    const store = new Store('from-key', connector);
    stores.push(store);
    const key = await store.put([1, 2, 3]);
    const p = store.proxyFromKey<number[]>(key, { metadata: { kind: 'array' } });
    expect(Array.isArray(p)).toBe(true);
    expect(reads()).toBe(0);
    expect([...p]).toEqual([1, 2, 3]);
    const missing = store.proxyFromKey<{ a: number }>('no-such-key');
    const error = (() => { try { return missing.a; } catch (e) { return e; } })();
    expect(error).toBeInstanceOf(ProxyResolveError);
    const cause = (error as ProxyResolveError).cause;
    expect(cause).toBeInstanceOf(ProxyResolveMissingKeyError);
    expect((cause as ProxyResolveMissingKeyError).key).toBe('no-such-key');
    expect((cause as ProxyResolveMissingKeyError).storeName).toBe('from-key');
  });

  it('awaiting a proxyFromKey proxy, or making it an owner, reads nothing: it is taken as not thenable unless told', async () => {
    const { connector, reads } = countingConnector();
    const store = new Store('from-key-await', connector, { cacheSize: 0 });
    stores.push(store);
    const key = await store.put({ v: 'value' });
    const p = store.proxyFromKey<{ v: string }>(key);
    // Adoption by a promise (await, an async function's return) looks for a `then`.
    expect(await Promise.resolve(p)).toBe(p);
    const owner = await intoOwned(store.proxyFromKey<{ v: string }>(key));
    expect(isResolved(owner)).toBe(false);
    expect(reads()).toBe(0);
    expect(owner.v).toBe('value');
    // A key whose object is thenable says so, and awaiting then reads it to call its `then`.
    const thenableKey = await store.put(new Date(0));
    const told = store.proxyFromKey<Date>(thenableKey, { metadata: { kind: 'object', thenable: true } });
    expect(await Promise.resolve(told)).toBe(told);
    expect(reads()).toBe(2);
    await dispose(owner);
  });

  it('refuses primitives unless skipNonProxiable', async () => {
    const store = memoryStore('primitives');
    // @ts-expect-error primitives are not proxiable
    await expect(store.proxy(5)).rejects.toBeInstanceOf(NonProxiableTypeError);
    // @ts-expect-error primitives are not proxiable
    await expect(store.proxy(null)).rejects.toThrow(/null/);
    // @ts-expect-error primitives are not proxiable
    expect(await store.proxy('s', { skipNonProxiable: true })).toBe('s');
  });
});

describe('proxies inside stored values', () => {
  it('a value holding proxies (in a field, an array, a Map) is stored with their descriptors and read back with lazy proxies', async () => {
    const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'nested-proxies-'));
    const store = new Store('nested', new FileConnector({ directory }), { cacheSize: 0 });
    stores.push(store);
    const weights = await store.proxy(new Float64Array([1, 2, 3]));
    const key = await store.put({ name: 'model', weights, list: [weights], byName: new Map([['w', weights]]) });
    const back = (await store.get(key)) as { name: string; weights: Float64Array; list: Float64Array[]; byName: Map<string, Float64Array> };
    expect(back.name).toBe('model');
    expect(isProxy(back.weights)).toBe(true);
    expect(isResolved(back.weights)).toBe(false);
    expect(Array.from(back.weights)).toEqual([1, 2, 3]);
    expect(isProxy(back.list[0])).toBe(true);
    expect(back.byName.get('w')?.[2]).toBe(3);
    // A proxy of a value that holds one: ProxyStore's proxy of an object with proxies inside.
    const holder = await store.proxy({ inner: weights }, { populateTarget: false });
    expect(holder.inner.length).toBe(3);
    expect(getKey(back.weights)).toEqual(getKey(weights));
  });

  it('refuses an owner or a borrow inside a value, and leaves the owner as it was', async () => {
    const store = memoryStore('nested-owned');
    await using owned = await store.ownedProxy({ a: 1 });
    await expect(store.put({ owned })).rejects.toThrow(/an OwnedProxy or a borrow .* cannot be stored inside a value/);
    await expect(store.proxy({ list: [owned] })).rejects.toBeInstanceOf(SerializationError);
    expect(owned.a).toBe(1);
  });

  it('checks the descriptors inside a value as any from elsewhere: one naming a host the reader does not allow is a SerializationError', async () => {
    // Connections are lazy: this store reaches nobody, and its proxy from a key reads nothing.
    const elsewhere = new Store('nested-remote', new RedisConnector({ host: '10.20.30.40', prefix: 'proxystore:nested:' }));
    try {
      const frame = serialize({ p: elsewhere.proxyFromKey<{ secret: number }>('proxystore:nested:k') });
      let error: unknown;
      try {
        deserialize(frame);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(SerializationError);
      expect((error as Error).message).toMatch(/a proxy stored inside the value cannot be read back: .*10\.20\.30\.40/);
      expect((error as Error).cause).toBeInstanceOf(DescriptorError);
    } finally {
      await elsewhere.close();
    }
  });
});

describe('Store connectors and errors', () => {
  it('wraps connector failures in ConnectorError naming connector, store, operation and key', async () => {
    const broken: Connector = {
      kind: 'memory',
      get: () => Promise.reject(new Error('disk on fire')),
      put: () => Promise.reject(new Error('disk on fire')),
      putBatch: () => Promise.reject(new Error('x')),
      getBatch: () => Promise.reject(new Error('x')),
      exists: () => Promise.reject(new Error('x')),
      evict: () => Promise.reject(new Error('x')),
      config: () => ({ kind: 'memory', options: {} }),
      close: () => Promise.resolve(),
    };
    const store = new Store('broken', broken);
    const error = (await store.get('k1').catch((e: unknown) => e)) as ConnectorError;
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error.operation).toBe('get');
    expect(error.key).toBe('k1');
    expect(error.message).toMatch(/memory connector of store 'broken'.*get of key "k1".*disk on fire/);
    await expect(store.put({ a: 1 })).rejects.toThrow(/put failed: disk on fire/);
  });

  it('a connector without getSync resolves through resolveAsync and says so on sync use', async () => {
    const store = new Store('async-only', asyncOnly(new MemoryConnector()), { populateTarget: false });
    stores.push(store);
    const p1 = await store.proxy({ v: 1 });
    expect(() => p1.v).toThrow(/resolveAsync/);
    const p2 = await store.proxy({ v: 2 });
    expect((await resolveAsync(p2)).v).toBe(2);
    expect(p2.v).toBe(2);
  });

  it('reads and evicts through getNow and evictNow where the connector can, falling back to get and evict where it would wait; a stored null is a value', async () => {
    const inner = new MemoryConnector();
    const asked: string[] = [];
    let now: (key: Key) => Uint8Array | undefined | null = (key) => inner.getSync(key);
    const connector: Connector = {
      kind: inner.kind,
      put: (d) => inner.put(d),
      putBatch: (d) => inner.putBatch(d),
      get: (key) => (asked.push('get'), inner.get(key)),
      getNow: (key) => (asked.push('getNow'), now(key)),
      evict: (key) => (asked.push('evict'), inner.evict(key)),
      evictNow: (key) => {
        asked.push('evictNow');
        if (now(key) === null) return false;
        void inner.evict(key);
        return true;
      },
      getBatch: (keys) => inner.getBatch(keys),
      exists: (key) => inner.exists(key),
      config: () => inner.config(),
      close: (o) => inner.close(o),
    };
    const store = new Store('reads-now', connector, { cacheSize: 0 });
    stores.push(store);
    const key = await store.put({ v: 1 });
    expect(await store.get(key)).toEqual({ v: 1 });
    expect(asked).toEqual(['getNow']);
    expect(await store.get(await store.put(null))).toBeNull();
    expect(asked).toEqual(['getNow', 'getNow']);
    now = () => null;
    expect(await store.get(key)).toEqual({ v: 1 });
    expect(asked).toEqual(['getNow', 'getNow', 'getNow', 'get']);
    asked.length = 0;
    await store.evict(key);
    expect(asked).toEqual(['evictNow', 'evict']);
    now = (k) => inner.getSync(k);
    const other = await store.put({ v: 2 });
    asked.length = 0;
    await store.evict(other);
    expect(asked).toEqual(['evictNow']);
    expect(await inner.exists(other)).toBe(false);
    now = () => {
      throw new Error('slab gone');
    };
    const error = (await store.get(key).catch((e: unknown) => e)) as ConnectorError;
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error.operation).toBe('get');
    expect(error.message).toMatch(/slab gone/);
  });

  it('works the same over the file connector', async () => {
    const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'store-test-'));
    const store = new Store('file-store', new FileConnector({ directory }), { populateTarget: false });
    const p = await store.proxy(new Uint8Array([9, 8, 7]));
    expect(Array.from(extract(p))).toEqual([9, 8, 7]);
    await store.close({ clear: true });
    await fs.rm(directory, { recursive: true, force: true });
  });
});

describe('Store.allocate', () => {
  it('gives a plain zeroed array where the connector cannot allocate, which puts and proxies as usual', async () => {
    const store = memoryStore(`alloc-${crypto.randomUUID()}`);
    const grid = store.allocate(Float64Array, 4);
    expect(grid).toBeInstanceOf(Float64Array);
    expect(grid.buffer).toBeInstanceOf(ArrayBuffer);
    expect(Array.from(grid)).toEqual([0, 0, 0, 0]);
    grid.set([1, 2, 3, 4]);
    const key = await store.put(grid);
    grid[0] = 9;
    expect(Array.from((await store.get<Float64Array>(key))!)).toEqual([1, 2, 3, 4]);
  });

  it('gives a plain array to a store with a custom serializer, whose frames it cannot know', () => {
    const connector = new SharedMemoryConnector();
    const store = new Store(`alloc-${crypto.randomUUID()}`, connector, { serializer: (v) => serialize(v), deserializer: deserialize });
    stores.push(store);
    expect(store.allocate(Uint8Array, 8).buffer).toBeInstanceOf(ArrayBuffer);
  });

  it('refuses a bad length with an InvalidArgumentError naming the store, and a closed store with StoreClosedError', async () => {
    const store = memoryStore('alloc-bad');
    expect(() => store.allocate(Float64Array, -1)).toThrow(/store 'alloc-bad'.*got -1/);
    expect(() => store.allocate(Float64Array, 1.5)).toThrow(InvalidArgumentError);
    await store.close();
    expect(() => store.allocate(Float64Array, 1)).toThrow(StoreClosedError);
  });
});

describe('Store lifecycle, config and registry', () => {
  it('round-trips its config through JSON', async () => {
    const store = memoryStore('config', { cacheSize: 4, metrics: true });
    const key = await store.put({ z: 1 });
    const copy = Store.fromConfig(JSON.parse(JSON.stringify(store.config())) as StoreConfig);
    expect(copy.config()).toEqual(store.config());
    expect(await copy.get(key)).toEqual({ z: 1 });
  });

  it('custom serializers work but cannot be rebuilt from config', async () => {
    const store = memoryStore('custom', {
      serializer: (v) => new TextEncoder().encode(JSON.stringify(v)),
      deserializer: (b) => JSON.parse(new TextDecoder().decode(b)) as unknown,
    });
    const key = await store.put({ json: true });
    expect(await store.get(key)).toEqual({ json: true });
    expect(store.config().serializer).toBe('custom');
    expect(() => Store.fromConfig(store.config())).toThrow(/custom serializer/);
  });

  it('close is idempotent, later use is a StoreClosedError, await using closes', async () => {
    const store = new Store('closing', new MemoryConnector());
    await store.close();
    await store.close();
    await expect(store.put({})).rejects.toBeInstanceOf(StoreClosedError);
    let escaped: Store | undefined;
    {
      await using scoped = new Store('scoped', new MemoryConnector());
      escaped = scoped;
    }
    expect(escaped.closed).toBe(true);
  });

  it('registers by name and finds stores by name or proxy', async () => {
    const store = memoryStore('reg', { register: true });
    expect(getStore('reg')).toBe(store);
    expect(() => new Store('reg', new MemoryConnector(), { register: true })).toThrow(StoreExistsError);
    // Registering the same store again is refused too, unless allowed (ProxyStore's exist_ok).
    expect(() => registerStore(store)).toThrow(StoreExistsError);
    registerStore(store, { allowExisting: true });
    expect(getStore('reg')).toBe(store);
    const other = new Store('reg', new MemoryConnector());
    registerStore(other, { allowExisting: true });
    expect(getStore('reg')).toBe(other);
    unregisterStore('reg', store); // not the registered one: no-op
    expect(getStore('reg')).toBe(other);
    const p = await store.proxy({});
    expect(getStore(p)).toBe(store);
    expect(getStore({})).toBeUndefined();
    unregisterStore('reg');
    expect(getStore('reg')).toBeUndefined();
    expect(() => registerStore({ name: 'not-a-store' } as unknown as Store)).toThrow(/registerStore: store must be a Store/);
    expect(getStore('not-a-store')).toBeUndefined();
  });

  it('getOrCreateStore reuses a registered store and builds one otherwise, keeping it by identity without registering its name', async () => {
    const store = memoryStore('goc', { register: true });
    expect(getOrCreateStore(store.config())).toBe(store);
    const config = { ...store.config(), name: 'goc-new' };
    const made = getOrCreateStore(config);
    stores.push(made);
    expect(made).not.toBe(store);
    expect(getOrCreateStore(config)).toBe(made);
    expect(getStore('goc-new')).toBeUndefined();
    await made.close();
    const remade = getOrCreateStore(config);
    stores.push(remade);
    expect(remade).not.toBe(made);
    expect(remade.closed).toBe(false);
  });

  it('reports metrics per operation when enabled', async () => {
    const store = memoryStore('metrics', { metrics: true });
    const key = await store.put(new Uint8Array(1000));
    await store.get(key);
    await store.get(key);
    const m = store.metrics();
    expect(m?.put?.count).toBe(1);
    expect(m?.put?.totalBytes).toBeGreaterThanOrEqual(1000);
    expect(m?.cacheHit?.count).toBe(1);
    expect(m?.cacheMiss?.count).toBe(1);
    expect(m?.serialize?.meanBytes).toBeGreaterThanOrEqual(1000);
    expect(m?.['connector.put']?.count).toBe(1);
    expect(m?.get?.meanMs).toBeGreaterThanOrEqual(0);
    expect(memoryStore('no-metrics').metrics()).toBeUndefined();
  });
});
