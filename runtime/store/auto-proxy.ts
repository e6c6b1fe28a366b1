/// <reference types="node" preserve="true" />
/**
 * What the compiler transformer (ts-proxystore/transformer) inserts around
 * arguments passed to parameters annotated `ProxyOr<T>`. With no store
 * configured it hands every value back untouched, so a build with the
 * transformer behaves exactly like one without it until a store is chosen.
 *
 * Settings, each decided on its own, first match wins:
 * - store: `configureAutoProxy({ store })`, then the transformer's `store`
 *   option (a registered store's name, looked up at every call), else none;
 * - threshold: `configureAutoProxy({ threshold })`, then the transformer's
 *   `threshold` option, then DEFAULT_AUTO_PROXY_THRESHOLD.
 * Run-time settings win because they are made where the program is deployed,
 * after the build chose its defaults.
 *
 * Costs, so that wrapping never makes a program slower or leak:
 * - Deferred puts: `autoProxy` writes nothing. Its proxy holds the value, and
 *   the value is serialized and written the first time the proxy crosses a
 *   boundary (an encoder, `JSON.stringify`, an executor's submit), which is
 *   the first time anything asks for its key. Local use never serializes.
 * - One put per object: a value passed again gets the same proxy (a WeakMap
 *   keyed by the value), and a proxy already written reuses its key.
 * - Freed when nothing can need it: a copy sent to executor tasks is evicted
 *   once the last of them settled (unless `reuseAcrossTasks`); a copy sent any
 *   other way is kept while the value is alive in this process (a
 *   FinalizationRegistry evicts it after the value is collected), or until the
 *   `lifetime` set here ends.
 */
import type { Key, StartedPut } from '../connectors/connector.js';
import { ConfigError, ConnectorError, SerializationError, describeKey } from '../errors.js';
import type { ProxyMetadata } from '../proxy/factory.js';
import { sizeAtLeast } from './size.js';
import type { Lifetime } from './lifetimes.js';
import { isProxy, metadataOf, proxy } from '../proxy/proxy.js';
import { getStore, type Store } from './store.js';
import { storeFactory, type ProxyDescriptor, type StoreFactory } from './factory.js';

/** Bytes at or over which a value is proxied when neither the build nor the run time says otherwise. */
export const DEFAULT_AUTO_PROXY_THRESHOLD = 100_000;

export interface AutoProxyConfig {
  /** A store, or the name of a registered one (looked up at each call, so it may be registered later). */
  readonly store?: Store | string;
  /** Serialized size in bytes at or over which values are proxied. */
  readonly threshold?: number;
  /** `false` passes every value through, whatever the build configured. */
  readonly enabled?: boolean;
  /** Make single-use proxies: every send writes its own copy, which leaves the store once a receiver resolves it. Default false. */
  readonly evict?: boolean;
  /**
   * Where copies sent outside executor tasks (`encodeProxies`,
   * `encodeProxiesAsync`, `JSON.stringify`, `getKey`) are freed: when this
   * lifetime ends. Default: when the value is garbage collected in this
   * process. Copies sent to executor tasks are freed when the tasks settle,
   * unless `reuseAcrossTasks`.
   */
  readonly lifetime?: Lifetime;
  /**
   * Keep a copy sent to executor tasks after they settle, so that later sends
   * of the same object (a dataset submitted in a loop) reuse it instead of
   * writing it again; it is then freed like copies sent outside tasks (see
   * `lifetime`). Only for objects not changed once sent: later tasks get the
   * first copy. Default false: each copy is freed once its tasks settled, and
   * a later send writes the object as it is then.
   */
  readonly reuseAcrossTasks?: boolean;
}

let settings: AutoProxyConfig = {};

