/**
 * Forged descriptors against a receiver set up as a deployment would be: a
 * Redis server with a password (PROXYSTORE_REDIS_PASSWORD on the receiver), a
 * file root, and a listener on another loopback port standing in for an
 * attacker. Every forgery must be refused with a typed error before anything
 * is touched: no connection, no directory, no store kept, no key deleted.
 */
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { REDIS_PASSWORD_ENV, RedisConnector } from '../runtime/connectors/redis.js';
import { TaskRunner } from '../runtime/executors/worker/task-runner.js';
import { decodeReply } from '../runtime/executors/task-wire.js';
import { builtStoreCount } from '../runtime/store/registry.js';
import { resolvePolicy } from '../runtime/connectors/kinds.js';
import {
  ConfigError,
  DescriptorError,
  FileConnector,
  MemoryConnector,
  ProxyStoreError,
  Store,
  decodeProxies,
  dispose,
  encodeProxies,
  isProxy,
  proxyReviver,
  getStore,
  resolveAsync,
  type OwnedProxy,
  type Proxy,
  type ProxyDescriptor,
  type ReferencePolicy,
} from '../src/index.js';
import { rejection, thrown } from '../runtime/testing/outcomes.js';
import { startRedisServer, type RedisServer } from '../runtime/testing/redis-server.js';
import { tempDirs } from '../runtime/testing/temp-dirs.js';

const PASSWORD = 'receiver-secret-password-42';
const dirs = tempDirs('forged-');
let server: RedisServer;
let admin: Redis;
let listener: net.Server;
let listenerPort: number;
const connectionsToListener: string[] = [];
let root: string;
let policy: ReferencePolicy;
const stores: Store[] = [];
const good: Record<'memory' | 'file' | 'redis', ProxyDescriptor> = {} as never;

