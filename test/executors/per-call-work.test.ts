/**
 * Every task call and reply decodes descriptors and store configs. What is the
 * same from one call to the next (the default policy, a config that already
 * passed) is worked out once, and the shortcuts give the answers the full
 * work would: a remembered config cannot be changed afterwards, a changed
 * one is checked again, a changed temp dir moves the default file root.
 */
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { resolvePolicy } from '../../runtime/connectors/kinds.js';
import { checkStoreConfig } from '../../runtime/store/registry.js';
import { DescriptorError, FileConnector, SharedMemoryConnector, Store, decodeProxies, encodeProxies, getKey, getStore, resolveAsync, type Proxy, type ProxyDescriptor } from '../../src/index.js';
import type { StoreConfig } from '../../runtime/store/store.js';
import { decodeReply, encodeCall } from '../../runtime/executors/task-wire.js';
import { TaskRunner, resultArray, taskSignal } from '../../runtime/executors/worker/task-runner.js';
import { jsonRoundTrip, thrown } from '../../runtime/testing/outcomes.js';
import { tempDirs } from '../../runtime/testing/temp-dirs.js';

const dirs = tempDirs('per-call-');
const stores: Store[] = [];
afterEach(async () => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  await Promise.all(stores.splice(0).map((store) => store.close({ clear: true })));
});
afterAll(() => dirs.removeAll());

function open(store: Store): Store {
  stores.push(store);
  return store;
}

const fail = (what: string): never => {
  throw new DescriptorError(what);
};

describe('the default reference policy', () => {
  it('is resolved once for many decodes, not once per call (os.tmpdir() is not asked again)', async () => {
    const store = open(new Store('per-call-default', new FileConnector({ directory: await dirs.make() })));
    const descriptor = jsonRoundTrip(encodeProxies(await store.proxy({ n: 1 })));
    decodeProxies(descriptor);
    const tmpdir = vi.spyOn(os, 'tmpdir');
    for (let i = 0; i < 50; i++) decodeProxies(descriptor);
    expect(tmpdir).not.toHaveBeenCalled();
    expect(resolvePolicy()).toBe(resolvePolicy(undefined));
  });

  it('follows a change of TMPDIR within a millisecond: the default file root moves with it', async () => {
    const root = await dirs.make();
    const store = open(new Store('per-call-tmpdir', new FileConnector({ directory: path.join(root, 'objects') })));
    const descriptor = jsonRoundTrip(encodeProxies(await store.proxy({ n: 2 }))) as unknown as ProxyDescriptor;
    // The variables are looked at again at most once a millisecond (each read costs more than a call's other checks).
    const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));
    // Under a root the default policy does not allow, the descriptor is refused.
    vi.stubEnv('TMPDIR', path.join(root, 'elsewhere'));
    await settle();
    expect(thrown(() => decodeProxies(descriptor))).toBeInstanceOf(DescriptorError);
    expect(resolvePolicy().fileRoots).toEqual([path.join(root, 'elsewhere')]);
    // Once TMPDIR names its parent, the same descriptor is taken, and reads the object.
    vi.stubEnv('TMPDIR', root);
    await settle();
    const p = decodeProxies<{ n: number }>(descriptor as never);
    expect(p.n).toBe(2);
    expect(resolvePolicy().fileRoots).toEqual([root]);
  });
});

describe('store configs from elsewhere', () => {
  const policy = resolvePolicy();
  const config = (): StoreConfig => jsonRoundTrip(new Store('per-call-config', new SharedMemoryConnector({ space: 'per-call' }), { register: false }).config());

  it('are remembered once they passed: the same JSON gets the same checked config', () => {
    const first = checkStoreConfig(config(), policy, fail);
    expect(checkStoreConfig(config(), policy, fail)).toBe(first);
    expect(Object.isFrozen(first) && Object.isFrozen(first.connector) && Object.isFrozen(first.connector.options)).toBe(true);
  });

  it('cannot be changed through the message they came in, and a changed one is checked again', () => {
    const raw = config();
    const checked = checkStoreConfig(raw, policy, fail);
    (raw.connector.options as { space: string }).space = 'another';
    expect(checked.connector.options).toEqual({ ...config().connector.options });
    const again = checkStoreConfig(raw, policy, fail);
    expect(again).not.toBe(checked);
    expect((again.connector.options as { space: string }).space).toBe('another');
  });

  it('are refused when they differ where JSON cannot tell (an extra hidden field), or under a stricter policy', () => {
    checkStoreConfig(config(), policy, fail);
    const hidden = Object.defineProperty(config(), 'extra', { value: 1, enumerable: false });
    expect((thrown(() => checkStoreConfig(hidden, policy, fail)) as Error).message).toMatch(/unknown field 'extra'|unknown field "extra"|unknown field extra/);
    const strict = resolvePolicy({ maxCacheSize: 1 });
    expect((thrown(() => checkStoreConfig(config(), strict, fail)) as Error).message).toMatch(/cacheSize/);
  });

  it('decoded again and again resolve to the one store built for them', async () => {
    const store = open(new Store('per-call-decoded', new FileConnector({ directory: await dirs.make() }), { register: false }));
    const descriptor = jsonRoundTrip(encodeProxies(await store.proxy([1, 2, 3])));
    const first = getStore(decodeProxies(descriptor));
    for (let i = 0; i < 5; i++) expect(getStore(decodeProxies(jsonRoundTrip(descriptor)) as object)).toBe(first);
    expect(first).not.toBe(store);
  });
});

