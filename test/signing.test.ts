import path from 'node:path';
import { Piscina } from 'piscina';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TaskError } from '../runtime/executors/errors.js';
import { PiscinaExecutor } from '../runtime/executors/piscina.js';
import { StoreExecutor } from '../runtime/executors/store-executor.js';
import { decodeReply, encodeCall } from '../runtime/executors/task-wire.js';
import { TaskRunner } from '../runtime/executors/worker/task-runner.js';
import {
  ConfigError,
  DescriptorError,
  FileConnector,
  MemoryConnector,
  SECRET_ENV,
  Store,
  configureReferences,
  decodeProxies,
  dispose,
  encodeProxies,
  isResolved,
  proxyReviver,
  resolveAsync,
  type OwnedProxy,
  type Proxy,
  type ProxyDescriptor,
} from '../src/index.js';
import { fixture, floats, sumOf, type FixtureTasks } from './executors/helpers.js';
import { jsonRoundTrip, rejection, thrown } from '../runtime/testing/outcomes.js';
import { tempDirs } from '../runtime/testing/temp-dirs.js';

const SECRET = 'a-deployment-secret-of-32-bytes!';
const stores: Store[] = [];
const dirs = tempDirs('signing-');
afterEach(async () => {
  configureReferences({ secret: null });
  vi.unstubAllEnvs();
  await Promise.all(stores.splice(0).map((store) => store.close({ clear: true })));
  await dirs.removeAll();
});
function memoryStore(name: string): Store {
  const store = new Store(name, new MemoryConnector());
  stores.push(store);
  return store;
}

describe('signed references', () => {
  it('encodeProxies and JSON.stringify sign with the configured secret; the receiver resolves them', async () => {
    configureReferences({ secret: SECRET });
    const store = memoryStore('signed');
    const p = await store.proxy({ v: 1 });
    const encoded = jsonRoundTrip(encodeProxies(p)) as unknown as ProxyDescriptor;
    expect(encoded.sig).toMatch(/^hmac-sha256:[A-Za-z0-9_-]{43}$/);
    expect(await resolveAsync(decodeProxies(encoded) as Proxy<{ v: number }>)).toEqual({ v: 1 });
    const viaJson = JSON.parse(JSON.stringify({ p }), proxyReviver()) as { p: { v: number } };
    expect(viaJson.p.v).toBe(1);
  });

  it('a signature survives field reordering (canonical JSON) but not a changed field', async () => {
    configureReferences({ secret: SECRET });
    const store = memoryStore('reordered');
    const encoded = jsonRoundTrip(encodeProxies(await store.proxy({ v: 2 }))) as unknown as Record<string, unknown>;
    const reordered = Object.fromEntries(Object.entries(encoded).reverse());
    expect((decodeProxies(reordered) as { v: number }).v).toBe(2);
    for (const tampered of [
      { ...encoded, evict: true },
      { ...encoded, key: 'other' },
      { ...encoded, store: { ...(encoded.store as object), cacheSize: 3 } },
      { ...encoded, sig: `${encoded.sig as string}A` },
      { ...encoded, sig: 42 },
    ]) {
      const error = thrown(() => decodeProxies(tampered));
      expect(error).toBeInstanceOf(DescriptorError);
      expect((error as Error).message).toMatch(/signature does not match/);
    }
  });

  it('refuses unsigned descriptors and ones signed with another secret, before touching anything', async () => {
    const store = memoryStore('unsigned');
    const unsigned = jsonRoundTrip(encodeProxies(await store.proxy({ v: 3 }))) as unknown as ProxyDescriptor;
    expect(unsigned.sig).toBeUndefined();
    configureReferences({ secret: 'another-secret-entirely-0000' });
    const other = jsonRoundTrip(encodeProxies(await store.proxy({ v: 4 })));
    configureReferences({ secret: SECRET });
    expect(() => decodeProxies(unsigned)).toThrow(/unsigned proxy descriptor refused/);
    expect(() => decodeProxies(other)).toThrow(/signature does not match/);
    // Checked first: a directory that does not exist is not even looked at, let alone made.
    const root = await dirs.make();
    const elsewhere = { ...unsigned, store: { ...unsigned.store, connector: { kind: 'file', options: { directory: path.join(root, 'never') } } } };
    expect(() => decodeProxies(elsewhere)).toThrow(/unsigned/);
  });

  it('PROXYSTORE_SECRET signs and checks when no secret is configured in code', async () => {
    vi.stubEnv(SECRET_ENV, SECRET);
    const store = memoryStore('env');
    const encoded = jsonRoundTrip(encodeProxies(await store.proxy({ v: 5 }))) as unknown as ProxyDescriptor;
    expect(encoded.sig).toBeDefined();
    expect((decodeProxies(encoded) as { v: number }).v).toBe(5);
    vi.stubEnv(SECRET_ENV, 'another-secret-entirely-0000');
    expect(() => decodeProxies(encoded)).toThrow(DescriptorError);
  });

  it('refuses secrets shorter than 16 bytes', () => {
    expect(() => configureReferences({ secret: 'short' })).toThrow(ConfigError);
    vi.stubEnv(SECRET_ENV, 'short');
    expect(() => encodeProxies({})).not.toThrow();
    expect(() => decodeProxies({ $proxystore: 1 })).toThrow(ConfigError);
  });

  it('signs owned proxies as they move, so the receiver becomes the owner', async () => {
    configureReferences({ secret: SECRET });
    const store = memoryStore('owned-signed');
    const owned = await store.ownedProxy({ v: 6 });
    const encoded = jsonRoundTrip(encodeProxies(owned)) as unknown as ProxyDescriptor & { ownership: string };
    expect(encoded.ownership).toBe('owned');
    const received = decodeProxies(encoded) as OwnedProxy<{ v: number }>;
    expect(received.v).toBe(6);
    await dispose(received);
    expect(() => decodeProxies({ ...encoded, ownership: 'ref' })).toThrow(/signature/);
  });

  it('a signed descriptor is trusted: its metadata answers instanceof unresolved and its connector is not held to the policy', async () => {
    configureReferences({ secret: SECRET });
    const root = await dirs.make();
    const store = new Store('signed-file', new FileConnector({ directory: root }));
    stores.push(store);
    const p = await store.proxy(new Float64Array([1, 2, 3]));
    const encoded = jsonRoundTrip(encodeProxies(p));
    // fileRoots would refuse this directory for an unsigned descriptor.
    const decoded = decodeProxies(encoded, { policy: { fileRoots: ['/nonexistent-root'] } }) as Proxy<Float64Array>;
    expect(decoded instanceof Float64Array).toBe(true);
    expect(isResolved(decoded)).toBe(false);
    expect(Array.from(await resolveAsync(decoded))).toEqual([1, 2, 3]);
    configureReferences({ secret: null });
    expect(() => decodeProxies(jsonRoundTrip(encodeProxies(p)), { policy: { fileRoots: ['/nonexistent-root'] } })).toThrow(DescriptorError);
  });
});

