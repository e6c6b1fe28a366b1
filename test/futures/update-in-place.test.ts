import { afterEach, describe, expect, it } from 'vitest';
import { FileConnector } from '../../runtime/connectors/file.js';
import { MemoryConnector } from '../../runtime/connectors/memory.js';
import { InvalidReferenceError, dispose, endTaskBorrows, mutBorrow, release, update } from '../../runtime/store/ownership.js';
import { getKey } from '../../runtime/proxy/proxy.js';
import { decodeProxies, encodeProxies } from '../../runtime/store/references.js';
import { Store } from '../../runtime/store/store.js';
import os from 'node:os';
import path from 'node:path';

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

  it('lets a mutable borrow sent to a task write its change back in place, where the owner sees it', async () => {
    const store = new Store('in-place-task', new MemoryConnector(), { cacheSize: 0 });
    stores.push(store);
    const owned = await store.ownedProxy<Model>({ weights: [1], name: 'before' });
    const key = getKey(owned)!;
    const m = mutBorrow(owned);
    const message = encodeProxies({ m });
    const there = decodeProxies(message).m;
    there.name = 'changed in the task';
    await update(there);
    release(there);
    endTaskBorrows({ m });
    expect(((await store.get(key)) as Model).name).toBe('changed in the task');
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
