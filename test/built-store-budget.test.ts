/**
 * The caches of stores built from descriptors share one budget per thread:
 * 64 forged descriptors, each asking for the largest cache the policy allows
 * (1,024 objects, 64 MiB), cannot make the process hold more than the budget,
 * though each store alone may.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  BUILT_CACHE_BYTES_ENV,
  BUILT_CACHE_OBJECTS_ENV,
  FileConnector,
  InvalidArgumentError,
  Store,
  builtStoreCache,
  configureBuiltStores,
  decodeProxies,
  encodeProxies,
  getStore,
  resolveAsync,
  type Proxy,
  type ProxyDescriptor,
} from '../src/index.js';
import { tempDirs } from '../runtime/testing/temp-dirs.js';

const MiB = 1 << 20;
const dirs = tempDirs('built-budget-');
const writers: Store[] = [];
afterEach(async () => {
  configureBuiltStores({});
  await Promise.all(writers.splice(0).map((store) => store.close({ clear: true })));
});
afterAll(() => dirs.removeAll());

/** Descriptors of `count` objects of `bytes` each in a file store of its own, rewritten to ask for the largest cache the default policy allows. */
async function forgedStore(index: number, count: number, bytes: number): Promise<ProxyDescriptor[]> {
  const writer = new Store(`budget-${index}-${crypto.randomUUID()}`, new FileConnector({ directory: await dirs.make() }), { cacheSize: 0 });
  writers.push(writer);
  const proxies = await Promise.all(Array.from({ length: count }, (_, i) => writer.proxy(new Float64Array(bytes / 8).fill(index * 1000 + i))));
  return proxies.map((p) => {
    const d = JSON.parse(JSON.stringify(encodeProxies(p))) as ProxyDescriptor;
    return { ...d, store: { ...d.store, cacheSize: 1024, cacheBytes: 64 * MiB } };
  });
}

describe('the cache budget of stores built from descriptors', () => {
  it('keeps 64 forged max-cache stores within the budget, dropping the least recently used across stores', async () => {
    configureBuiltStores({ cacheBytes: 4 * MiB, cacheObjects: 200 });
    const descriptors = await Promise.all(Array.from({ length: 64 }, (_, i) => forgedStore(i, 8, 64 * 1024)));
    const proxies = decodeProxies(descriptors.flat()) as Proxy<Float64Array>[];
    const built = new Set(proxies.map((p) => getStore(p) as Store));
    expect(built.size).toBe(64);
    for (const store of built) expect(store.stats().cache).toMatchObject({ maxObjects: 1024, maxBytes: 64 * MiB });
    let read = 0;
    for (const p of proxies) read += (await resolveAsync(p)).byteLength;
    // 32 MiB went through caches that together may keep 4 MiB.
    expect(read).toBe(64 * 8 * 64 * 1024);
    const held = [...built].reduce((sum, store) => ({ bytes: sum.bytes + store.stats().cache.bytes, objects: sum.objects + store.stats().cache.objects }), { bytes: 0, objects: 0 });
    expect(held.bytes).toBeLessThanOrEqual(4 * MiB);
    expect(held.bytes).toBeGreaterThan(3 * MiB);
    expect(builtStoreCache()).toMatchObject({ ...held, maxBytes: 4 * MiB, maxObjects: 200 });
    // The least recently used went: the first store's objects are gone, the last store's are cached.
    const [first, last] = [getStore(proxies[0] as object) as Store, getStore(proxies.at(-1) as object) as Store];
    expect(first.stats().cache.objects).toBe(0);
    expect(last.stats().cache.objects).toBe(8);
  });

  it('bounds the objects too, and keeps none bigger than the whole budget', async () => {
    configureBuiltStores({ cacheBytes: 64 * MiB, cacheObjects: 10 });
    const proxies = decodeProxies((await Promise.all(Array.from({ length: 4 }, (_, i) => forgedStore(i, 8, 1024)))).flat()) as Proxy<Float64Array>[];
    for (const p of proxies) await resolveAsync(p);
    expect(builtStoreCache().objects).toBe(10);
    configureBuiltStores({ cacheBytes: 512 * 1024 });
    const [big] = decodeProxies(await forgedStore(99, 1, MiB)) as Proxy<Float64Array>[];
    expect((await resolveAsync(big as Proxy<Float64Array>)).byteLength).toBe(MiB);
    const store = getStore(big as object) as Store;
    expect(store.stats().cache.objects).toBe(0);
    // The small ones stayed: an object too big for the budget pushes nothing out.
    expect(builtStoreCache().objects).toBeGreaterThan(0);
  });

  it('defaults to 256 MiB and 4,096 objects; the environment variables change it; bad settings are typed errors', async () => {
    expect(builtStoreCache()).toMatchObject({ maxBytes: 256 * MiB, maxObjects: 4096 });
    expect(() => configureBuiltStores({ cacheBytes: -1 })).toThrow(InvalidArgumentError);
    expect(() => configureBuiltStores({ cacheObjects: 1.5 })).toThrow(InvalidArgumentError);
    const script = "const { builtStoreCache } = await import(process.argv[1]); console.log(JSON.stringify(builtStoreCache()));";
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, path.resolve('dist/src/index.js')], {
      env: { ...process.env, [BUILT_CACHE_BYTES_ENV]: String(8 * MiB), [BUILT_CACHE_OBJECTS_ENV]: '12' },
    });
    expect(JSON.parse(stdout)).toMatchObject({ maxBytes: 8 * MiB, maxObjects: 12 });
  });
});