beforeAll(async () => {
  server = await startRedisServer({ args: ['--requirepass', PASSWORD] });
  admin = new Redis({ port: server.port, password: PASSWORD, lazyConnect: true });
  await admin.set('bull:jobs:meta', 'precious');
  listener = net.createServer((socket) => {
    socket.on('data', (data) => connectionsToListener.push(data.toString()));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  listenerPort = (listener.address() as net.AddressInfo).port;
  root = await dirs.make();
  policy = { fileRoots: [root], credentialServers: [`127.0.0.1:${server.port}`] };

  const memory = new Store('forged-memory', new MemoryConnector());
  const file = new Store('forged-file', new FileConnector({ directory: path.join(root, 'objects') }));
  const redis = new Store('forged-redis', new RedisConnector({ port: server.port, password: PASSWORD }));
  stores.push(memory, file, redis);
  for (const [name, store] of [['memory', memory], ['file', file], ['redis', redis]] as const) {
    good[name] = structuredClone(encodeProxies(await store.proxy({ from: name }))) as unknown as ProxyDescriptor;
  }
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await Promise.all(stores.map((store) => store.close({ clear: true })));
  admin.disconnect();
  await new Promise((resolve) => listener.close(resolve));
  await server.stop();
  await dirs.removeAll();
});

/** `base` with the field at `where` (a dotted path) set to `value`, or removed when `value` is `REMOVE`. */
const REMOVE = Symbol('remove');
function forge(base: ProxyDescriptor, where: string, value: unknown): unknown {
  const copy = structuredClone(base) as unknown as Record<string, unknown>;
  const parts = where.split('.');
  let target = copy;
  for (const part of parts.slice(0, -1)) target = target[part] as Record<string, unknown>;
  const last = parts.at(-1) as string;
  if (value === REMOVE) delete target[last];
  else target[last] = value;
  return copy;
}

function deep(levels: number): unknown {
  let value: unknown = 'x';
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

const FORGERIES: [string, () => unknown][] = [
  // Numeric fields the receiver would allocate for or wait on.
  ['cacheSize 1e8 (pre-allocated LRU slots)', () => forge(good.memory, 'store.cacheSize', 1e8)],
  ['cacheSize negative', () => forge(good.memory, 'store.cacheSize', -1)],
  ['cacheSize fractional', () => forge(good.memory, 'store.cacheSize', 1.5)],
  ['cacheSize NaN', () => forge(good.memory, 'store.cacheSize', Number.NaN)],
  ['cacheSize as a string', () => forge(good.memory, 'store.cacheSize', '16')],
  ['cacheSize Infinity', () => forge(good.memory, 'store.cacheSize', Infinity)],
  ['cacheBytes 2^60', () => forge(good.memory, 'store.cacheBytes', 2 ** 60)],
  ['cacheBytes 1 TB', () => forge(good.memory, 'store.cacheBytes', 1e12)],
  ['cacheBytes negative', () => forge(good.memory, 'store.cacheBytes', -5)],
  ['redis commandTimeoutMs 24 days', () => forge(good.redis, 'store.connector.options.commandTimeoutMs', 2_000_000_000)],
  ['redis commandTimeoutMs above the timer range', () => forge(good.redis, 'store.connector.options.commandTimeoutMs', 2 ** 40)],
  ['redis connectTimeoutMs 11 days', () => forge(good.redis, 'store.connector.options.connectTimeoutMs', 1e9)],
  ['shared-memory answerTimeoutMs 11 days', () => ({ ...structuredClone(good.memory), store: { ...good.memory.store, connector: { kind: 'shared-memory', options: { space: 'x', answerTimeoutMs: 1e9 } } } })],
  // Where the receiver's Redis password would go.
  ['redis port of a listener', () => forge(good.redis, 'store.connector.options.port', listenerPort)],
  ['redis username not agreed', () => forge(good.redis, 'store.connector.options.username', 'u')],
  ['redis host outside the allowed hosts', () => forge(good.redis, 'store.connector.options.host', 'evil.example')],
  ['redis host 127.0.0.2', () => forge(good.redis, 'store.connector.options.host', '127.0.0.2')],
  ['redis password carried in the descriptor', () => forge(good.redis, 'store.connector.options.password', 'guess')],
  ['redis prefix of another application (bull:)', () => forge(good.redis, 'store.connector.options.prefix', 'bull:')],
  ['redis empty prefix (whole keyspace)', () => forge(good.redis, 'store.connector.options.prefix', '')],
  ['redis port 0', () => forge(good.redis, 'store.connector.options.port', 0)],
  ['redis port 70000', () => forge(good.redis, 'store.connector.options.port', 70_000)],
  ['redis db -1', () => forge(good.redis, 'store.connector.options.db', -1)],
  ['redis db 1e15', () => forge(good.redis, 'store.connector.options.db', 1e15)],
  // Deleting what no connector stored.
  ['owned redis key bull:jobs:meta through prefix bull:', () => ({ ...(forge(forge(good.redis, 'store.connector.options.prefix', 'bull:') as ProxyDescriptor, 'key', 'bull:jobs:meta') as object), ownership: 'owned' })],
  ['owned redis key inside the prefix but not made by a connector', () => ({ ...(forge(good.redis, 'key', `${(good.redis.store.connector.options as { prefix: string }).prefix}victim`) as object), ownership: 'owned' })],
  ['evict-on-resolve of a file the connector did not make', () => forge(forge(good.file, 'key', 'important.txt') as ProxyDescriptor, 'evict', true)],
  ['owned file key not made by a connector', () => ({ ...(forge(good.file, 'key', 'important.txt') as object), ownership: 'owned' })],
  // Directories.
  ['file directory /etc', () => forge(good.file, 'store.connector.options.directory', '/etc')],
  ['file directory relative', () => forge(good.file, 'store.connector.options.directory', 'objects')],
  ['file directory inside the root that does not exist (would be created)', () => forge(good.file, 'store.connector.options.directory', path.join(root, 'made-by-attacker'))],
  ['file directory escaping the root with ..', () => forge(good.file, 'store.connector.options.directory', path.join(root, '..', '..', 'etc'))],
  ['file directory with NUL', () => forge(good.file, 'store.connector.options.directory', `${root}/a\0b`)],
  ['file directory through a symlink out of the root', () => forge(good.file, 'store.connector.options.directory', path.join(root, 'link-out'))],
  // Shape.
  ['version 2', () => forge(good.memory, '$proxystore', 2)],
  ['version as a string', () => forge(good.memory, '$proxystore', '1')],
  ['key missing', () => forge(good.memory, 'key', REMOVE)],
  ['key nested 40 levels', () => forge(good.memory, 'key', deep(40))],
  ['key of 5000 characters', () => forge(good.memory, 'key', 'k'.repeat(5000))],
  // 200 characters, but 1,202 once escaped as JSON: the bound is on the JSON.
  ['key of 200 control characters', () => forge(good.memory, 'key', '\u0001'.repeat(200))],
  ['key NaN', () => forge(good.memory, 'key', Number.NaN)],
  ['evict as a string', () => forge(good.memory, 'evict', 'yes')],
  ['metadata missing', () => forge(good.memory, 'metadata', REMOVE)],
  ['metadata kind symbol', () => forge(good.memory, 'metadata.kind', 'symbol')],
  ['metadata typeName a number', () => forge(good.memory, 'metadata.typeName', 12)],
  ['metadata with an unknown field', () => forge(good.memory, 'metadata.then', 'x')],
  ['ownership unknown', () => ({ ...structuredClone(good.memory), ownership: 'boss' })],
  ['unknown top-level field', () => ({ ...structuredClone(good.memory), extra: 1 })],
  ['store missing', () => forge(good.memory, 'store', REMOVE)],
  ['store name empty', () => forge(good.memory, 'store.name', '')],
  ['store name of 10,000 characters', () => forge(good.memory, 'store.name', 'n'.repeat(10_000))],
  ['store with an unknown field (register)', () => forge(good.memory, 'store.register', true)],
  ['store metrics as a string', () => forge(good.memory, 'store.metrics', 'yes')],
  ['store serializer unknown', () => forge(good.memory, 'store.serializer', 'eval')],
  ['store serializer custom with no such store here', () => forge(good.memory, 'store.serializer', 'custom')],
  ['connector null', () => forge(good.memory, 'store.connector', null)],
  ['connector kind shell', () => forge(good.memory, 'store.connector', { kind: 'shell', options: { cmd: 'rm -rf /' } })],
  ['connector kind __proto__', () => forge(good.memory, 'store.connector', { kind: '__proto__', options: {} })],
  ['connector options an array', () => forge(good.memory, 'store.connector.options', [])],
  ['connector options nested 100 levels', () => forge(good.memory, 'store.connector.options', { deep: deep(100) })],
  ['connector options of 100 kB', () => forge(good.memory, 'store.connector.options.space', 's'.repeat(100_000))],
  ['multi connector of 20 entries', () => forge(good.memory, 'store.connector', { kind: 'multi', options: { connectors: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`m${i}`, { config: { kind: 'memory', options: {} } }])) } })],
  ['multi connector with a catastrophic hostPattern', () => forge(good.memory, 'store.connector', { kind: 'multi', options: { connectors: { a: { config: { kind: 'memory', options: {} }, policy: { hostPattern: '^(a+)+$' } } } } })],
  ['multi connector hiding a redis entry at the listener', () => forge(good.memory, 'store.connector', { kind: 'multi', options: { connectors: { a: { config: { kind: 'redis', options: { host: '127.0.0.1', port: listenerPort } } } } } })],
];

