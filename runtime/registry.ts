import type { ReferencePolicy } from './connector.js';
import { resolvePolicy } from './connector-kinds.js';
import { StoreExistsError } from './errors.js';
import { getFactory, isProxy } from './proxy.js';
import { canonicalJson } from './signing.js';
import { Store, type StoreConfig } from './store.js';
import { isStoreFactory } from './store-factory.js';

/** Stores registered by name (by their makers), so proxies decoded in this process share one store, its cache and its connections. */
const stores = new Map<string, Store>();

/**
 * Stores built from configs (descriptors from elsewhere, task calls), by
 * identity: name plus canonical connector config. Never registered by name,
 * so a descriptor can neither shadow a store of the same name with a
 * different connector (another caller's, or this process's own) nor squat on
 * a name. Least recently used first; bounded, see `MAX_BUILT_STORES`.
 */
const built = new Map<string, Store>();
/**
 * A long-running worker meets a new identity per caller (Redis prefixes are
 * random per connector), and a flood of descriptors can name thousands: past
 * this many, the least recently used is dropped from the map and its
 * connector closed once no proxy holds the store any more.
 */
const MAX_BUILT_STORES = 64;
const retired = new FinalizationRegistry<Store['connector']>((connector) => {
  connector.close().catch(() => undefined);
});

export function registerStore(store: Store, options: { allowExisting?: boolean } = {}): void {
  const existing = stores.get(store.name);
  if (existing !== undefined && existing !== store && options.allowExisting !== true) throw new StoreExistsError(store.name);
  stores.set(store.name, store);
}

/** The store registered under `name`, or the store a proxy reads from. */
export function getStore(nameOrProxy: string | object): Store | undefined {
  if (typeof nameOrProxy === 'string') return stores.get(nameOrProxy);
  if (!isProxy(nameOrProxy)) return undefined;
  const factory = getFactory(nameOrProxy);
  return isStoreFactory(factory) ? factory.store : undefined;
}

/** Remove `name`; with `store`, only if that very store is the one registered. */
export function unregisterStore(name: string, store?: Store): void {
  if (store === undefined || stores.get(name) === store) stores.delete(name);
}

/**
 * What identifies a store across processes: its name and where its objects
 * live (the connector config). Cache sizes and metrics are the local process's
 * business and do not count.
 */
export function storeIdentity(config: Pick<StoreConfig, 'name' | 'connector'>): string {
  return canonicalJson([config.name, config.connector]);
}

/**
 * The store `config` describes: the registered store of that name when its
 * identity matches, else one built from `config` earlier, else a new one
 * (kept by identity, not registered by name). Configs from elsewhere pass
 * `trusted: false` so their connector is checked against `policy`.
 */
export function getOrCreateStore(config: StoreConfig, options: { trusted?: boolean; policy?: ReferencePolicy } = {}): Store {
  const identity = storeIdentity(config);
  const named = stores.get(config.name);
  if (named !== undefined && !named.closed && storeIdentity(named.config()) === identity) return named;
  // A store built under one policy must not serve a decode under a stricter one, so the policy is part of the key.
  const trusted = options.trusted ?? true;
  const policy = resolvePolicy(options.policy);
  const key = `${trusted ? 'trusted' : policyKey(policy)}\n${identity}`;
  const known = built.get(key);
  built.delete(key);
  if (known !== undefined && !known.closed) {
    built.set(key, known);
    return known;
  }
  const store = Store.fromConfig(config, { trusted, policy, register: false });
  built.set(key, store);
  for (const [oldest, old] of built) {
    if (built.size <= MAX_BUILT_STORES) break;
    built.delete(oldest);
    retired.register(old, old.connector);
  }
  return store;
}

const policyKeys = new WeakMap<object, string>();

/** One resolved policy object serves a whole decode, so its canonical form is computed once. */
function policyKey(policy: Required<ReferencePolicy>): string {
  let key = policyKeys.get(policy);
  if (key === undefined) policyKeys.set(policy, (key = canonicalJson(policy)));
  return key;
}

/** How many stores built from configs this process keeps (for tests of the bound). */
export function builtStoreCount(): number {
  return built.size;
}
