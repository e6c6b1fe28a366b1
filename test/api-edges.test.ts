/**
 * Edges of the public API that Python ProxyStore's own tests probe: wrong
 * arguments are refused at the call that got them, with a typed error, and
 * what the store reports (metrics, routing) matches what happened.
 */
import os from 'node:os';
import { format, inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { FileConnector } from '../runtime/connectors/file.js';
import { MemoryConnector } from '../runtime/connectors/memory.js';
import { MultiConnector, type MultiPolicy } from '../runtime/connectors/multi.js';
import { SharedMemoryConnector } from '../runtime/connectors/shared-memory/connector.js';
import { RedisConnector } from '../runtime/connectors/redis.js';
import { ConfigError, DescriptorError, NonProxiableTypeError, SerializationError } from '../runtime/errors.js';
import { ContextLifetime, LifetimeEvictionError, StaticLifetime } from '../runtime/store/lifetimes.js';
import { extract, proxy } from '../runtime/proxy/proxy.js';
import { Store } from '../runtime/store/store.js';
import { serialize, deserialize } from '../runtime/serialize/serializer.js';
import type { ConnectorConfig, Key } from '../runtime/connectors/connector.js';
import { connectorFromConfig } from '../runtime/connectors/kinds.js';
import { PeerConnector } from '../runtime/connectors/peer.js';

const memoryStore = (name: string, options: ConstructorParameters<typeof Store>[2] = {}): Store => new Store(name, new MemoryConnector(), options);

describe('a custom serializer', () => {
  it('that returns something other than a Uint8Array is refused at put, and nothing is stored', async () => {
    const connector = new MemoryConnector();
    const store = new Store('bad-serializer', connector, {
      serializer: (value) => JSON.stringify(value) as unknown as Uint8Array,
      deserializer: (bytes) => JSON.parse(new TextDecoder().decode(bytes)) as unknown,
    });
    await expect(store.put({ a: 1 })).rejects.toThrow(SerializationError);
    await expect(store.put({ a: 1 })).rejects.toThrow(/returned a value of type string, not a Uint8Array/);
    await expect(store.proxy({ a: 1 })).rejects.toThrow(SerializationError);
    const arrayBuffer = new Store('array-buffer-serializer', new MemoryConnector(), {
      serializer: (value) => serialize(value).buffer as unknown as Uint8Array,
      deserializer: deserialize,
    });
    await expect(arrayBuffer.put([1])).rejects.toThrow(/returned a ArrayBuffer/);
    await store.close({ clear: true });
    await arrayBuffer.close({ clear: true });
  });

  it('that returns a Buffer (a Uint8Array) is accepted and round-trips', async () => {
    const store = new Store('buffer-serializer', new MemoryConnector(), {
      serializer: (value) => Buffer.from(JSON.stringify(value)),
      deserializer: (bytes) => JSON.parse(new TextDecoder().decode(bytes)) as unknown,
    });
    const key = await store.put({ a: [1, 2] });
    expect(await store.get(key)).toEqual({ a: [1, 2] });
    await store.close({ clear: true });
  });
});

describe('lifetimes', () => {
  it('StaticLifetime.addKey without a store is refused at once, and the lifetime still evicts its other keys', async () => {
    const store = memoryStore('static-addkey');
    const key = await store.put([1]);
    const lifetime = StaticLifetime.instance();
    lifetime.addKey(key, store);
    expect(() => (lifetime.addKey as (key: Key) => void)('some-key')).toThrow(ConfigError);
    expect(() => (lifetime.addKey as (key: Key) => void)('some-key')).toThrow(/needs the Store that holds the key/);
    expect(() => lifetime.addKey('some-key', {} as Store)).toThrow(ConfigError);
    await lifetime.close();
    expect(await store.exists(key)).toBe(false);
    await store.close();
  });

  it('close() evicts every key it can and reports all failures together', async () => {
    const good = memoryStore('lifetime-good');
    const broken = memoryStore('lifetime-broken');
    const lifetime = new ContextLifetime(good);
    const kept = await good.putBatch([[1], [2]]);
    const doomed = await broken.putBatch([[3], [4]]);
    for (const key of kept) lifetime.addKey(key);
    for (const key of doomed) lifetime.addKey(key, broken);
    // A store whose evict throws synchronously (not a rejection) must not stop the others.
    broken.evict = () => {
      throw new Error('disk on fire');
    };
    const error: unknown = await lifetime.close().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LifetimeEvictionError);
    const failures = (error as LifetimeEvictionError).failures;
    expect(failures.map((f) => f.key).sort()).toEqual([...doomed].sort());
    expect(failures.every((f) => f.storeName === 'lifetime-broken')).toBe(true);
    expect((error as Error).message).toMatch(/could not evict 2 of 4 keys/);
    expect((error as LifetimeEvictionError).errors.map((e) => (e as Error).message)).toEqual(['disk on fire', 'disk on fire']);
    for (const key of kept) expect(await good.exists(key)).toBe(false);
    await good.close();
    await broken.close();
  });
});

