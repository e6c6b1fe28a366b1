import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BorrowError,
  DescriptorError,
  InvalidReferenceError,
  NonProxiableTypeError,
  OwnershipError,
  Store,
  borrow,
  clone,
  decodeProxies,
  dispose,
  encodeProxies,
  extract,
  getKey,
  intoOwned,
  isProxy,
  isResolved,
  mutBorrow,
  proxy,
  proxyReviver,
  release,
  resolveAsync,
  update,
  type Key,
  type OwnedProxy,
  type RefMutProxy,
  type RefProxy,
  endTaskBorrows,
} from '../src/index.js';
import { countingConnector } from './helpers/counting-connector.js';
import { thrown } from '../runtime/testing/outcomes.js';

/** A store over a counting connector, so tests can tell the store is empty. */
function countingStore(name: string, options: ConstructorParameters<typeof Store>[2] = {}): { store: Store; live: () => number } {
  const { connector, live } = countingConnector();
  // Registered, so descriptors decoded here reach this very store (and its count).
  const store = new Store(name, connector, { register: true, ...options });
  stores.push(store);
  return { store, live };
}

const stores: Store[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close({ clear: true })));
});

interface Model {
  weights: number[];
  name: string;
}

const model = (): Model => ({ weights: [1, 2, 3], name: 'm' });

describe('owned proxies', () => {
  it('store.ownedProxy stores the object; dispose evicts it and the proxy is then unusable', async () => {
    const { store, live } = countingStore('own-basic');
    const owned = await store.ownedProxy(model());
    expect(isProxy(owned)).toBe(true);
    expect(owned.weights[1]).toBe(2);
    expect(live()).toBe(1);
    await dispose(owned);
    expect(live()).toBe(0);
    const error = thrown(() => owned.name);
    expect(error).toBeInstanceOf(InvalidReferenceError);
    expect((error as Error).message).toBe(
      `cannot use the OwnedProxy of key ${JSON.stringify(getKey(owned))} in store 'own-basic': it was disposed and its object evicted`,
    );
  });

  it('an invalid reference throws from every kind of use, resolution included', async () => {
    const { store } = countingStore('own-traps');
    const owned = await store.ownedProxy(new Map([['a', 1]]));
    await dispose(owned);
    expect(() => owned.get('a')).toThrow(InvalidReferenceError);
    expect(() => owned instanceof Map).toThrow(InvalidReferenceError);
    expect(() => Object.keys(owned)).toThrow(InvalidReferenceError);
    expect(() => 'size' in owned).toThrow(InvalidReferenceError);
    expect(() => extract(owned)).toThrow(InvalidReferenceError);
    await expect(resolveAsync(owned)).rejects.toBeInstanceOf(InvalidReferenceError);
    expect(isProxy(owned)).toBe(true);
  });

  it('an unpopulated owner is read from the store on first use', async () => {
    const { store } = countingStore('own-lazy');
    const owned = await store.ownedProxy(model(), { populateTarget: false });
    expect(isResolved(owned)).toBe(false);
    expect(await resolveAsync(owned)).toEqual(model());
    await dispose(owned);
  });

  it('a read in flight when the owner is disposed does not resolve it', async () => {
    const { store } = countingStore('own-race');
    const owned = await store.ownedProxy(model(), { populateTarget: false });
    const reading = resolveAsync(owned);
    const disposing = dispose(owned);
    await expect(reading).rejects.toBeInstanceOf(InvalidReferenceError);
    await disposing;
    expect(isResolved(owned)).toBe(false);
  });

  it('`using` evicts at scope end; disposing again waits for the same eviction', async () => {
    const { store, live } = countingStore('own-using');
    let kept: OwnedProxy<Model> | undefined;
    {
      using owned = await store.ownedProxy(model());
      kept = owned;
      expect(owned.name).toBe('m');
    }
    expect(() => kept.name).toThrow(InvalidReferenceError);
    await dispose(kept);
    expect(live()).toBe(0);
  });

  it('`await using` evicts at scope end and waits for it', async () => {
    const { store, live } = countingStore('own-await-using');
    {
      await using owned = await store.ownedProxy(model());
      expect(owned.weights).toEqual([1, 2, 3]);
    }
    expect(live()).toBe(0);
  });

  it('primitives cannot be owned', async () => {
    const { store } = countingStore('own-primitive');
    await expect(store.ownedProxy(5 as unknown as object)).rejects.toBeInstanceOf(NonProxiableTypeError);
  });
});

