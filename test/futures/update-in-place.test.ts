import { afterEach, describe, expect, it } from 'vitest';
import { FileConnector } from '../../runtime/connectors/file.js';
import { MemoryConnector } from '../../runtime/connectors/memory.js';
import { InvalidReferenceError, borrow, dispose, endTaskBorrows, mutBorrow, release, update } from '../../runtime/store/ownership.js';
import { extract, getKey } from '../../runtime/proxy/proxy.js';
import { decodeProxies, encodeProxies } from '../../runtime/store/references.js';
import { Store } from '../../runtime/store/store.js';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

interface Model {
  weights: number[];
  name: string;
}
const stores: Store[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close({ clear: true });
});

describe('update() on a connector that can overwrite keys', () => {
  it.each([
    ['memory', () => new MemoryConnector()],
    ['file', () => new FileConnector({ directory: path.join(os.tmpdir(), `update-in-place-${crypto.randomUUID()}`) })],
  ])('writes the new version under the same key, so other holders of the key read it (%s)', async (_kind, connector) => {
    const store = new Store('in-place', connector(), { cacheSize: 0 });
    stores.push(store);
    await using owned = await store.ownedProxy<Model>({ weights: [1, 2, 3], name: 'm' });
    const key = getKey(owned)!;
    const elsewhere = store.proxyFromKey<Model>(key);
    {
      using m = mutBorrow(owned);
      m.weights.push(4);
      await update(m);
    }
    expect(getKey(owned)).toEqual(key);
    expect(elsewhere.weights).toEqual([1, 2, 3, 4]);
    expect(await store.get(key)).toEqual({ weights: [1, 2, 3, 4], name: 'm' });
  });

  it.each([
    ['no cache', 0],
    ['a cache', undefined],
  ])('lets a mutable borrow sent to a task write its change back in place, where the owner sees it (%s)', async (_what, cacheSize) => {
    const store = new Store('in-place-task', new MemoryConnector(), cacheSize === undefined ? {} : { cacheSize });
    stores.push(store);
    const owned = await store.ownedProxy<Model>({ weights: [1], name: 'before' });
    const key = getKey(owned)!;
    expect(((await store.get(key)) as Model).name).toBe('before');
    const m = mutBorrow(owned);
    const message = encodeProxies({ m });
    const there = decodeProxies(message).m;
    there.name = 'changed in the task';
    await update(there);
    release(there);
    endTaskBorrows({ m });
    expect(((await store.get(key)) as Model).name).toBe('changed in the task');
    expect(owned.name).toBe('changed in the task');
    await dispose(owned);
  });

  it('shows the owner what a mutable borrow sent to a worker thread wrote back', async () => {
    const directory = path.join(os.tmpdir(), `update-in-place-${crypto.randomUUID()}`);
    const store = new Store('in-place-worker', new FileConnector({ directory }));
    stores.push(store);
    const owned = await store.ownedProxy<Model>({ weights: [1], name: 'before' });
    const m = mutBorrow(owned);
    const worker = new Worker(path.join(import.meta.dirname, '..', 'fixtures', 'mut-borrow-worker.mjs'), { workerData: { encoded: encodeProxies({ m }) } });
    const [reply] = (await once(worker, 'message')) as [string];
    await worker.terminate();
    expect(reply).toBe('done');
    // Until the receiver is done, the owner's object in hand is the one it had.
    expect(owned.name).toBe('before');
    endTaskBorrows({ m });
    expect(owned.name).toBe('changed in the worker');
    expect(owned.weights).toEqual([1]);
    await dispose(owned);
  });

  it('keeps the owner\'s object in hand after a shared borrow or an unsent mutable borrow ends', async () => {
    const store = new Store('in-place-kept', new MemoryConnector());
    stores.push(store);
    const owned = await store.ownedProxy<Model>({ weights: [1], name: 'before' });
    const target = extract(owned);
    const shared = borrow(owned);
    endTaskBorrows(decodeProxies(encodeProxies({ shared })));
    endTaskBorrows({ shared });
    const m = mutBorrow(owned);
    m.name = 'changed here';
    endTaskBorrows({ m });
    expect(extract(owned)).toBe(target);
    expect(owned.name).toBe('changed here');
    await dispose(owned);
  });

  it('an owner disposed while its in-place update is written leaves nothing behind', async () => {
    const store = new Store('in-place-race', new MemoryConnector());
    stores.push(store);
    const owned = await store.ownedProxy<Model>({ weights: [], name: 'x' });
    const key = getKey(owned)!;
    owned.name = 'new';
    const updating = update(owned);
    await dispose(owned);
    await expect(updating).rejects.toBeInstanceOf(InvalidReferenceError);
    expect(await store.exists(key)).toBe(false);
  });
});
