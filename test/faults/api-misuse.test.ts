/**
 * Wrong calls thrown at the public API, as a new user (or a fuzzer) makes
 * them: every one must fail with a ProxyStoreError subclass that names what
 * was wrong, never a raw TypeError or RangeError from deep inside, and never
 * hang.
 */
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  ConnectorError,
  FileConnector,
  InvalidArgumentError,
  MemoryConnector,
  NonProxiableTypeError,
  ProxyStoreError,
  SerializationError,
  Store,
  StoreExecutor,
  decodeProxies,
  registerStore,
  type Key,
} from '../../src/index.js';
import { RedisConnector } from '../../runtime/connectors/redis.js';
import { BullMQExecutor } from '../../runtime/executors/bullmq/executor.js';
import { PiscinaExecutor } from '../../runtime/executors/piscina.js';
import { taskPool } from '../executors/helpers.js';

const store = new Store(`misuse-${crypto.randomUUID()}`, new MemoryConnector());
const pool = taskPool('executor-tasks.mjs', 1);
const executor = new PiscinaExecutor(pool);
afterAll(async () => {
  await executor.shutdown();
  await pool.close();
  await store.close();
});

const cyclic: { self?: unknown } = {};
cyclic.self = cyclic;
const deep = (levels: number): unknown => {
  let value: unknown = {};
  for (let i = 0; i < levels; i++) value = { value };
  return value;
};
/** A reference to a file store in the temp dir, as job data would carry it. */
const fileDescriptor = {
  $proxystore: 1,
  store: {
    name: `misuse-file-${crypto.randomUUID()}`,
    connector: { kind: 'file', options: { directory: path.join(os.tmpdir(), `misuse-${crypto.randomUUID()}`) } },
    cacheSize: 1,
    metrics: false,
    populateTarget: false,
    serializer: 'default',
  },
  key: 'k',
  evict: false,
  metadata: { kind: 'object' },
};
const anyStore = store as unknown as Record<string, (...args: unknown[]) => unknown>;
const anyExecutor = executor as unknown as { run(task: unknown, args: unknown, options?: unknown): Promise<unknown> };

/** A wrong call, and the argument its error must name (for InvalidArgumentError) or the class it must be. */
type Misuse = readonly [label: string, call: () => unknown, expected: string | (abstract new (...args: never[]) => ProxyStoreError)];

