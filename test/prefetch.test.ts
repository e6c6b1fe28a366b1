import { describe, expect, it } from 'vitest';
import { MemoryConnector, Store, isResolved, resolveAll } from '../src/index.js';
import { asyncOnly } from './helpers/async-only.js';

describe('resolveAll', () => {
  it('resolves every nested proxy once, concurrently, without a synchronous read', async () => {
    let reads = 0;
    // Async-only reads: proves resolveAll never needs a synchronous get.
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