/** Replaces the run-time settings; `configureAutoProxy({})` returns to the build's. */
export function configureAutoProxy(config: AutoProxyConfig): void {
  const { store, threshold, enabled, evict, lifetime, reuseAcrossTasks } = config;
  if (threshold !== undefined && !(Number.isFinite(threshold) && threshold >= 0)) {
    throw new ConfigError(`configureAutoProxy: threshold must be a non-negative number of bytes, got ${String(threshold)}`);
  }
  if (typeof store === 'string' && store === '') throw new ConfigError('configureAutoProxy: store name must not be empty');
  if (lifetime !== undefined && evict === true) {
    throw new ConfigError('configureAutoProxy: got both lifetime and evict: single-use copies are freed by their receiver, so no lifetime can hold them; pass one of them');
  }
  settings = { store, threshold, enabled, evict, lifetime, reuseAcrossTasks };
}

/** The bytes of one value in the store, from the first crossing until they are freed. */
interface StoredCopy {
  readonly store: Store;
  readonly key: Key;
  /** The write while it is under way, or after it failed; undefined once the store holds the bytes. */
  pending: Promise<void> | undefined;
  failed: boolean;
  /** Executor tasks in flight that were sent this copy. */
  tasks: number;
  /** Sent outside a task: kept until the value is collected, or until `lifetime` ends. */
  held: boolean;
  lifetime: Lifetime | undefined;
  freed: boolean;
}

/** One value wrapped by autoProxy: its one proxy, and the copy in the store if it has crossed a boundary. */
interface AutoEntry {
  readonly store: Store;
  readonly value: object;
  readonly site: string;
  readonly evict: boolean;
  readonly proxy: object;
  copy: StoredCopy | undefined;
}

/** Keyed by the value: the entry (and so its proxy) lives exactly as long as the value does. */
const byValue = new WeakMap<object, AutoEntry>();
/** Keyed by the proxy's factory, which is what encoders see. */
const byFactory = new WeakMap<object, AutoEntry>();
/** Writes and evictions under way, for flushPending. */
const inFlight = new Set<Promise<void>>();

/**
 * `value` itself, or a proxy of it when a store is configured and its size
 * reaches the threshold. The proxy holds `value` as its target, so local use
 * never reads the store, and nothing is written until the proxy crosses a
 * boundary. The same value gets the same proxy every time. `site` names the
 * call site in errors and warnings.
 */
export function autoProxy<T>(value: T, site: string, threshold?: number, storeName?: string): T {
  if (typeof value !== 'object' || value === null || settings.enabled === false) return value;
  const store = chosenStore(storeName);
  if (store === undefined) return value;
  const known = byValue.get(value);
  if (known !== undefined && known.store === store && known.evict === (settings.evict ?? false)) return known.proxy as T;
  if (isProxy(value)) return value;
  // Bounded by the threshold: the walk stops once it has counted that many bytes.
  if (!sizeAtLeast(value, settings.threshold ?? threshold ?? DEFAULT_AUTO_PROXY_THRESHOLD)) return value;
  if (store.connector.startPut === undefined) {
    warnOnce(`connector:${store.name}`, `ts-proxystore autoProxy: store '${store.name}' (${store.connector.kind} connector) cannot choose keys before writing (no startPut), so values are passed as they are`);
    return value;
  }
  return newEntry(store, value, site).proxy as T;
}

/**
 * `autoProxy` for each element, for spread arguments and the item lists of
 * submit-style calls. Arrays come back as arrays; other iterables stay lazy, so
 * a generator is not drained before the callee asks for its items.
 */
export function autoProxyEach<T>(values: Iterable<T>, site: string, threshold?: number, storeName?: string): Iterable<T> {
  const each = (value: T): T => autoProxy(value, site, threshold, storeName);
  if (Array.isArray(values)) return (values as T[]).map(each);
  return (function* () {
    for (const value of values) yield each(value);
  })();
}

/**
 * The write behind a proxy made by `autoProxy`, keyed by its factory, while it
 * is under way or after it failed; undefined before its first crossing and
 * once the store holds the bytes.
 */