describe('borrowing rules', () => {
  it('shared borrows read the owner\'s object; many may live at once', async () => {
    const { store } = countingStore('borrow-shared');
    await using owned = await store.ownedProxy(model());
    using a = borrow(owned);
    using b = borrow(owned);
    expect(a.weights).toBe(owned.weights);
    expect(b.name).toBe('m');
  });

  it('a borrow of an unresolved owner resolves to the owner\'s object, not a second copy', async () => {
    const { store } = countingStore('borrow-lazy', { populateTarget: false, cacheSize: 0 });
    await using owned = await store.ownedProxy(model());
    {
      using m = mutBorrow(owned);
      m.name = 'through the borrow';
    }
    expect(owned.name).toBe('through the borrow');
  });

  it('no mutable borrow while shared borrows live, naming key, store and count', async () => {
    const { store } = countingStore('borrow-x');
    await using owned = await store.ownedProxy(model());
    const a = borrow(owned);
    const b = borrow(owned);
    const error = thrown(() => mutBorrow(owned));
    expect(error).toBeInstanceOf(BorrowError);
    expect((error as Error).message).toBe(`cannot mutably borrow key ${JSON.stringify(getKey(owned))} of store 'borrow-x': 2 shared borrows are live`);
    release(a);
    expect(() => mutBorrow(owned)).toThrow(/1 shared borrow is live/);
    release(b);
    using m = mutBorrow(owned);
    expect(m.name).toBe('m');
  });

  it('no second mutable borrow, and no shared borrow while a mutable one lives', async () => {
    const { store } = countingStore('borrow-mut');
    await using owned = await store.ownedProxy(model());
    const m = mutBorrow(owned);
    expect(() => mutBorrow(owned)).toThrow(BorrowError);
    expect(() => mutBorrow(owned)).toThrow(/a mutable borrow is live/);
    expect(() => borrow(owned)).toThrow(/cannot borrow key .* a mutable borrow is live/);
    release(m);
    using again = mutBorrow(owned);
    expect(again.weights.length).toBe(3);
  });

  it('a released borrow is unusable; releasing twice is harmless; `using` releases', async () => {
    const { store } = countingStore('borrow-release');
    await using owned = await store.ownedProxy(model());
    const r = borrow(owned);
    release(r);
    release(r);
    const error = thrown(() => r.name);
    expect(error).toBeInstanceOf(InvalidReferenceError);
    expect((error as Error).message).toMatch(/cannot use the RefProxy of key .* the borrow was released/);
    let kept: RefMutProxy<Model> | undefined;
    {
      using m = mutBorrow(owned);
      kept = m;
    }
    expect(() => kept.name).toThrow(InvalidReferenceError);
    using after = mutBorrow(owned);
    expect(after.name).toBe('m');
  });

  it('an owner with live borrows cannot be disposed, explicitly or at scope end', async () => {
    const { store, live } = countingStore('borrow-dispose');
    const owned = await store.ownedProxy(model());
    const r = borrow(owned);
    await expect(dispose(owned)).rejects.toThrow(/cannot dispose the OwnedProxy of key .* of store 'borrow-dispose': 1 shared borrow is live/);
    expect(owned.name).toBe('m');
    const scoped = async (): Promise<void> => {
      await using inner = await store.ownedProxy(model());
      mutBorrow(inner);
    };
    await expect(scoped()).rejects.toBeInstanceOf(BorrowError);
    release(r);
    await dispose(owned);
    expect(live()).toBe(1); // the scoped owner could not be disposed
  });

  it('only the right kind of proxy is accepted', async () => {
    const { store } = countingStore('borrow-kinds');
    await using owned = await store.ownedProxy(model());
    const plain = await store.proxy(model());
    using r = borrow(owned);
    expect(() => borrow(plain as OwnedProxy<Model>)).toThrow(new OwnershipError('borrow() takes an OwnedProxy, got a plain proxy'));
    expect(() => mutBorrow(r as unknown as OwnedProxy<Model>)).toThrow(new OwnershipError('mutBorrow() takes an OwnedProxy, got a RefProxy'));
    expect(() => release(owned as unknown as RefProxy<Model>)).toThrow(/release\(\) takes a RefProxy or a RefMutProxy, got an OwnedProxy/);
    await expect(dispose(r as unknown as OwnedProxy<Model>)).rejects.toBeInstanceOf(OwnershipError);
    await expect(clone({} as OwnedProxy<Model>)).rejects.toThrow(/got a value that is not a proxy/);
  });
});

