import { afterEach, describe, expect, it } from 'vitest';
import { MemoryConnector } from '../../runtime/connectors/memory.js';
import { ConnectorError } from '../../runtime/errors.js';
import { getKey } from '../../runtime/proxy/proxy.js';
import { SharedMemoryConnector } from '../../runtime/connectors/shared-memory/connector.js';
import { Store } from '../../runtime/store/store.js';

const stores: Store[] = [];
function store(options: ConstructorParameters<typeof Store>[2] = {}): Store {
  const made = new Store(`metrics-${stores.length}`, new MemoryConnector(), { metrics: true, ...options });
  stores.push(made);
  return made;
}
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close({ clear: true });
});

describe('per-key metrics, as ProxyStore’s get_metrics', () => {
  it('keeps each key’s own put, get and evict figures apart from the totals', async () => {
    const s = store();
    const a = await s.put(new Float64Array(1000));
    const b = await s.put({ small: true });
    await s.get(a);
    await s.get(a);
    await s.evict(b);
    const ofA = s.metrics(a)!;
    expect(ofA['put']?.count).toBe(1);
    expect(ofA['put']?.totalBytes).toBeGreaterThanOrEqual(8000);
    expect(ofA['get']?.count).toBe(2);
    expect(ofA['evict']).toBeUndefined();
    const ofB = s.metrics(b)!;
    expect(ofB['evict']?.count).toBe(1);
    expect(ofB['get']).toBeUndefined();
    expect(s.metrics()!['put']?.count).toBe(2);
  });

  it('answers for a proxy as for its key, with creation and resolution timed', async () => {
    const s = store({ populateTarget: false });
    const p = await s.proxy(new Float64Array(64).fill(2));
    expect(p[3]).toBe(2);
    const ofProxy = s.metrics(p)!;
    expect(ofProxy).toEqual(s.metrics(getKey(p)));
    expect(ofProxy['proxy']?.count).toBe(1);
    expect(ofProxy['resolve']?.count).toBe(1);
    expect(ofProxy['resolve']?.totalMs).toBeGreaterThanOrEqual(0);
  });

  it('gives nothing without metrics: true, and an empty record for a key it never saw', async () => {
    const plain = new Store('metrics-off', new MemoryConnector());
    stores.push(plain);
    await plain.put({ x: 1 });
    expect(plain.metrics()).toBeUndefined();
    expect(store().metrics('never-seen')).toEqual({});
  });

  it('counts cache hits and misses into a hit rate, and reset starts every figure again', async () => {
    const s = store();
    const key = await s.put({ hello: 'world' });
    await s.get(key); // miss: read from the connector
    await s.get(key); // hit
    await s.get(key); // hit
    let stats = s.stats();
    expect(stats.cache).toMatchObject({ hits: 2, misses: 1, objects: 1 });
    expect(stats.cache.hitRate).toBeCloseTo(2 / 3);
    expect(stats.metrics?.['get']?.count).toBe(3);
    s.resetMetrics();
    stats = s.stats();
    expect(stats.cache).toMatchObject({ hits: 0, misses: 0, hitRate: 0 });
    expect(stats.metrics).toEqual({});
    expect(s.metrics(key)).toEqual({});
  });
});

describe('Store.list', () => {
  it('lists what the connector holds, for every instance on the same space', async () => {
    const space = `list-${process.pid}`;
    const mine = new Store('list-a', new MemoryConnector({ space }));
    const theirs = new Store('list-b', new MemoryConnector({ space }));
    stores.push(mine, theirs);
    const a = await mine.put(new Uint8Array(100));
    const b = await theirs.put(new Uint8Array(200));
    const listed = [];
    for await (const item of mine.list()) listed.push(item);
    expect(listed.map((item) => item.key).sort()).toEqual([a, b].sort());
  });

  it('refuses, naming the store, where the connector cannot list', async () => {
    const s = new Store('cannot-list', new SharedMemoryConnector());
    stores.push(s);
    const iterate = async (): Promise<void> => {
      for await (const item of s.list()) expect(item).toBeUndefined();
    };
    await expect(iterate()).rejects.toThrow(ConnectorError);
    await expect(iterate()).rejects.toThrow(/store 'cannot-list' cannot list/);
  });
});