const misuses: readonly Misuse[] = [
  ['store.get(10n)', () => anyStore.get!(10n), 'key'],
  ['store.get(Symbol())', () => anyStore.get!(Symbol('k')), 'key'],
  ['store.get(a function)', () => anyStore.get!(() => 1), 'key'],
  ['store.get(a cyclic object)', () => anyStore.get!(cyclic), 'key'],
  ['store.getSync(undefined)', () => anyStore.getSync!(undefined), 'key'],
  ['store.exists(10n)', () => anyStore.exists!(10n), 'key'],
  ['store.evict(10n)', () => anyStore.evict!(10n), 'key'],
  ['store.proxyFromKey(10n)', () => anyStore.proxyFromKey!(10n), 'key'],
  ["store.proxyFromKey(key, { metadata: { kind: 'typed-array' } })", () => anyStore.proxyFromKey!('k', { metadata: { kind: 'typed-array' } }), 'options.metadata'],
  ['store.getBatch(null)', () => anyStore.getBatch!(null), 'keys'],
  ['store.getBatch([10n])', () => anyStore.getBatch!([10n]), 'keys[0]'],
  ['store.put(undefined)', () => store.put(undefined), 'obj'],
  ['store.put(x, null)', () => anyStore.put!({}, null), 'options'],
  ['store.put(x, "tags")', () => anyStore.put!({}, 'tags'), 'options'],
  ['store.putBatch(null)', () => anyStore.putBatch!(null), 'objs'],
  ['store.putBatch("abc")', () => anyStore.putBatch!('abc'), 'objs'],
  ['store.putBatch([1, undefined])', () => store.putBatch([1, undefined]), 'objs[1]'],
  ['store.proxy(null)', () => anyStore.proxy!(null), NonProxiableTypeError],
  ['store.proxy(x, null)', () => anyStore.proxy!({}, null), 'options'],
  ['store.proxyBatch(null)', () => anyStore.proxyBatch!(null), 'objs'],
  ['store.put(5,000-level nesting)', () => store.put(deep(5_000)), SerializationError],
  ['store.proxy(5,000-level nesting)', () => store.proxy(deep(5_000) as object), SerializationError],
  ['store.put(a function)', () => store.put(() => 1), SerializationError],
  ["new Store('', connector)", () => new Store('', new MemoryConnector()), ConfigError],
  ["new Store('x', null)", () => new Store('x', null as never), ConfigError],
  ["new Store('x', connector, null)", () => new Store('x', new MemoryConnector(), null as never), 'options'],
  ["new Store('x', connector, { cacheSize: -1 })", () => new Store('x', new MemoryConnector(), { cacheSize: -1 }), ConfigError],
  ['registerStore({})', () => registerStore({} as never), 'store'],
  ['registerStore(null)', () => registerStore(null as never), 'store'],
  ['new StoreExecutor(executor, {})', () => new StoreExecutor(executor, {} as never), 'options.store'],
  ['new StoreExecutor(null, { store })', () => new StoreExecutor(null as never, { store }), 'executor'],
  ["executor.run('echo', [1], { signal: 'x' })", () => anyExecutor.run('echo', [1], { signal: 'abort' }), 'options.signal'],
  ["executor.run('echo', [1], { timeoutMs: -1 })", () => anyExecutor.run('echo', [1], { timeoutMs: -1 }), 'options.timeoutMs'],
  ["executor.run('echo', [1], { timeoutMs: '5' })", () => anyExecutor.run('echo', [1], { timeoutMs: '5' }), 'options.timeoutMs'],
  ["executor.run('echo', 1)", () => anyExecutor.run('echo', 1), 'args'],
  ['executor.run(42, [])', () => anyExecutor.run(42, []), 'task'],
  // As a string, 'filesystem' would allow 'file' by substring.
  ["decodeProxies(descriptor, { policy: { kinds: 'filesystem' } })", () => decodeProxies(fileDescriptor, { policy: { kinds: 'filesystem' as never } }), ConfigError],
  ["decodeProxies(descriptor, { policy: { fileRoots: '/tmp' } })", () => decodeProxies(fileDescriptor, { policy: { fileRoots: os.tmpdir() as never } }), ConfigError],
  ["new FileConnector({ directory: '/proc/x' })", () => new FileConnector({ directory: '/proc/x' }), ConnectorError],
  ['new FileConnector({})', () => new FileConnector({} as never), ConfigError],
  ["new FileConnector({ directory: a file })", () => new FileConnector({ directory: path.join(os.tmpdir(), '..', 'etc', 'hostname', 'x') }), ConnectorError],
  ["new RedisConnector({ port: 'x' })", () => new RedisConnector({ port: 'x' as never }), ConfigError],
  ['new RedisConnector({ commandTimeoutMs: 2 ** 40 })', () => new RedisConnector({ commandTimeoutMs: 2 ** 40 }), ConfigError],
  ["new BullMQExecutor('q', { noWorkerTimeoutMs: -1 })", () => new BullMQExecutor('q', { connection: { port: 1 }, noWorkerTimeoutMs: -1 }), ConfigError],
  ["new BullMQExecutor('q', { onError: 'log' })", () => new BullMQExecutor('q', { connection: { port: 1 }, onError: 'log' as never }), ConfigError],
];

/** What `call` threw or rejected with, within a bound: a wrong call must not hang either. */
async function failureOf(call: () => unknown): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise((resolve) => (timer = setTimeout(() => resolve(new Error('still running after 5 s')), 5_000)));
  try {
    const outcome = await Promise.race([Promise.resolve().then(call), hung]);
    return outcome instanceof Error && outcome.message === 'still running after 5 s' ? outcome : new Error(`no error: returned ${String(outcome)}`);
  } catch (error) {
    return error;
  } finally {
    clearTimeout(timer);
  }
}

describe('API misuse', () => {
  it.each(misuses)('%s fails with a typed error', async (_label, call, expected) => {
    const error = await failureOf(call);
    expect(error).toBeInstanceOf(ProxyStoreError);
    if (typeof expected === 'string') {
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).argument).toBe(expected);
      expect((error as Error).message).toContain(expected.replace(/\[\d+\]$/, '').replace(/^options\./, ''));
    } else {
      expect(error).toBeInstanceOf(expected);
    }
  });

  it('says what nesting 5,000 levels deep ran into, as a SerializationError', async () => {
    const error = await failureOf(() => store.put(deep(5_000)));
    expect(error).toBeInstanceOf(SerializationError);
    expect(error).not.toBeInstanceOf(RangeError);
    expect((error as Error).message).toMatch(/nested too deeply/);
  });

  it('leaves the store usable after every wrong call', async () => {
    for (const [, call] of misuses) await failureOf(call);
    const key: Key = await store.put({ ok: true });
    expect(await store.get(key)).toEqual({ ok: true });
  });
});