describe('reply metadata', () => {
  it('takes the fields JSON and structured clone make, and refuses hidden, symbol and unknown ones as before', async () => {
    const store = open(new Store('per-call-metadata', new SharedMemoryConnector()));
    const key = await store.put(new Uint8Array(8));
    const reply = (metadata: object): unknown => ({ ok: true, value: null, proxied: true, stored: { key, metadata } });
    const decode = (metadata: object): unknown => decodeReply('t', reply(metadata), { results: store }).value;
    expect(getKey(decode(structuredClone({ kind: 'object', typeName: 'Uint8Array', thenable: false })) as object)).toBe(key);
    expect(thrown(() => decode({ kind: 'object', extra: 1 }))).toBeInstanceOf(DescriptorError);
    expect((thrown(() => decode(Object.defineProperty({ kind: 'object' }, 'hidden', { value: 1, enumerable: false }))) as Error).message).toMatch(/unknown field "hidden"/);
    expect((thrown(() => decode({ kind: 'object', [Symbol('s')]: 1 })) as Error).message).toMatch(/unknown field/);
    // A worker's reply by key carries only what the caller keeps: the kind (names come from signed descriptors only).
    const runner = new TaskRunner({ make: () => Float64Array.of(1, 2, 3) });
    const made = (await runner.run(await encodeCall('make', [], { results: { store, minBytes: 0 } }, { byKey: true }))) as { stored?: { key: string; metadata: unknown } };
    expect(made.stored?.metadata).toEqual({ kind: 'object' });
    const result = decodeReply('make', made, { results: store }).value as Proxy<Float64Array>;
    expect(Array.from(await resolveAsync(result))).toEqual([1, 2, 3]);
    await store.evict(made.stored?.key as string);
    // A hidden field of a known name counts as that field, as it always did.
    expect(thrown(() => decode(Object.defineProperty({ kind: 'object' }, 'thenable', { value: 'yes', enumerable: false })))).toBeInstanceOf(DescriptorError);
  });
});

describe('argument lists', () => {
  it('encode as the full walk does: each proxy as its descriptor, every other item as it is, nested containers searched', async () => {
    const store = open(new Store('per-call-walk', new SharedMemoryConnector()));
    const p = await store.proxy(new Float64Array(4));
    const bytes = new Uint8Array(3);
    const when = new Date(0);
    const flat = encodeProxies([p, 1, bytes, when, p]) as unknown as unknown[];
    expect(flat[0]).toEqual(flat[4]);
    expect((flat[0] as ProxyDescriptor).$proxystore).toBe(1);
    expect(flat.slice(1, 4)).toEqual([1, bytes, when]);
    expect(flat[2]).toBe(bytes);
    const plain = [1, bytes, when];
    expect(encodeProxies(plain)).toBe(plain);
    const nested = encodeProxies([1, { inner: [p] }]) as unknown as [number, { inner: ProxyDescriptor[] }];
    expect(nested[1].inner[0]?.$proxystore).toBe(1);
  });
});

describe('the task context', () => {
  // Tasks that return synchronously run without the AsyncLocalStorage (whose promise hooks tax every call), so both paths are checked, in every order.
  it('reaches resultArray in sync and async tasks on every call, whichever ran before', async () => {
    const store = open(new Store('per-call-context', new SharedMemoryConnector()));
    // Each task keeps the array resultArray gave it: one born in the results store lies in shared memory.
    let made: Uint8Array | undefined;
    const born = (fill: number): Uint8Array => (made = resultArray(Uint8Array, 64).fill(fill));
    const runner = new TaskRunner(
      {
        born: () => born(1),
        bornLater: async () => {
          await new Promise((resolve) => setTimeout(resolve, 1));
          return born(2);
        },
        // Synchronous until asked otherwise: its first promise-returning call may find no context, the calls after it must.
        bornEither: (later: boolean) => (later ? Promise.resolve().then(() => born(3)) : born(3)),
      },
      { store, resultThreshold: 0 },
    );
    const bornInStore = async (task: string, ...args: unknown[]): Promise<boolean> => {
      made = undefined;
      const reply = await runner.run(await encodeCall(task, args, {}));
      await store.evict(getKey(decodeProxies(reply.value) as object)!);
      return reply.proxied && made !== undefined && (made as Uint8Array).buffer instanceof SharedArrayBuffer;
    };
    for (const task of ['born', 'bornLater', 'born', 'born', 'bornLater', 'bornLater', 'born']) expect(await bornInStore(task), task).toBe(true);
    expect(await bornInStore('bornEither', false)).toBe(true);
    expect(await bornInStore('bornEither', false)).toBe(true);
    await bornInStore('bornEither', true);
    expect(await bornInStore('bornEither', true)).toBe(true);
    expect(await bornInStore('bornEither', false)).toBe(true);
    // Outside a task there is no context left behind by the last one.
    expect(resultArray(Uint8Array, 64).buffer).not.toBeInstanceOf(SharedArrayBuffer);
  });

  it('reaches taskSignal in a sync task and after an await in an async one, with sync tasks running in between', async () => {
    const seen: boolean[] = [];
    const runner = new TaskRunner({
      readNow: () => seen.push(taskSignal().aborted),
      readLater: async () => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        if (!taskSignal().aborted) await new Promise((resolve) => taskSignal().addEventListener('abort', resolve, { once: true }));
        seen.push(taskSignal().aborted);
      },
    });
    const aborted = AbortSignal.abort(new Error('stopped'));
    for (let i = 0; i < 3; i++) await runner.run(await encodeCall('readNow', [], {}), aborted);
    const controller = new AbortController();
    const later = runner.run(await encodeCall('readLater', [], {}), controller.signal);
    await runner.run(await encodeCall('readNow', [], {}));
    controller.abort(new Error('stop'));
    await expect(later).rejects.toThrow('stop');
    await vi.waitFor(() => expect(seen).toEqual([true, true, true, false, true]));
  });
});
