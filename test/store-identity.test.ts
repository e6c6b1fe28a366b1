/**
 * What identifies a store across processes: its name and its connector config.
 * A store built from one caller's descriptor never serves another caller's
 * descriptor of the same name, a descriptor never takes over a name, and the
 * stores built from descriptors stay bounded.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Piscina } from 'piscina';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PiscinaExecutor } from '../runtime/executors/piscina.js';
import { StoreExecutor } from '../runtime/executors/store-executor.js';
import { builtStoreCount, storeIdentity } from '../runtime/store/registry.js';
import {
  DescriptorError,
  FileConnector,
  MemoryConnector,
  Store,
  decodeProxies,
  encodeProxies,
  getOrCreateStore,
  getStore,
  isProxy,
  resolveAsync,
  serialize,
  type Proxy,
  type ProxyDescriptor,
} from '../src/index.js';
import { fixture, floats, sumOf, taskPool, type FixtureTasks } from './executors/helpers.js';
import { jsonRoundTrip } from '../runtime/testing/outcomes.js';
import { startRedisServer, type RedisServer } from '../runtime/testing/redis-server.js';
import { tempDirs } from '../runtime/testing/temp-dirs.js';

const dirs = tempDirs('identity-');
const stores: Store[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close({ clear: true })));
});
afterAll(() => dirs.removeAll());

async function fileStore(name: string, directory?: string): Promise<Store> {
  const store = new Store(name, new FileConnector({ directory: directory ?? (await dirs.make()) }));
  stores.push(store);
  return store;
}

describe('store identity', () => {
  it('is the name plus the canonical connector config, not cache settings or field order', () => {
    const connector = { kind: 'memory', options: { space: 's' } };
    const a = storeIdentity({ name: 'n', connector });
    expect(storeIdentity({ name: 'n', connector: { options: { space: 's' }, kind: 'memory' } })).toBe(a);
    expect(storeIdentity({ name: 'n', connector: { kind: 'memory', options: { space: 't' } } })).not.toBe(a);
    expect(storeIdentity({ name: 'm', connector })).not.toBe(a);
  });

  it('descriptors of same-named stores with different connectors each read their own objects, in any order', async () => {
    const senders = await Promise.all([1, 2, 3].map(() => fileStore('same-name')));
    const descriptors = await Promise.all(senders.map(async (store, i) => jsonRoundTrip(encodeProxies(await store.proxy({ caller: i })))));
    for (const order of [[0, 1, 2], [2, 1, 0], [1, 0, 2]]) {
      for (const i of order) expect(await resolveAsync(decodeProxies(descriptors[i]) as Proxy<{ caller: number }>)).toEqual({ caller: i });
    }
  });

  it('a descriptor cannot squat on a name: the registered store keeps it, and a legitimate descriptor reads its own directory', async () => {
    const attackerDir = await dirs.make();
    const legit = await fileStore('results', await dirs.make());
    const legitDescriptor = jsonRoundTrip(encodeProxies(await legit.proxy({ genuine: true }))) as unknown as ProxyDescriptor;
    // The attacker plants an object under the same key name in a directory of their own, and sends its descriptor first.
    await writeFile(path.join(attackerDir, legitDescriptor.key as string), serialize({ genuine: false }));
    const forged = { ...legitDescriptor, store: { ...legitDescriptor.store, connector: { kind: 'file', options: { directory: attackerDir } } } };
    expect(await resolveAsync(decodeProxies(forged) as Proxy<{ genuine: boolean }>)).toEqual({ genuine: false });
    expect(await resolveAsync(decodeProxies(legitDescriptor) as Proxy<{ genuine: boolean }>)).toEqual({ genuine: true });
    expect(getStore('results')).toBeUndefined();
    const registered = new Store('results', new FileConnector({ directory: await dirs.make() }), { register: true });
    stores.push(registered);
    expect(getStore('results')).toBe(registered);
    expect(await resolveAsync(decodeProxies(legitDescriptor) as Proxy<{ genuine: boolean }>)).toEqual({ genuine: true });
  });

  it('the registered store serves descriptors of its own identity, whatever cache settings they carry', async () => {
    const store = new Store('own', new MemoryConnector(), { register: true });
    stores.push(store);
    const descriptor = jsonRoundTrip(encodeProxies(await store.proxy({ own: 1 }))) as unknown as ProxyDescriptor;
    expect(getOrCreateStore({ ...descriptor.store, cacheSize: 3 })).toBe(store);
    expect(getOrCreateStore({ ...descriptor.store, connector: { kind: 'memory', options: { space: 'elsewhere' } } })).not.toBe(store);
  });

  it('keeps at most 64 stores built from descriptors, and makes no directory for 5,000 names', async () => {
    const root = await dirs.make();
    const base = jsonRoundTrip(encodeProxies(await (await fileStore('base')).proxy({}))) as unknown as ProxyDescriptor;
    for (let i = 0; i < 5_000; i++) {
      const named = { ...base, store: { ...base.store, name: `flood-${i}`, connector: { kind: 'file', options: { directory: path.join(root, `d${i}`) } } } };
      expect(() => decodeProxies(named)).toThrow(DescriptorError);
    }
    expect(await readdir(root)).toEqual([]);
    await mkdir(path.join(root, 'exists'));
    for (let i = 0; i < 5_000; i++) {
      decodeProxies({ ...base, store: { ...base.store, name: `flood-${i}`, connector: { kind: 'file', options: { directory: path.join(root, 'exists') } } } });
    }
    expect(builtStoreCount()).toBeLessThanOrEqual(64);
    expect(await readdir(root)).toEqual(['exists']);
  });
});

describe('a piscina pool serving callers whose stores share a name but not a connector', () => {
  let pool: Piscina;
  beforeAll(() => {
    pool = taskPool('executor-tasks.mjs', 1);
  });
  afterAll(() => pool.destroy());

  it('serves five callers in turn, each with its own file directory, inputs and results by proxy', async () => {
    for (let caller = 0; caller < 5; caller++) {
      const store = await fileStore('pool-store');
      await using executor = new StoreExecutor(new PiscinaExecutor<FixtureTasks>(pool), { store, shouldProxy: 'always', resultThreshold: 0 });
      const input = floats(8 * 1024, caller * 1000);
      expect(await executor.submit('sum', input)).toBe(sumOf(input));
      const scaled = await executor.submit('scale', input, 2);
      expect(isProxy(scaled)).toBe(true);
      expect(scaled[1]).toBe(2 * (caller * 1000 + 1));
    }
  });
});

describe('stores built from descriptors in a long-running receiver', () => {
  let server: RedisServer;
  let admin: Redis;
  beforeAll(async () => {
    server = await startRedisServer();
    admin = new Redis({ port: server.port, lazyConnect: true });
  });
  afterAll(async () => {
    admin.disconnect();
    await server.stop();
  });

  it('close the connections of the ones dropped from the bounded map once nothing holds them', async () => {
    const child = spawn(process.execPath, ['--expose-gc', fixture('built-store-churn.mjs'), String(server.port), '150'], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      const [line] = (await once(child.stdout, 'data')) as [Buffer];
      expect(JSON.parse(line.toString())).toEqual({ met: 150 });
      const clients = (await admin.client('LIST')) as string;
      // Ours (the admin connection) plus at most one per store still kept.
      expect(clients.trim().split('\n').length).toBeLessThanOrEqual(1 + 64);
    } finally {
      child.stdin.end('stop\n');
      await once(child, 'exit');
    }
  });
});