describe('clone, update, intoOwned', () => {
  it('a mutable borrow changes the owner\'s object; update writes it back under a new key', async () => {
    const { store, live } = countingStore('update');
    await using owned = await store.ownedProxy(model());
    const before = getKey(owned) as Key;
    {
      using m = mutBorrow(owned);
      m.weights.push(4);
      await update(m);
    }
    expect(owned.weights).toEqual([1, 2, 3, 4]);
    const after = getKey(owned) as Key;
    expect(after).not.toEqual(before);
    expect(await store.exists(before)).toBe(false);
    expect(await store.get(after)).toEqual({ weights: [1, 2, 3, 4], name: 'm' });
    expect(live()).toBe(1);
  });

  it('update is refused through a RefProxy and on a borrowed owner; an unread owner writes nothing', async () => {
    const { store } = countingStore('update-rules');
    await using owned = await store.ownedProxy(model());
    const r = borrow(owned);
    await expect(update(r as unknown as RefMutProxy<Model>)).rejects.toThrow(/cannot update key .* a RefProxy is read-only/);
    await expect(update(owned)).rejects.toThrow(/cannot update key .* of store 'update-rules': 1 shared borrow is live/);
    release(r);
    await using lazy = await store.ownedProxy(model(), { populateTarget: false });
    const key = getKey(lazy);
    await update(lazy);
    expect(getKey(lazy)).toEqual(key);
  });

  it('an owner disposed while its update is being written leaves nothing behind', async () => {
    const { store, live } = countingStore('update-race');
    const owned = await store.ownedProxy(model());
    owned.name = 'new';
    const updating = update(owned);
    await dispose(owned);
    await expect(updating).rejects.toBeInstanceOf(InvalidReferenceError);
    expect(live()).toBe(0);
  });

  it('clone stores an independent copy under a new owner', async () => {
    const { store, live } = countingStore('clone');
    await using owned = await store.ownedProxy(model());
    await using copy = await clone(owned);
    expect(getKey(copy)).not.toEqual(getKey(owned));
    copy.weights.push(9);
    expect(owned.weights).toEqual([1, 2, 3]);
    using r = borrow(owned);
    await using fromBorrow = await clone(r);
    expect(fromBorrow.name).toBe('m');
    expect(live()).toBe(3);
  });

  it('clone of an invalid reference is refused', async () => {
    const { store } = countingStore('clone-invalid');
    const owned = await store.ownedProxy(model());
    await dispose(owned);
    await expect(clone(owned)).rejects.toBeInstanceOf(InvalidReferenceError);
  });

  it('intoOwned takes over a plain proxy (same key), which boundaries then refuse', async () => {
    const { store, live } = countingStore('into-owned');
    const plain = await store.proxy(model());
    const owned = await intoOwned(plain);
    expect(getKey(owned)).toEqual(getKey(plain));
    expect(owned.name).toBe('m');
    await expect(intoOwned(plain)).rejects.toThrow(/cannot use the proxy of key .* turned into an OwnedProxy by intoOwned\(\) already/);
    expect(() => encodeProxies({ plain })).toThrow(InvalidReferenceError);
    expect(() => JSON.stringify({ plain })).toThrow(InvalidReferenceError);
    // Other plain proxies of the key still travel.
    const sent = JSON.parse(JSON.stringify({ other: store.proxyFromKey<Model>(getKey(plain)!) })) as { other: { key: unknown } };
    expect(sent.other.key).toEqual(getKey(plain));
    await expect(intoOwned(owned as never)).rejects.toThrow(/it is owned already/);
    await expect(intoOwned(proxy(() => ({})))).rejects.toThrow(/a proxy with a custom factory/);
    await dispose(owned);
    expect(live()).toBe(0);
  });

  it('intoOwned of a borrow makes an owner of a copy and ends the borrow', async () => {
    const { store } = countingStore('into-owned-borrow');
    await using owned = await store.ownedProxy(model());
    const m = mutBorrow(owned);
    m.name = 'changed';
    await using copy = await intoOwned(m);
    expect(copy.name).toBe('changed');
    expect(getKey(copy)).not.toEqual(getKey(owned));
    expect(() => m.name).toThrow(InvalidReferenceError);
    using again = mutBorrow(owned);
    expect(again.name).toBe('changed');
  });
});