export function pendingWrite(factory: object): Promise<void> | undefined {
  return byFactory.get(factory)?.copy?.pending;
}

/**
 * Resolves once every auto-proxy write and eviction started so far has
 * finished; rejects with the first write that failed.
 */
export async function flushPending(): Promise<void> {
  await Promise.all(inFlight);
}

let taskSends: Set<StoredCopy> | undefined;
const sentToTasks = new WeakMap<object, Set<StoredCopy>[]>();

/**
 * For executors: runs `encode` (which encodes `args` for one task) so that
 * the auto-proxies it sends stay in the store until `endTaskSends(args)`,
 * rather than under the policy for other sends.
 */
export function sendingToTask<R>(args: object, encode: () => R): R {
  const outer = taskSends;
  const mine = new Set<StoredCopy>();
  taskSends = mine;
  let result: R;
  try {
    result = encode();
  } catch (error) {
    // The task will not run: copies written for it alone are not needed.
    for (const copy of mine) void release(copy);
    throw error;
  } finally {
    taskSends = outer;
  }
  if (mine.size > 0) {
    for (const copy of mine) copy.tasks++;
    const calls = sentToTasks.get(args);
    if (calls === undefined) sentToTasks.set(args, [mine]);
    else calls.push(mine);
  }
  return result;
}

/**
 * For executors, once a task has settled for good: the copies sent to it are
 * evicted unless another unsettled task, or a send outside tasks, still holds
 * them. Resolves when those evictions are done.
 */
export async function endTaskSends(args: object): Promise<void> {
  const calls = sentToTasks.get(args);
  const mine = calls?.shift();
  if (calls?.length === 0) sentToTasks.delete(args);
  if (mine === undefined) return;
  const evictions: Promise<void>[] = [];
  for (const copy of mine) {
    copy.tasks--;
    evictions.push(release(copy));
  }
  await Promise.all(evictions);
}

function chosenStore(storeName: string | undefined): Store | undefined {
  const chosen = settings.store ?? storeName;
  const store = typeof chosen === 'string' ? getStore(chosen) : chosen;
  return store === undefined || store.closed ? undefined : store;
}

function newEntry(store: Store, value: object, site: string): AutoEntry {
  const metadata = metadataOf(value);
  const evict = settings.evict ?? false;
  const factory = deferredFactory(store, { evict, metadata }, () => keyForCrossing(entry));
  const entry: AutoEntry = { store, value, site, evict, proxy: proxy(factory, { target: value, metadata }), copy: undefined };
  byValue.set(value, entry);
  byFactory.set(factory, entry);
  return entry;
}

/**
 * A store factory (so encoders, `getStore` and lifetimes treat the proxy as
 * any store proxy) whose key is asked for only when the proxy crosses a
 * boundary: reading `key` and `toJSON()` call `keyNow`, which writes the value
 * then. Its own reads never run: the proxy is populated and keeps its target.
 */
function deferredFactory(store: Store, options: { evict: boolean; metadata: ProxyMetadata }, keyNow: () => Key): StoreFactory<object> {
  const factory = storeFactory<object>(store, null, options);
  const descriptor = factory.toJSON.bind(factory);
  return Object.defineProperties(factory, {
    key: { get: keyNow, enumerable: true },
    toJSON: { value: (): ProxyDescriptor => ({ ...descriptor(), key: keyNow() }) },
  });
}

/** The key a crossing hands out, writing the value first when the store holds no live copy of it. */
function keyForCrossing(entry: AutoEntry): Key {
  // A single-use copy is the receiver's to evict, so every send writes its own.
  if (entry.evict) return (entry.copy = write(entry)).key;
  let copy = entry.copy;
  if (copy === undefined || copy.freed || copy.failed || copy.lifetime?.done === true) copy = entry.copy = write(entry);
  if (taskSends !== undefined) taskSends.add(copy);
  if (taskSends === undefined || settings.reuseAcrossTasks === true) hold(entry, copy);
  return copy.key;
}

