/**
 * Reads against evictions and duplicates, on a real file store: an evicted
 * object is never served from the cache, and one object read by many proxies
 * at once is read once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FileConnector, Store, extract, isResolved, resolveAsync, type Connector, type Key } from '../../src/index.js';
import { countingConnector } from '../helpers/counting-connector.js';
import { tempDirs } from '../../runtime/testing/temp-dirs.js';

const dirs = tempDirs('store-reads-');
const stores: Store[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close({ clear: true });
  await dirs.removeAll();
});

/** A file connector that counts the reads that reach it. */
function countedFiles(directory: string): { connector: Connector; reads: () => number } {
  const inner = new FileConnector({ directory });
  let reads = 0;
  const connector: Connector = {
    kind: inner.kind,
    put: (d) => inner.put(d),
    putBatch: (d) => inner.putBatch(d),
    get: (k) => {
      reads++;
      return inner.get(k);
    },
    getSync: (k) => {
      reads++;
      return inner.getSync(k);
    },
    getBatch: (k) => {
      reads += k.length;
      return inner.getBatch(k);
    },
    exists: (k) => inner.exists(k),
    evict: (k) => inner.evict(k),
    config: () => inner.config(),
    close: (o) => inner.close(o),
  };
  return { connector, reads: () => reads };
}

async function fileStore(options: ConstructorParameters<typeof Store>[2] = {}): Promise<{ store: Store; reads: () => number }> {
  const { connector, reads } = countedFiles(await dirs.make());
  const store = new Store(`reads-${crypto.randomUUID()}`, connector, options);
  stores.push(store);
  return { store, reads };
}

describe('evictions against reads in flight', () => {
  it('never serves one of 300 evicted objects from the cache, though gets were in flight during the evictions', async () => {
    const { store } = await fileStore({ cacheSize: 1_000 });
    const keys = await store.putBatch(Array.from({ length: 300 }, (_, i) => ({ i, data: new Float64Array(512).fill(i) })));
    // Each get starts before its eviction and reads the file while the eviction is under way.
    await Promise.all(keys.flatMap((key) => [store.get(key), store.evict(key)]));
    const after = await Promise.all(keys.map((key) => store.get(key)));
    expect(after.filter((value) => value !== undefined)).toHaveLength(0);
    expect(await Promise.all(keys.map((key) => store.exists(key)))).toEqual(keys.map(() => false));
  });

  it('does not cache what a batch read in flight during an eviction found', async () => {
    const { store } = await fileStore({ cacheSize: 1_000 });
    const keys = await store.putBatch(Array.from({ length: 50 }, (_, i) => ({ i })));
    await Promise.all([store.getBatch(keys), ...keys.map((key) => store.evict(key))]);
    expect((await store.getBatch(keys)).filter((value) => value !== undefined)).toHaveLength(0);
  });

  it('still caches reads that no eviction overlapped', async () => {
    const { store, reads } = await fileStore({ cacheSize: 16 });
    const key = await store.put({ a: 1 });
    await store.get(key);
    await store.get(key);
    expect(reads()).toBe(1);
  });
});

describe('reads shared by proxies of one key', () => {
  const MB = 1 << 20;

  it('reads a 1 MB object once for 200 proxies resolved at once, even with the cache off', async () => {
    const { store, reads } = await fileStore({ cacheSize: 0 });
    const key: Key = await store.put(new Float64Array(MB / 8).fill(3));
    const proxies = Array.from({ length: 200 }, () => store.proxyFromKey<Float64Array>(key));
    const values = await Promise.all(proxies.map((p) => resolveAsync(p)));
    expect(reads()).toBe(1);
    expect(values.every((value) => value.length === MB / 8 && value[MB / 8 - 1] === 3)).toBe(true);
    // Later reads are reads again: only concurrent ones share.
    await store.get(key);
    expect(reads()).toBe(2);
  });

  it('reads once when a proxy is touched synchronously right after its async resolve began', async () => {
    const { store, reads } = await fileStore({ cacheSize: 0 });
    const key: Key = await store.put({ values: [1, 2, 3] });
    const p = store.proxyFromKey<{ values: number[] }>(key);
    const resolving = resolveAsync(p);
    expect(p.values[2]).toBe(3);
    expect(isResolved(p)).toBe(true);
    expect((await resolving).values).toEqual([1, 2, 3]);
    expect(reads()).toBe(1);
  });

  it('gives each concurrent get the object, and a failed read fails every one of them', async () => {
    const { store, reads } = await fileStore({ cacheSize: 0 });
    const key: Key = await store.put({ n: 7 });
    const [a, b] = await Promise.all([store.get<{ n: number }>(key), store.get<{ n: number }>(key)]);
    expect(a?.n).toBe(7);
    expect(b?.n).toBe(7);
    expect(reads()).toBe(1);
    const missing = await Promise.all([store.get('no-such-key'), store.get('no-such-key')]);
    expect(missing).toEqual([undefined, undefined]);
  });
});

describe('a synchronous read while an async read of its key is in flight', () => {
  it('decodes and caches once, and both readers get the same object (the connector read cannot be shared)', async () => {
    let release!: () => void;
    let asked!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const reading = new Promise<void>((resolve) => (asked = resolve));
    const { connector, reads } = countingConnector({
      beforeGet: () => {
        asked();
        return held;
      },
    });
    const store = new Store(`sync-during-async-${crypto.randomUUID()}`, connector, { cacheSize: 16, metrics: true });
    stores.push(store);
    const key: Key = await store.put({ values: [1, 2, 3] });
    const p = store.proxyFromKey<{ values: number[] }>(key);
    const resolving = resolveAsync(p);
    // The async read has reached the connector and is held there: a synchronous touch cannot wait for it.
    await reading;
    expect(p.values[2]).toBe(3);
    release();
    const resolved = await resolving;
    expect(resolved).toBe(extract(p));
    expect(await store.get(key)).toBe(resolved);
    expect(reads()).toBe(2);
    expect(store.metrics()?.deserialize?.count).toBe(1);
    expect(store.stats().cache.objects).toBe(1);
  });
});