describe('moving across a boundary', () => {
  it('encodeProxies moves an owner: the sender\'s copy is invalid, the receiver owns the object', async () => {
    const { store, live } = countingStore('move');
    let received: { owned: OwnedProxy<Model> } | undefined;
    {
      using owned = await store.ownedProxy(model());
      const message = encodeProxies({ owned });
      expect(() => owned.name).toThrow(/it was moved \(sent across a boundary\)/);
      await expect(dispose(owned)).rejects.toBeInstanceOf(InvalidReferenceError);
      received = decodeProxies(message);
    } // scope end drops nothing: the owner was moved
    expect(live()).toBe(1);
    expect(received.owned.weights).toEqual([1, 2, 3]);
    await dispose(received.owned);
    expect(live()).toBe(0);
  });

  it('JSON.stringify moves too, and proxyReviver receives an owner', async () => {
    const { store, live } = countingStore('move-json');
    let text: string;
    {
      await using owned = await store.ownedProxy(model());
      text = JSON.stringify({ owned });
      expect(JSON.parse(text)).toMatchObject({ owned: { ownership: 'owned', key: getKey(owned) } });
      expect(() => owned.name).toThrow(InvalidReferenceError);
      expect(() => JSON.stringify({ owned })).toThrow(InvalidReferenceError);
    } // `await using` drops nothing either
    const back = JSON.parse(text, proxyReviver()) as { owned: OwnedProxy<Model> };
    await dispose(back.owned);
    expect(live()).toBe(0);
  });

  it('a borrowed owner cannot move', async () => {
    const { store } = countingStore('move-borrowed');
    await using owned = await store.ownedProxy(model());
    using r = borrow(owned);
    expect(() => encodeProxies(owned)).toThrow(/cannot move the OwnedProxy of key .* 1 shared borrow is live/);
    expect(r.name).toBe('m');
  });

  it('a failed encode moves nothing', async () => {
    const { store } = countingStore('move-atomic');
    await using owned = await store.ownedProxy(model());
    expect(() => encodeProxies([owned, owned])).toThrow(/appears twice in one message: it can be moved only once/);
    expect(() => encodeProxies({ owned, other: proxy(() => ({})) })).toThrow(DescriptorError);
    expect(owned.name).toBe('m');
  });

  it('a descriptor with an unknown ownership is refused', async () => {
    const { store } = countingStore('move-bad');
    const owned = await store.ownedProxy(model());
    const descriptor = JSON.parse(JSON.stringify(owned)) as Record<string, unknown>;
    expect(() => decodeProxies({ ...descriptor, ownership: 'stolen' })).toThrow(/ownership must be 'owned', 'ref' or 'ref-mut', got "stolen"/);
    await dispose(decodeProxies(descriptor) as OwnedProxy<Model>);
  });
});