function write(entry: AutoEntry): StoredCopy {
  const { store, value, site } = entry;
  let started: StartedPut;
  try {
    // Through the store, so the write is logged and counted like any put.
    started = store.startPut(value);
  } catch (error) {
    if (error instanceof SerializationError) {
      throw new SerializationError(
        `autoProxy at ${site}: the value must be written to store '${store.name}' to cross this boundary, but it cannot be serialized (${error.message}); pass it by value (extract(...)), make it serializable, or annotate the parameter without ProxyOr`,
        { cause: error },
      );
    }
    throw atSite(error, site);
  }
  const copy: StoredCopy = { store, key: started.key, pending: undefined, failed: false, tasks: 0, held: false, lifetime: undefined, freed: false };
  if (started.readable === true) return copy;
  const pending = started.written.then(
    () => {
      copy.pending = undefined;
    },
    (error: unknown) => {
      copy.failed = true;
      throw atSite(error, site);
    },
  );
  copy.pending = pending;
  inFlight.add(pending);
  // Nobody may ever wait for this write; its failure is reported to whoever sends the key, not as an unhandled rejection.
  void pending.catch(() => undefined).finally(() => inFlight.delete(pending));
  return copy;
}

/** The store's error, with the call site whose proxy needed the write. */
function atSite(error: unknown, site: string): unknown {
  if (!(error instanceof ConnectorError)) return error;
  return new ConnectorError(error.connector, error.operation, `${error.reason} (autoProxy at ${site})`, { cause: error, key: error.key });
}

/** Keeps a copy sent outside tasks: until `settings.lifetime` ends, else until the value is collected. */
function hold(entry: AutoEntry, copy: StoredCopy): void {
  if (copy.held) return;
  copy.held = true;
  const { lifetime } = settings;
  if (lifetime === undefined) {
    collected.register(entry.value, copy, copy);
    return;
  }
  copy.lifetime = lifetime;
  // Handed over once written, so the lifetime never evicts a key before its bytes land (and then leaves them).
  const attach = (): void => {
    copy.held = false;
    try {
      lifetime.addKey(copy.key, copy.store);
    } catch {
      // The lifetime has ended: the descriptor is out already, so the copy stays until the value is collected, as without a lifetime.
      copy.lifetime = undefined;
      collected.register(entry.value, copy, copy);
    }
  };
  if (copy.pending === undefined) attach();
  else void copy.pending.then(attach, () => undefined);
}

/** Evicts the copy of a value that was collected, unless a task is still reading it. */
const collected = new FinalizationRegistry<StoredCopy>((copy) => {
  copy.held = false;
  void release(copy);
});

/** Evicts `copy` once nothing holds it any more: no task in flight, no hold. */
function release(copy: StoredCopy): Promise<void> {
  if (copy.tasks > 0 || copy.held || copy.lifetime !== undefined || copy.freed) return Promise.resolve();
  copy.freed = true;
  collected.unregister(copy);
  const { store, key } = copy;
  // After the write: evicting first would let the write land afterwards, and stay.
  const eviction = (copy.pending ?? Promise.resolve()).then(
    async () => {
      if (store.closed) return;
      try {
        await store.evict(key);
      } catch (error) {
        process.emitWarning(`ts-proxystore autoProxy: could not free key ${describeKey(key)} of store '${store.name}': ${String(error)}`, 'ProxyStoreWarning');
      }
    },
    () => undefined,
  );
  return track(eviction);
}

function track(work: Promise<void>): Promise<void> {
  inFlight.add(work);
  void work.finally(() => inFlight.delete(work));
  return work;
}

const warned = new Set<string>();

function warnOnce(topic: string, message: string): void {
  if (warned.has(topic)) return;
  warned.add(topic);
  process.emitWarning(message, 'ProxyStoreWarning');
}
