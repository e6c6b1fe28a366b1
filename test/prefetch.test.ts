import { describe, expect, it } from 'vitest';
import { MemoryConnector, Store, isResolved, resolveAll, type Connector } from '../src/index.js';

/** Async-only reads: proves resolveAll never needs a synchronous get. */
function asyncOnly(inner: MemoryConnector, onRead: () => void): Connector {
  return {
    kind: inner.kind,
    put: (d) => inner.put(d),
    putBatch: (d) => inner.putBatch(d),
    get: (k) => { onRead(); return inner.get(k); },
    getBatch: (k) => inner.getBatch(k),
    exists: (k) => inner.exists(k),
    evict: (k) => inner.evict(k),
    config: () => inner.config(),
    close: (o) => inner.close(o),
  };
}

describe('resolveAll', () => {
  it('resolves every nested proxy once, concurrently, without a synchronous read', async () => {
    let reads = 0;
    const store = new Store('prefetch', asyncOnly(new MemoryConnector(), () => reads++), { populateTarget: false, cacheSize: 0 });
    const [a, b, c] = await store.proxyBatch([{ n: 1 }, [2, 3], new Map([['k', 4]])]);
    const populated = await store.proxy({ n: 5 }, { populateTarget: true });
    const value = { list: [a, { deep: b }], map: new Map([['c', c]]), set: new Set([a]), populated, plain: 7 };
    expect([a, b, c].some((p) => isResolved(p))).toBe(false);
    expect(await resolveAll(value)).toBe(value);
    expect([a, b, c].every((p) => isResolved(p))).toBe(true);
    expect(reads).toBe(3);
    expect(a.n + b[1]! + c.get('k')!).toBe(8);
    expect(reads).toBe(3);
    await store.close({ clear: true });
  });

  it('passes values without proxies through', async () => {
    const value = { a: [1, 2] };
    expect(await resolveAll(value)).toBe(value);
    expect(await resolveAll(5)).toBe(5);
  });
});
