import { classNameOf } from './class-registry.js';
import type { Key } from './connector.js';
import { ProxyResolveMissingKeyError, describeKey } from './errors.js';
import type { Factory, ProxyMetadata } from './factory.js';
import { metadataOf } from './proxy.js';
import type { Store, StoreConfig } from './store.js';

/** The JSON form of a store proxy: all another process needs to resolve it. Never contains the target. */
export interface ProxyDescriptor {
  readonly $proxystore: 1;
  readonly store: StoreConfig;
  readonly key: Key;
  readonly evict: boolean;
  readonly metadata: ProxyMetadata;
}

/** A factory that reads its target from a store; it is what crosses process boundaries, as a descriptor. */
export interface StoreFactory<T> extends Factory<T> {
  readonly key: Key;
  readonly store: Store;
  readonly evict: boolean;
  readonly metadata: ProxyMetadata;
  readonly resolveAsync: () => Promise<T>;
  toJSON(): ProxyDescriptor;
}

const storeFactories = new WeakSet<object>();

export function isStoreFactory(value: unknown): value is StoreFactory<unknown> {
  return typeof value === 'function' && storeFactories.has(value);
}

/** What a proxy of `value` kept in a store carries: its shape, and its registered class name so `instanceof` needs no read. */
export function storedMetadata(value: object): ProxyMetadata {
  const className = classNameOf(value);
  return { ...metadataOf(value), ...(className === undefined ? {} : { className }) };
}

export function storeFactory<T>(
  store: Store,
  key: Key,
  { evict, metadata }: { evict: boolean; metadata: ProxyMetadata },
): StoreFactory<T> {
  const found = (value: T | undefined): T => {
    if (value === undefined) throw new ProxyResolveMissingKeyError(key, store.name);
    return value;
  };
  const resolveSync = (): T => {
    const value = found(store.getSync<T>(key));
    // The caller is synchronous; eviction finishing later is fine because the value is already in hand.
    if (evict) store.evict(key).catch((error: unknown) => process.emitWarning(`evict-on-resolve of key ${describeKey(key)} in store '${store.name}' failed: ${String(error)}`));
    return value;
  };
  const factory = Object.assign(resolveSync, {
    key,
    store,
    evict,
    metadata,
    resolveAsync: async (): Promise<T> => {
      const value = found(await store.get<T>(key));
      if (evict) await store.evict(key);
      return value;
    },
    toJSON: (): ProxyDescriptor => ({ $proxystore: 1, store: store.config(), key, evict, metadata }),
  });
  storeFactories.add(factory);
  return factory;
}
