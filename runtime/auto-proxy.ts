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
 */
import type { Key, StartedPut } from './connector.js';
import { ConfigError, SerializationError } from './errors.js';
import { isProxy, proxy } from './proxy.js';
import { getStore } from './registry.js';
import { connectorFailure, type Store } from './store.js';
import { storeFactory, storedMetadata } from './store-factory.js';

/** Bytes at or over which a value is proxied when neither the build nor the run time says otherwise. */
export const DEFAULT_AUTO_PROXY_THRESHOLD = 100_000;

export interface AutoProxyConfig {
  /** A store, or the name of a registered one (looked up at each call, so it may be registered later). */
  readonly store?: Store | string;
  /** Serialized size in bytes at or over which values are proxied. */
  readonly threshold?: number;
  /** `false` passes every value through, whatever the build configured. */
  readonly enabled?: boolean;
  /** Make single-use proxies: the object leaves the store once a receiver resolves it. Default false. */
  readonly evict?: boolean;
}

let settings: AutoProxyConfig = {};

/** Replaces the run-time settings; `configureAutoProxy({})` returns to the build's. */
export function configureAutoProxy(config: AutoProxyConfig): void {
  const { store, threshold, enabled, evict } = config;
  if (threshold !== undefined && !(Number.isFinite(threshold) && threshold >= 0)) {
    throw new ConfigError(`configureAutoProxy: threshold must be a non-negative number of bytes, got ${String(threshold)}`);
  }
  if (typeof store === 'string' && store === '') throw new ConfigError('configureAutoProxy: store name must not be empty');
  settings = { store, threshold, enabled, evict };
}

/**
 * `value` itself, or a proxy of it when a store is configured and its
 * serialized size reaches the threshold. The proxy holds `value` as its target,
 * so local use never reads the store. `site` names the call site in warnings.
 */
export function autoProxy<T>(value: T, site: string, threshold?: number, storeName?: string): T {
  if (typeof value !== 'object' || value === null || settings.enabled === false) return value;
  const store = chosenStore(storeName);
  if (store === undefined || isProxy(value)) return value;
  const limit = settings.threshold ?? threshold ?? DEFAULT_AUTO_PROXY_THRESHOLD;
  const known = sizeWithoutSerializing(value);
  if (known !== undefined && known < limit) return value;
  let bytes: Uint8Array;
  try {
    bytes = store.serialize(value);
  } catch (error) {
    if (!(error instanceof SerializationError)) throw error;
    warnOnce(site, `ts-proxystore autoProxy at ${site}: value passed as it is, store '${store.name}' cannot serialize it: ${error.message}`);
    return value;
  }
  if (bytes.byteLength < limit) return value;
  const started = startPut(store, bytes, site);
  return started === undefined ? value : (populatedProxy(store, value, started) as T);
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

const writes = new WeakMap<object, Promise<void>>();
const inFlight = new Set<Promise<void>>();

/**
 * The write behind a proxy made by `autoProxy`, keyed by its factory, while it
 * is under way or after it failed; undefined once the store holds the bytes.
 */
export function pendingWrite(factory: object): Promise<void> | undefined {
  return writes.get(factory);
}

/** Resolves once every auto-proxy write started so far has finished; rejects with the first that failed. */
export async function flushPending(): Promise<void> {
  await Promise.all(inFlight);
}

function chosenStore(storeName: string | undefined): Store | undefined {
  const chosen = settings.store ?? storeName;
  const store = typeof chosen === 'string' ? getStore(chosen) : chosen;
  return store === undefined || store.closed ? undefined : store;
}

/** Binary data knows its size, which spares serializing buffers that stay under the threshold. */
function sizeWithoutSerializing(value: object): number | undefined {
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) return value.byteLength;
  return undefined;
}

function startPut(store: Store, bytes: Uint8Array, site: string): StartedPut | undefined {
  const { connector } = store;
  if (connector.startPut === undefined) {
    warnOnce(`connector:${store.name}`, `ts-proxystore autoProxy: store '${store.name}' (${connector.kind} connector) cannot choose keys before writing (no startPut), so values are passed as they are`);
    return undefined;
  }
  try {
    return connector.startPut(bytes);
  } catch (error) {
    throw connectorFailure(store, 'startPut', error, undefined, ` (autoProxy at ${site})`);
  }
}

function populatedProxy(store: Store, value: object, { key, written }: StartedPut): object {
  const metadata = storedMetadata(value);
  const factory = storeFactory<object>(store, key, { evict: settings.evict ?? false, metadata });
  track(factory, store, key, written);
  return proxy(factory, { target: value, metadata });
}

function track(factory: object, store: Store, key: Key, written: Promise<void>): void {
  const settled = written.then(
    () => {
      writes.delete(factory);
    },
    (error: unknown) => {
      throw connectorFailure(store, 'startPut', error, key);
    },
  );
  writes.set(factory, settled);
  inFlight.add(settled);
  // Nobody may ever wait for this write; its failure is reported to whoever sends the key, not as an unhandled rejection.
  void settled.catch(() => undefined).finally(() => inFlight.delete(settled));
}

const warned = new Set<string>();

function warnOnce(topic: string, message: string): void {
  if (warned.has(topic)) return;
  warned.add(topic);
  process.emitWarning(message, 'ProxyStoreWarning');
}