describe('references by key where references are signed', () => {
  it('a thread with a secret refuses arguments and results by key, which carry no signature, and its callers send descriptors', async () => {
    const root = await dirs.make();
    const store = new Store('signed-by-key', new FileConnector({ directory: root }));
    stores.push(store);
    const key = await store.put({ n: 1 });
    let ran = false;
    const runner = new TaskRunner({ touch: () => (ran = true) });
    const call = { v: 1, task: 'touch', args: [null], origin: { host: 'elsewhere', pid: 1, thread: 0 }, stored: { store: store.config(), keys: [key], evict: false } };
    const reply = { ok: true, value: null, proxied: true, stored: { key, metadata: { kind: 'object' } } };
    // Without a secret both are taken.
    await runner.run(call);
    expect(ran).toBe(true);
    expect(decodeReply('touch', reply, { results: store }).made).toHaveLength(1);
    ran = false;
    configureReferences({ secret: SECRET });
    expect(await rejection(runner.run(call))).toBeInstanceOf(DescriptorError);
    expect(ran).toBe(false);
    expect(thrown(() => decodeReply('touch', reply, { results: store }))).toBeInstanceOf(DescriptorError);
    // Its calls ask for results by descriptor, and arguments stored to go by key are not sent on nulls.
    const sent = await encodeCall('touch', [], { results: { store, minBytes: 0 } }, { byKey: true });
    expect(sent.results?.byKey).toBeUndefined();
    expect(await rejection(encodeCall('touch', [null], { stored: { store, keys: [key], evict: false } }, { byKey: true }))).toBeInstanceOf(ConfigError);
  });
});

describe('signed references through a worker pool', () => {
  const pool = (secret: string): Piscina =>
    new Piscina({ filename: fixture('executor-tasks.mjs'), minThreads: 1, maxThreads: 1, atomics: 'async', env: { ...process.env, PROXYSTORE_SECRET: secret } });

  it('workers sharing the secret take signed inputs and sign their results; workers with another secret refuse the inputs', async () => {
    vi.stubEnv(SECRET_ENV, SECRET);
    const root = await dirs.make();
    const store = new Store('signed-pool', new FileConnector({ directory: root }));
    stores.push(store);
    const input = floats(64 * 1024);
    const sharing = pool(SECRET);
    try {
      await using executor = new StoreExecutor(new PiscinaExecutor<FixtureTasks>(sharing), { store, shouldProxy: 'always', resultThreshold: 0 });
      expect(await executor.submit('sum', input)).toBe(sumOf(input));
      const scaled = await executor.submit('scale', input, 2);
      expect(scaled[3]).toBe(6);
    } finally {
      await sharing.destroy();
    }
    const other = pool('another-secret-entirely-0000');
    try {
      await using executor = new StoreExecutor(new PiscinaExecutor<FixtureTasks>(other), { store, shouldProxy: 'always' });
      const error = await rejection(executor.submit('sum', input));
      expect(error).toBeInstanceOf(TaskError);
      expect((error as Error).message).toMatch(/DescriptorError.*signature does not match/);
    } finally {
      await other.destroy();
    }
  });
});