describe('borrows sent to tasks or in messages of your own', () => {
  it('a shared borrow sent to a task stays live until the task ends, even if released here', async () => {
    const { store, live } = countingStore('task-shared');
    const owned = await store.ownedProxy(model());
    const r = borrow(owned);
    const args = { r };
    const message = encodeProxies(args);
    const there = decodeProxies(message).r;
    expect(there.name).toBe('m');
    expect(r.name).toBe('m'); // a shared borrow stays usable by the sender
    release(r);
    await expect(dispose(owned)).rejects.toThrow(/1 shared borrow is live \(a sent borrow counts until its receiver is done: .*endTaskBorrows\(whatYouEncoded\)\)/);
    endTaskBorrows(args);
    await dispose(owned);
    expect(live()).toBe(0);
  });

  it('a borrow sent to two tasks ends with the second', async () => {
    const { store } = countingStore('task-twice');
    const owned = await store.ownedProxy(model());
    const r = borrow(owned);
    encodeProxies([r, r]); // a shared borrow may appear more than once in a message
    encodeProxies(new Map([['r', r]]));
    endTaskBorrows([r]);
    expect(r.name).toBe('m');
    await expect(dispose(owned)).rejects.toBeInstanceOf(BorrowError);
    endTaskBorrows({ nested: new Set([r]) });
    expect(() => r.name).toThrow(/the task it was sent to has ended/);
    await dispose(owned);
  });

  it('a mutable borrow moves into the task; the receiver cannot update an owner it does not have', async () => {
    const { store } = countingStore('task-mut');
    const owned = await store.ownedProxy(model());
    const m = mutBorrow(owned);
    const message = encodeProxies({ m });
    expect(() => m.name).toThrow(/it was sent to a task, which holds the mutable borrow until it ends/);
    expect(() => encodeProxies({ m })).toThrow(InvalidReferenceError);
    expect(() => borrow(owned)).toThrow(BorrowError);
    const there = decodeProxies(message).m;
    there.name = 'task';
    await expect(update(there)).rejects.toThrow(/its owner is in another process/);
    release(there);
    endTaskBorrows({ m });
    using r = borrow(owned);
    expect(r.name).toBe('m');
    release(r);
    await dispose(owned);
  });

  it('borrows in a task\'s arguments end with it even when they were not sent', async () => {
    const { store } = countingStore('task-local');
    await using owned = await store.ownedProxy(model());
    const r = borrow(owned);
    endTaskBorrows([1, 'x', { r }]);
    expect(() => r.name).toThrow(InvalidReferenceError);
    using m = mutBorrow(owned);
    expect(m.name).toBe('m');
  });
});

describe('the leak safety net', () => {
  it('evicts the objects of owners collected without being disposed or moved, and warns once per collection about those only', async () => {
    const fixture = path.join(import.meta.dirname, 'fixtures', 'lifetime-owned-leak.mjs');
    const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', fixture], { timeout: 30_000 });
    const { warnings, leakedStillStored, movedStillStored } = JSON.parse(stdout) as { warnings: { code: string; message: string }[]; leakedStillStored: number; movedStillStored: number };
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.code).toBe('PROXYSTORE_OWNED_PROXY_LEAKED');
    expect(warnings[0]?.message).toMatch(
      /^5 OwnedProxies were garbage-collected without being disposed or moved, so their objects were evicted then: key ".*" in store 'leaky', key ".*" in store 'leaky', key ".*" in store 'leaky', and 2 more \(declare owned proxies with `using`, or call dispose\(\), to free them at a known time\)$/,
    );
    // Dropped as ProxyStore's OwnedProxy.__del__ drops them; the moved one belongs to its receiver.
    expect(leakedStillStored).toBe(0);
    expect(movedStillStored).toBe(1);
  });
});