describe('proxies', () => {
  it('ownedProxy(null) and ownedProxy of primitives are NonProxiableTypeError, storing nothing', async () => {
    const store = memoryStore('owned-null', { metrics: true });
    await expect(store.ownedProxy(null as unknown as object)).rejects.toThrow(NonProxiableTypeError);
    await expect(store.ownedProxy(null as unknown as object)).rejects.toThrow(/type null cannot be proxied/);
    await expect(store.ownedProxy(7 as unknown as object)).rejects.toThrow(NonProxiableTypeError);
    expect(store.metrics()?.put).toBeUndefined();
    await store.close();
  });

  it('proxy() refuses a factory that is not a function at once', () => {
    expect(() => proxy('not a function' as never)).toThrow(ConfigError);
    expect(() => proxy('not a function' as never)).toThrow(/takes a factory function.*type string/);
    expect(() => proxy(undefined as never)).toThrow(ConfigError);
  });

  it('util.format %o and console-style inspection of a proxy work, resolved or not, without resolving it', async () => {
    const store = memoryStore('inspect-o');
    const populated = await store.proxy({ answer: 42 });
    expect(format('%o', populated)).toContain('answer: 42');
    let calls = 0;
    const lazy = proxy(() => {
      calls += 1;
      return { hidden: true };
    });
    expect(format('%o', lazy)).toContain('unresolved');
    expect(format('%O %s', lazy, 'x')).toContain('unresolved');
    expect(inspect(lazy, { showProxy: true })).toContain('unresolved');
    expect(calls).toBe(0);
    const arrayProxy = proxy(() => [1, 2], { metadata: { kind: 'array' } });
    expect(format('%o', arrayProxy)).toContain('unresolved');
    await store.close();
  });

  it('extract passes a value that is not a proxy through, so an executor result (ProxyOr<T>) can be extracted either way', async () => {
    const plain = { a: 1 };
    expect(extract(plain)).toBe(plain);
    const store = memoryStore('extract-either');
    const p = await store.proxy(plain);
    expect(extract(p)).toBe(plain);
    await store.close();
  });
});

describe('connector constructors refuse options they do not know, naming them', () => {
  // Checked before the constructor does anything: this directory is never made.
  const dir = (): string => `${os.tmpdir()}/never-made-by-api-edges`;
  const cases: [string, () => unknown, RegExp][] = [
    ['memory', () => new MemoryConnector({ space: 'x', spcae: 'y' } as never), /memory connector: unknown option 'spcae'/],
    ['file', () => new FileConnector({ directory: dir(), directroy: 'x' } as never), /file connector: unknown option 'directroy'/],
    ['shared-memory', () => new SharedMemoryConnector({ answerTimeout: 5 } as never), /shared-memory connector: unknown option 'answerTimeout'/],
    ['redis', () => new RedisConnector({ port: 1, commandTimeout: 5, hots: 'x' } as never), /redis connector: unknown options 'commandTimeout', 'hots'/],
    ['multi', () => new MultiConnector({ connectors: { m: { connector: new MemoryConnector() } }, policy: {} } as never), /multi connector: unknown option 'policy'/],
    ['peer', () => new PeerConnector({ space: 'x', secrte: 'y' } as never), /peer connector: unknown option 'secrte'/],
    [
      'multi policy',
      () => new MultiConnector({ connectors: { m: { connector: new MemoryConnector(), policy: { subset_tags: ['a'] } as MultiPolicy } } }),
      /unknown policy field 'subset_tags'/,
    ],
  ];
  for (const [name, make, message] of cases) {
    it(name, () => {
      expect(make).toThrow(ConfigError);
      expect(make).toThrow(message);
    });
  }
});

describe('a connector rebuilt from a config refuses options its kind does not know, naming them', () => {
  const configs: [string, ConnectorConfig][] = [
    ['memory', { kind: 'memory', options: { space: 'x', spcae: 'y' } }],
    ['file', { kind: 'file', options: { directory: `${os.tmpdir()}/never-made-by-api-edges`, wrong_arg: 1 } }],
    ['shared-memory', { kind: 'shared-memory', options: { space: 'x', answerTimeout: 5 } }],
    ['redis', { kind: 'redis', options: { port: 1, comandTimeoutMs: 5 } }],
    ['peer', { kind: 'peer', options: { space: 'x', secrte: 'y' } }],
    ['multi', { kind: 'multi', options: { connectors: {}, policy: {} } }],
  ];
  for (const [kind, config] of configs) {
    it(kind, () => {
      const unknown = Object.keys(config.options).at(-1) as string;
      // This process's own config: the caller's mistake, as with the constructor.
      const own = (): unknown => connectorFromConfig(config, { trusted: true });
      expect(own).toThrow(ConfigError);
      expect(own).toThrow(`${kind} connector: unknown option '${unknown}'`);
      // A config from elsewhere (a descriptor, job data): refused as such. Memory and shared memory are not in the default policy's reach from elsewhere, so a policy admits them here.
      const fromElsewhere = (): unknown => connectorFromConfig(config, { trusted: false, policy: { kinds: [kind] } });
      expect(fromElsewhere).toThrow(DescriptorError);
      expect(fromElsewhere).toThrow(`unknown option '${unknown}'`);
    });
  }
});

