/**
 * The narrow face of a store that the modules beneath the `Store` class work
 * with: ownership, lifetimes, store factories (and so every proxy read from a
 * store), futures' waits and the registry. They hold a store, read and evict
 * its keys, and rebuild one from a config; none needs the class itself, so
 * store.ts sits on top of them and imports downhill only (ProxyStore keeps
 * its `Store` out of these modules the same way, by type-checking-only
 * imports; here the contract is spelled out). `Store` implements it.
 */
import type { CloseOptions, Connector, ConnectorConfig, Key, ReferencePolicy } from '../connectors/connector.js';
import type { CacheBudget } from './cache-budget.js';

/** Values an ES Proxy can wrap. */
export type Proxiable = object;

export type ChecksumCoverage = 'structure' | 'all';

/** JSON-safe recipe for an equivalent store elsewhere. Custom serializers cannot travel: see `serializer`. */
export interface StoreConfig {
  readonly name: string;
  readonly connector: ConnectorConfig;
  readonly cacheSize: number;
  /** Absent from configs made before this option existed; the default applies then. */
  readonly cacheBytes?: number;
  readonly metrics: boolean;
  readonly populateTarget: boolean;
  /** 'custom' stores can only be rebuilt where a store of that name is already registered. */
  readonly serializer: 'default' | 'custom';
  /** Present when it is not the default 'all'. */
  readonly checksum?: ChecksumCoverage;
}

/** What a proxy, an owner, a lifetime or the registry may do with a store. */
export interface StoreHandle {
  readonly name: string;
  readonly connector: Connector;
  /** Proxies made from a value in hand hold it already. */
  readonly populateTarget: boolean;
  readonly closed: boolean;
  /** The recipe another process rebuilds this store from. */
  config(): StoreConfig;
  put(obj: unknown): Promise<Key>;
  /** Overwrite `key` in place (connectors that can). */
  set(key: Key, obj: unknown): Promise<void>;
  get<T = unknown>(key: Key): Promise<T | undefined>;
  /** What `get` would give when it needs no waiting; `null` when only `get` can tell. */
  getNow?<T = unknown>(key: Key): T | undefined | null;
  exists(key: Key): Promise<boolean>;
  getSync<T = unknown>(key: Key): T | undefined;
  evict(key: Key): Promise<void>;
  /** Drops this thread's cached copy of `key` (and ends its views, where the connector recycles memory). */
  releaseViews(key: Key): void;
  close(options?: CloseOptions): Promise<void>;
}

/** How the registry builds a store from a config without importing the class (store.ts provides it). */
export interface StoreBuilder {
  fromConfig(config: StoreConfig, options: { trusted?: boolean; policy?: ReferencePolicy; register?: boolean; cacheBudget?: CacheBudget }): StoreHandle;
  /** Whether `value` is a store this package made (registerStore refuses anything else). */
  isStore(value: unknown): value is StoreHandle;
}
