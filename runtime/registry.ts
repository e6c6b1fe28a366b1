import type { ReferencePolicy } from './connector.js';
import { InvalidArgumentError, StoreExistsError } from './errors.js';
import { getFactory, isProxy } from './proxy.js';
import { Store, type StoreConfig } from './store.js';
import { isStoreFactory } from './store-factory.js';

/** Stores by name, so proxies decoded in this process share one store, its cache and its connections. */
const stores = new Map<string, Store>();

export function registerStore(store: Store, options: { allowExisting?: boolean } = {}): void {
  if (!(store instanceof Store)) throw new InvalidArgumentError('store', `registerStore: store must be a Store, got ${typeof store === 'object' && store !== null ? Object.prototype.toString.call(store) : typeof store}`);
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
 * The registered store of that name, or a new one built from `config` and registered.
 * Configs from elsewhere pass `trusted: false` so their connector is checked against `policy`.
 */
export function getOrCreateStore(config: StoreConfig, options: { trusted?: boolean; policy?: ReferencePolicy } = {}): Store {
  const existing = stores.get(config.name);
  if (existing !== undefined && !existing.closed) return existing;
  const store = Store.fromConfig(config, { ...options, register: false });
  registerStore(store, { allowExisting: true });
  return store;
}