describe('forged descriptors', () => {
  it(`refuses all ${FORGERIES.length} forgeries with a DescriptorError (the sender's doing, not the receiver's options), and touches nothing`, async () => {
    vi.stubEnv(REDIS_PASSWORD_ENV, PASSWORD);
    await mkdir(path.join(root, 'objects'), { recursive: true });
    await writeFile(path.join(root, 'objects', 'important.txt'), 'precious');
    await symlink('/etc', path.join(root, 'link-out'));
    const rootBefore = (await readdir(root)).sort();
    const storesBefore = builtStoreCount();
    const accepted: string[] = [];
    for (const [name, make] of FORGERIES) {
      try {
        decodeProxies({ arg: make() }, { policy });
        accepted.push(name);
      } catch (error) {
        if (!(error instanceof DescriptorError)) accepted.push(`${name} (${error instanceof ProxyStoreError ? error.code : `untyped: ${String(error)}`})`);
      }
    }
    expect(accepted).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(connectionsToListener).toEqual([]);
    expect((await readdir(root)).sort()).toEqual(rootBefore);
    expect(await readdir(path.join(root, 'objects'))).toContain('important.txt');
    expect(builtStoreCount()).toBe(storesBefore);
    expect(await admin.get('bull:jobs:meta')).toBe('precious');
  });

  it('refuses the JSON-safe forgeries through the reviver too', () => {
    vi.stubEnv(REDIS_PASSWORD_ENV, PASSWORD);
    const jsonSafe = FORGERIES.filter(([, make]) => {
      const text = JSON.stringify(make());
      return text !== undefined && !/null/.test(text);
    });
    expect(jsonSafe.length).toBeGreaterThan(40);
    for (const [name, make] of jsonSafe) {
      const error = thrown(() => JSON.parse(JSON.stringify({ arg: make() }), proxyReviver({ policy })));
      expect(error, name).toBeInstanceOf(ProxyStoreError);
    }
  });

  it('the reviver refuses a descriptor nested inside another without reading the inner one', () => {
    for (const kind of ['object', 'array', 'function']) {
      const inner = { ...good.memory, metadata: { kind } };
      for (const field of ['key', 'metadata', 'store']) {
        const text = JSON.stringify({ arg: { ...good.memory, [field]: inner } });
        const error = thrown(() => JSON.parse(text, proxyReviver({ policy })));
        expect(error).toBeInstanceOf(DescriptorError);
        expect((error as Error).message).toMatch(/descriptor inside a descriptor/);
      }
    }
  });

  it('a store config that differs in any way from one that passed before is checked in full, and refused', () => {
    const resolved = resolvePolicy(policy);
    const decode = (descriptor: unknown): unknown => decodeProxies({ arg: descriptor }, { policy: resolved });
    // Remembered by the first decode; the variants below each differ from it in one way only.
    expect(isProxy((decode(structuredClone(good.memory)) as { arg: unknown }).arg)).toBe(true);
    const withStore = (change: (store: Record<string, unknown>) => void): unknown => {
      const copy = structuredClone(good.memory) as unknown as { store: Record<string, unknown> };
      change(copy.store);
      return copy;
    };
    const variants: [string, unknown][] = [
      ['an extra field', withStore((store) => (store.register = true))],
      ['a cacheSize above the policy', withStore((store) => (store.cacheSize = 1e8))],
      ['a symbol field', withStore((store) => (store[Symbol('x') as unknown as string] = 1))],
      ['a string for a number', withStore((store) => (store.cacheSize = '16'))],
      ['an array for the connector options', withStore((store) => ((store.connector as { options: unknown }).options = []))],
    ];
    for (const [name, forged] of variants) expect(thrown(() => decode(forged)), name).toBeInstanceOf(ProxyStoreError);
    expect(isProxy((decode(structuredClone(good.memory)) as { arg: unknown }).arg)).toBe(true);
  });

  it('accepts the genuine descriptors under the same policy and resolves them', async () => {
    vi.stubEnv(REDIS_PASSWORD_ENV, PASSWORD);
    for (const kind of ['memory', 'file', 'redis'] as const) {
      const decoded = decodeProxies(JSON.parse(JSON.stringify(good[kind])) as unknown, { policy }) as Proxy<{ from: string }>;
      expect(await resolveAsync(decoded)).toEqual({ from: kind });
    }
  });

  it('sends the password to a listed server only: the same descriptor is refused without the entry, and nothing connects', async () => {
    vi.stubEnv(REDIS_PASSWORD_ENV, PASSWORD);
    const error = thrown(() => decodeProxies(structuredClone(good.redis), { policy: { fileRoots: [root] } }));
    expect(error).toBeInstanceOf(DescriptorError);
    expect((error as Error).message).toMatch(/credentialServers/);
    const withDb = decodeProxies(structuredClone(good.redis), { policy: { credentialServers: [`127.0.0.1:${server.port}/0`] } }) as Proxy<{ from: string }>;
    expect(await resolveAsync(withDb)).toEqual({ from: 'redis' });
    const otherDb = forge(good.redis, 'store.connector.options.db', 3);
    expect(() => decodeProxies(otherDb, { policy: { credentialServers: [`127.0.0.1:${server.port}/0`] } })).toThrow(/credentialServers/);
  });

  it('an owned descriptor received from elsewhere still moves ownership, and disposing it evicts only its own object', async () => {
    const store = stores[1] as Store;
    const owned = await store.ownedProxy({ moved: true });
    const descriptor = JSON.parse(JSON.stringify(encodeProxies(owned))) as unknown;
    const received = decodeProxies(descriptor, { policy }) as OwnedProxy<{ moved: boolean }>;
    expect(received.moved).toBe(true);
    await dispose(received);
    expect(await readdir(path.join(root, 'objects'))).toContain('important.txt');
  });

  it("holds a task call's results store (job data, not a descriptor) to the same checks, before running the task", async () => {
    let ran = false;
    const runner = new TaskRunner({ touch: () => (ran = true) });
    const call = (store: unknown): unknown => ({ v: 1, task: 'touch', args: [], origin: { host: 'elsewhere', pid: 1, thread: 0 }, results: { store, minBytes: 0 } });
    const forged = [
      { ...good.memory.store, cacheSize: 1e8 },
      { ...good.memory.store, cacheBytes: 2 ** 60 },
      { ...good.file.store, connector: { kind: 'file', options: { directory: path.join(root, 'made-by-job') } } },
      { ...good.redis.store, connector: { kind: 'redis', options: { host: '127.0.0.1', port: listenerPort } } },
    ];
    // A config travels as its JSON text (what encodeCall sends), checked the same; text that is no config, or too long to be one, is refused unparsed.
    const texts = [...forged.map((store) => JSON.stringify(store)), 'not json', '{"name":', JSON.stringify({ ...good.memory.store, name: 'x'.repeat(40_000) }), '['.repeat(100_000)];
    for (const store of [...forged, ...texts]) {
      await expect(runner.run(call(store)), String(JSON.stringify(store)).slice(0, 60)).rejects.toBeInstanceOf(DescriptorError);
    }
    expect(ran).toBe(false);
    expect(await readdir(root)).not.toContain('made-by-job');
  });

  it("a task call's future target may only name a key its connector makes that holds nothing yet: job data cannot write a file of its choosing nor replace an object", async () => {
    const runner = new TaskRunner({ touch: () => ({ written: true }) }, { policy });
    const file = stores.find((store) => store.name === 'forged-file') as Store;
    const call = (key: unknown): unknown => ({ v: 1, task: 'touch', args: [], origin: { host: 'elsewhere', pid: 1, thread: 0 }, future: { store: good.file.store, key } });
    const victim = good.file.key as string;
    for (const key of ['config.json', '../outside', victim, { nested: 'x'.repeat(2_000) }]) {
      await expect(runner.run(call(key)), JSON.stringify(key).slice(0, 40)).rejects.toBeInstanceOf(DescriptorError);
    }
    expect(await readdir(path.join(root, 'objects'))).not.toContain('config.json');
    expect(await file.get(victim)).toEqual({ from: 'file' });
    // A key the connector made for a future, still empty, is written as before.
    const target = (file.connector.newKey as () => string)();
    await runner.run(call(target));
    expect(await file.get(target)).toEqual({ written: true });
    await file.evict(target);
  });

  it("a task call's arguments stored by key pass the results store's checks, and name only keys their connector makes: job data can make a worker read nothing else", async () => {
    const seen: unknown[] = [];
    const runner = new TaskRunner({ touch: (value: unknown) => seen.push(value) }, { policy });
    const file = stores.find((store) => store.name === 'forged-file') as Store;
    const call = (store: unknown, key: unknown, evict = false): unknown => ({
      v: 1,
      task: 'touch',
      args: [null],
      origin: { host: 'elsewhere', pid: 1, thread: 0 },
      stored: { store, keys: [key], evict },
    });
    await writeFile(path.join(root, 'objects', 'config.json'), 'not for job data');
    // Each with a key its connector makes, so that the store config alone is at fault.
    for (const [store, key] of [
      [{ ...good.memory.store, cacheSize: 1e8 }, good.memory.key],
      [{ ...good.file.store, connector: { kind: 'file', options: { directory: path.join(root, 'made-by-job') } } }, good.file.key],
      [(forge(good.redis, 'store.connector.options.prefix', 'bull:') as ProxyDescriptor).store, good.redis.key],
    ] as const) {
      await expect(runner.run(call(store, key)), JSON.stringify(store).slice(0, 60)).rejects.toBeInstanceOf(DescriptorError);
    }
    for (const key of ['config.json', '../outside', { nested: 'x'.repeat(2_000) }, 'x'.repeat(5_000)]) {
      await expect(runner.run(call(good.file.store, key, true)), JSON.stringify(key).slice(0, 40)).rejects.toBeInstanceOf(DescriptorError);
    }
    expect(seen).toEqual([]);
    expect(await readdir(root)).not.toContain('made-by-job');
    expect(await readdir(path.join(root, 'objects'))).toContain('config.json');
    // A key the connector makes that holds nothing is a missing input, as a proxy's would be.
    const empty = (file.connector.newKey as () => string)();
    expect(await rejection(runner.run(call(good.file.store, empty)))).toMatchObject({ code: 'PS_KEY_MISSING' });
    // The genuine key is read, and the task gets the object itself.
    await runner.run(call(good.file.store, good.file.key));
    expect(seen).toEqual([{ from: 'file' }]);
    expect(connectionsToListener).toEqual([]);
  });

  it('a reply naming its result by key is taken only for a call that asked for results, with a key the results store makes and metadata as unsigned', async () => {
    const file = stores.find((store) => store.name === 'forged-file') as Store;
    const reply = (stored: unknown): unknown => ({ ok: true, value: null, proxied: true, stored });
    const metadata = { kind: 'object', typeName: 'Forged', className: 'Forged' };
    expect(thrown(() => decodeReply('t', reply({ key: good.file.key, metadata }), {}))).toBeInstanceOf(DescriptorError);
    for (const stored of [
      { key: 'config.json', metadata },
      { key: '../outside', metadata },
      { key: { nested: 'x'.repeat(2_000) }, metadata },
      { key: good.file.key, metadata: { kind: 'number' } },
      { key: good.file.key, metadata: { kind: 'object', extra: 1 } },
      'x',
    ]) {
      expect(thrown(() => decodeReply('t', reply(stored), { results: file })), JSON.stringify(stored).slice(0, 40)).toBeInstanceOf(DescriptorError);
    }
    const outcome = decodeReply('t', reply({ key: good.file.key, metadata }), { results: file });
    expect(outcome.made).toEqual([outcome.value]);
    expect(getStore(outcome.value as object)).toBe(file);
    expect(await resolveAsync(outcome.value as Proxy<{ from: string }>)).toEqual({ from: 'file' });
  });

  it('a task call whose results, future or stored field is not shaped as one is refused with a typed error, before the task runs', async () => {
    let ran = false;
    const runner = new TaskRunner({ touch: () => (ran = true) });
    const base = { v: 1, task: 'touch', args: [], origin: { host: 'elsewhere', pid: 1, thread: 0 } };
    const stored = (fields: object): object => ({ stored: { store: good.memory.store, keys: [], evict: false, ...fields } });
    for (const field of [
      { results: 'x' },
      { results: { minBytes: 0 } },
      { results: { store: good.memory.store } },
      { results: { store: good.memory.store, minBytes: 0, byKey: 'yes' } },
      { future: { key: 'k' } },
      { future: 'x' },
      { stored: 'x' },
      stored({ keys: ['one key for no argument'] }),
      stored({ keys: 'k' }),
      stored({ evict: 'yes' }),
      stored({ store: undefined }),
    ]) {
      await expect(runner.run({ ...base, ...field }), JSON.stringify(field)).rejects.toBeInstanceOf(ConfigError);
    }
    expect(ran).toBe(false);
  });

  it('hosts entries with a port admit that port only, IPv6 in brackets included', () => {
    vi.stubEnv(REDIS_PASSWORD_ENV, '');
    const pinned = { hosts: [`127.0.0.1:${server.port}`, '[::1]:6390'] };
    expect(isProxy(decodeProxies(structuredClone(good.redis), { policy: pinned }))).toBe(true);
    expect(() => decodeProxies(forge(good.redis, 'store.connector.options.port', listenerPort), { policy: pinned })).toThrow(/allowed hosts/);
    const v6 = (port: number): unknown => forge(forge(good.redis, 'store.connector.options.host', '::1') as ProxyDescriptor, 'store.connector.options.port', port);
    expect(isProxy(decodeProxies(v6(6390), { policy: pinned }))).toBe(true);
    expect(() => decodeProxies(v6(6391), { policy: pinned })).toThrow(/allowed hosts/);
  });

  it('refuses a malformed policy instead of matching by substring', () => {
    expect(() => decodeProxies(structuredClone(good.memory), { policy: { kinds: 'memory-ish' as unknown as string[] } })).toThrow(ConfigError);
    expect(() => decodeProxies(structuredClone(good.memory), { policy: { maxCacheSize: -1 } })).toThrow(ConfigError);
  });
});