describe('MultiConnector routing follows ProxyStore: requiredTags is a superset rule, tags a subset rule', () => {
  async function routed(policies: Record<string, MultiPolicy>, tags: readonly string[] | undefined): Promise<string | undefined> {
    const children = Object.fromEntries(Object.keys(policies).map((name) => [name, new MemoryConnector()]));
    const multi = new MultiConnector({ connectors: Object.fromEntries(Object.entries(policies).map(([name, policy]) => [name, { connector: children[name]!, policy }])) });
    try {
      const key = await multi.putWith(new Uint8Array(4), tags === undefined ? {} : { tags });
      return (key as { c: string }).c;
    } catch {
      return undefined;
    } finally {
      await multi.close({ clear: true });
    }
  }

  it('a put carrying more tags than requiredTags asks for is accepted', async () => {
    expect(await routed({ archive: { requiredTags: ['a', 'b'] } }, ['a', 'b', 'c'])).toBe('archive');
    expect(await routed({ archive: { requiredTags: ['a', 'b'] } }, ['a'])).toBeUndefined();
    expect(await routed({ archive: { requiredTags: ['a'] } }, undefined)).toBeUndefined();
  });

  it('a policy without tags takes tagged puts; a policy with tags takes only puts whose tags it lists', async () => {
    expect(await routed({ plain: {} }, ['x'])).toBe('plain');
    expect(await routed({ local: { tags: ['local', 'default'] } }, ['local'])).toBe('local');
    expect(await routed({ local: { tags: ['local', 'default'] } }, ['local', 'global'])).toBeUndefined();
    expect(await routed({ local: { tags: ['local'], priority: 2 }, global: { tags: ['global'], priority: 1 } }, ['global'])).toBe('global');
    expect(await routed({ local: { tags: ['local'], priority: 2 }, global: { tags: ['global'], priority: 1 } }, [])).toBe('local');
  });

  it('accepts a list of host patterns: active when any of them matches the whole host name', async () => {
    const host = os.hostname();
    const escaped = host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(await routed({ here: { hostPattern: ['no-such-host', escaped.toUpperCase()] } }, undefined)).toBe('here');
    expect(await routed({ nowhere: { hostPattern: ['no-such-host', `${escaped}x`] } }, undefined)).toBeUndefined();
    expect(() => new MultiConnector({ connectors: { m: { connector: new MemoryConnector(), policy: { hostPattern: [] } } } })).toThrow(ConfigError);
    const multi = new MultiConnector({ connectors: { m: { connector: new MemoryConnector(), policy: { hostPattern: ['a', escaped] } } } });
    const config = multi.config();
    const rebuilt = new MultiConnector({ connectors: { m: { config: { kind: 'memory', options: {} }, policy: (config.options as unknown as { connectors: { m: { policy: MultiPolicy } } }).connectors.m.policy } } });
    expect(await rebuilt.putWith(new Uint8Array(1), {})).toMatchObject({ c: 'm' });
    await multi.close({ clear: true });
    await rebuilt.close({ clear: true });
  });
});

describe('metrics', () => {
  it('get counts every ask: cache hits, reads and misses', async () => {
    const store = memoryStore('metrics-get', { metrics: true });
    const key = await store.put(new Float64Array(128));
    await store.get(key);
    await store.get(key);
    await store.get('missing-key');
    expect(store.metrics()?.get?.count).toBe(3);
    expect(store.metrics()?.cacheHit?.count).toBe(1);
    // A batch counts each of its keys, wherever it was found.
    await store.getBatch([key, 'missing-key', key]);
    expect(store.metrics()?.get?.count).toBe(6);
    await store.close();
  });

  it("the connector's lines count the bytes it moved", async () => {
    const store = memoryStore('metrics-bytes', { metrics: true, cacheSize: 0 });
    const value = new Float64Array(1_000);
    const key = await store.put(value);
    const keys = await store.putBatch([value, value]);
    await store.get(key);
    await store.getBatch(keys);
    const metrics = store.metrics()!;
    const size = metrics.put!.totalBytes;
    expect(size).toBeGreaterThan(8_000);
    expect(metrics['connector.put']!.totalBytes).toBe(size);
    expect(metrics['connector.putBatch']!.totalBytes).toBe(2 * size);
    expect(metrics['connector.get']!.totalBytes).toBe(size);
    expect(metrics['connector.getBatch']!.totalBytes).toBe(2 * size);
    await store.close();
  });
});
