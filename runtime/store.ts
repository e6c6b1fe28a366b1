import { LRUCache } from 'lru-cache';
import type { CloseOptions, Connector, ConnectorConfig, Key, ReferencePolicy } from './connector.js';
import { connectorFromConfig } from './connector-kinds.js';
import { isTagged, type TaggedPut } from './connectors/multi.js';
import { ConfigError, ConnectorError, NonProxiableTypeError, SerializationError, StoreClosedError, describeKey, keyId, messageOf } from './errors.js';
import { Metrics, type MetricsSnapshot } from './metrics.js';
import { proxy } from './proxy.js';
import { isObjectLike, typeOfValue } from './proxy-metadata.js';
import {
  allocateTypedArray,
  deserialize as defaultDeserialize,
  serialize as defaultSerialize,
  type Allocate,
  type Deserializer,
  type Serializer,
  type TypedArrayClass,
} from './serialize.js';
import { registerStore, unregisterStore } from './registry.js';
import { storeFactory, storedMetadata } from './store-factory.js';
import { attachKeys, checkLifetimeOption, type Lifetime } from './lifetimes.js';
import { ownedProxy, type OwnedProxyOptions } from './ownership.js';
import type { OwnedProxy } from '../src/ownership.js';
import type { Proxy, ProxiesOf, TypeArgumentRequired, TypedArray } from '../src/types.js';

export interface StoreOptions {
  /** Deserialized objects kept per store, most recently used first. 0 disables the cache. */
  readonly cacheSize?: number;
  /**
   * The cache's budget in encoded bytes: it keeps objects while their
   * encodings add up to at most this, and never keeps a bigger one. Default
   * 64 MiB, so a worker that resolves many big inputs does not hold them all
   * (stores rebuilt from a config, as in workers, get the sender's budget).
   */
  readonly cacheBytes?: number;
  readonly metrics?: boolean;
  /** Proxies made from a value in hand hold it already, so local use never reads the store. */
  readonly populateTarget?: boolean;
  /** Register the store by name so proxies decoded in this process reuse it (and its cache). */
  readonly register?: boolean;
  readonly serializer?: Serializer;
  readonly deserializer?: Deserializer;
}

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
}

export interface PutOptions {
  /** Evict the object when this lifetime ends (see lifetimes.ts). Cannot be combined with `evict`. */
  readonly lifetime?: Lifetime;
  /**
   * Routing labels for a connector that routes puts by tags (`MultiConnector`:
   * see its policies' `tags` and `requiredTags`). A store over any other
   * connector refuses them with a ConfigError rather than drop them.
   */
  readonly tags?: readonly string[];
}

export interface ProxyCreateOptions extends PutOptions {
  /** Delete the object from the store once the proxy resolves (single-use proxies). */
  readonly evict?: boolean;
  readonly populateTarget?: boolean;
  /** Return primitives as they are instead of throwing NonProxiableTypeError. */
  readonly skipNonProxiable?: boolean;
}

export interface ProxyFromKeyOptions extends Omit<PutOptions, 'tags'> {
  readonly evict?: boolean;
  /** What the caller knows of the target; without it the proxy looks like a plain object until resolved. */
  readonly metadata?: import('./factory.js').ProxyMetadata;
}

/** Values an ES Proxy can wrap. */
export type Proxiable = object;

/**
 * Puts objects in a connector as bytes and hands out proxies that get them back.
 * The store owns (de)serialization, the cache and metrics; the connector only moves bytes.
 */
export class Store {
  readonly name: string;
  readonly connector: Connector;
  readonly populateTarget: boolean;
  readonly #serialize: Serializer;
  /** Memory that becomes the stored object (see `allocate`). */
  readonly #allocate: Connector['allocate'];
  /** Where serialized frames are written: the connector's own memory, or scratch it reuses once written. */
  readonly #frameMemory: Allocate | undefined;
  /** Arrays from `allocate` not yet stored, with the frame around each: their first put stores the frame as it is. */
  readonly #framed = new WeakMap<object, Uint8Array>();
  readonly #deserialize: Deserializer;
  readonly #customSerializer: boolean;
  readonly #cacheSize: number;
  readonly #cacheBytes: number;
  readonly #cache: LRUCache<string, CacheEntry> | undefined;
  readonly #metrics: Metrics | undefined;
  #closed = false;

  constructor(name: string, connector: Connector, options: StoreOptions = {}) {
    if (typeof name !== 'string' || name.length === 0) throw new ConfigError('store name must be a non-empty string');
    if (connector === null || typeof connector !== 'object' || typeof connector.put !== 'function') {
      throw new ConfigError(`store '${name}': connector must implement the Connector interface`);
    }
    const cacheSize = options.cacheSize ?? 16;
    if (!Number.isInteger(cacheSize) || cacheSize < 0) {
      throw new ConfigError(`store '${name}': cacheSize must be a non-negative integer, got ${String(cacheSize)}`);
    }
    if ((options.serializer === undefined) !== (options.deserializer === undefined)) {
      throw new ConfigError(`store '${name}': give both serializer and deserializer, or neither`);
    }
    this.name = name;
    this.connector = connector;
    this.populateTarget = options.populateTarget ?? true;
    this.#serialize = options.serializer ?? defaultSerialize;
    this.#allocate = connector.allocate?.bind(connector);
    // A frame goes to one put and is dropped: transient, so recycled memory is reused without waiting for a collection.
    // The serializer writes every byte of it, so it need not be zeroed.
    this.#frameMemory = connector.allocate === undefined ? connector.scratch?.bind(connector) : (size) => connector.allocate?.(size, { transient: true, zeroed: false }) as Uint8Array;
    this.#deserialize = options.deserializer ?? defaultDeserialize;
    this.#customSerializer = options.serializer !== undefined;
    const cacheBytes = options.cacheBytes ?? DEFAULT_CACHE_BYTES;
    if (!Number.isSafeInteger(cacheBytes) || cacheBytes < 0) {
      throw new ConfigError(`store '${name}': cacheBytes must be a non-negative whole number of bytes, got ${String(cacheBytes)}`);
    }
    this.#cacheSize = cacheSize;
    this.#cacheBytes = cacheBytes;
    this.#cache = cacheSize > 0 && cacheBytes > 0 ? new LRUCache({ max: cacheSize, maxSize: cacheBytes, sizeCalculation: (entry) => entry.bytes }) : undefined;
    this.#metrics = options.metrics === true ? new Metrics() : undefined;
    if (options.register === true) registerStore(this);
  }

  /** Rebuild a store from `config()`. Untrusted configs (from descriptors made elsewhere) are checked against `policy`. */
  static fromConfig(config: StoreConfig, options: { trusted?: boolean; policy?: ReferencePolicy; register?: boolean } = {}): Store {
    if (config.serializer === 'custom') {
      throw new ConfigError(
        `store '${config.name}' uses a custom serializer, which cannot be rebuilt from its config: register a store of that name in this process first`,
      );
    }
    const connector = connectorFromConfig(config.connector, options);
    return new Store(config.name, connector, {
      cacheSize: config.cacheSize,
      ...(config.cacheBytes === undefined ? {} : { cacheBytes: config.cacheBytes }),
      metrics: config.metrics,
      populateTarget: config.populateTarget,
      register: options.register ?? false,
    });
  }

  config(): StoreConfig {
    return {
      name: this.name,
      connector: this.connector.config(),
      cacheSize: this.#cacheSize,
      cacheBytes: this.#cacheBytes,
      metrics: this.#metrics !== undefined,
      populateTarget: this.populateTarget,
      serializer: this.#customSerializer ? 'custom' : 'default',
    };
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Serialized bytes of `obj`, ready for this store's connector. When the
   * connector offers `allocate` or `scratch`, they may lie in its memory, which
   * a put adopts without a copy: hand them to exactly one put and keep no
   * reference (scratch memory is reused once written).
   */
  serialize(obj: unknown): Uint8Array {
    const t0 = this.#metrics === undefined ? 0 : performance.now();
    const framed = typeof obj === 'object' && obj !== null ? this.#framed.get(obj) : undefined;
    if (framed !== undefined) {
      // Once only: the frame becomes the stored object, and a second put must not store the same memory twice.
      this.#framed.delete(obj as object);
      this.#metrics?.record('serialize', performance.now() - t0, framed.byteLength);
      return framed;
    }
    let bytes: Uint8Array;
    try {
      bytes = this.#serialize(obj, this.#frameMemory);
    } catch (error) {
      // A connector's allocate may fail on its own account (closed, out of memory): that is not the value's fault.
      if (error instanceof SerializationError || error instanceof ConnectorError) throw error;
      throw new SerializationError(`store '${this.name}': cannot serialize value: ${(error as Error).message}`, { cause: error });
    }
    this.#metrics?.record('serialize', performance.now() - t0, bytes.byteLength);
    return bytes;
  }

  /**
   * A zeroed typed array to fill and then store. When the connector can
   * allocate (shared memory) and the store uses the default serializer, the
   * array already lies in the connector's memory, inside the frame a put
   * would write, so its first `put`/`proxy` stores it without copying a byte:
   * data born in the store. Otherwise it is a plain `new ctor(length)`.
   *
   * ```ts
   * const grid = store.allocate(Float64Array, 1_250_000); // 10 MB, shared
   * fill(grid);
   * const p = await store.proxy(grid);                    // no copy
   * ```
   *
   * After that put, writes to the array are writes to the stored object.
   * With `{ zeroed: false }`, for a caller that writes every element, the
   * connector may hand out recycled memory as it is, sparing the zeroing.
   */
  allocate<A extends TypedArray>(ctor: TypedArrayClass<A> & (new (length: number) => A), length: number, options: { readonly zeroed?: boolean } = {}): A {
    this.#assertOpen('allocate');
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new RangeError(`store '${this.name}': allocate needs a non-negative whole number of elements, got ${String(length)}`);
    }
    const allocate = this.#allocate;
    const placed =
      allocate === undefined || this.#customSerializer ? undefined : allocateTypedArray(ctor, length, (size) => allocate(size, options.zeroed === false ? { zeroed: false } : {}));
    if (placed === undefined) return new ctor(length);
    this.#framed.set(placed.value, placed.frame);
    return placed.value;
  }

  /** The object encoded by `bytes`; `key` only names the culprit in errors. */
  deserialize(bytes: Uint8Array, key?: Key): unknown {
    const t0 = this.#metrics === undefined ? 0 : performance.now();
    let value: unknown;
    try {
      value = this.#deserialize(bytes);
    } catch (error) {
      const where = key === undefined ? '' : ` of key ${describeKey(key)}`;
      const message = `store '${this.name}': cannot deserialize bytes${where}: ${(error as Error).message}`;
      throw new SerializationError(message, { cause: error });
    }
    this.#metrics?.record('deserialize', performance.now() - t0, bytes.byteLength);
    return value;
  }

  async put(obj: unknown, options: PutOptions = {}): Promise<Key> {
    this.#assertOpen('put');
    checkLifetimeOption(this, 'put', options);
    const t0 = this.#metrics === undefined ? 0 : performance.now();
    const tagged = this.#tagged('put', options);
    const bytes = this.serialize(obj);
    const key = await this.#connectorCall('put', undefined, () => (tagged === undefined ? this.connector.put(bytes) : tagged.putWith(bytes, options)));
    this.#metrics?.record('put', performance.now() - t0, bytes.byteLength);
    if (options.lifetime !== undefined) await attachKeys(options.lifetime, this, [key]);
    return key;
  }

  async putBatch(objs: readonly unknown[], options: PutOptions = {}): Promise<Key[]> {
    this.#assertOpen('putBatch');
    checkLifetimeOption(this, 'putBatch', options);
    const t0 = this.#metrics === undefined ? 0 : performance.now();
    const tagged = this.#tagged('putBatch', options);
    const data = objs.map((obj) => this.serialize(obj));
    const keys = await this.#connectorCall('putBatch', undefined, () => (tagged === undefined ? this.connector.putBatch(data) : tagged.putBatchWith(data, options)));
    const bytes = data.reduce((sum, d) => sum + d.byteLength, 0);
    this.#metrics?.record('putBatch', performance.now() - t0, bytes);
    if (options.lifetime !== undefined) await attachKeys(options.lifetime, this, keys);
    return keys;
  }

  /** The connector's tagged puts when `options` has tags; undefined when there are none to pass. */
  #tagged(operation: string, options: PutOptions): TaggedPut | undefined {
    if (options.tags === undefined) return undefined;
    if (!isTagged(this.connector)) {
      throw new ConfigError(`store '${this.name}': ${operation} got tags, but its ${this.connector.kind} connector does not route by tags (a MultiConnector does)`);
    }
    return this.connector;
  }

  /** The object under `key`, or `undefined` when the store does not hold it. */
  async get<T = unknown>(key: Key): Promise<T | undefined> {
    this.#assertOpen('get');
    const t0 = this.#metrics === undefined ? 0 : performance.now();
    const cached = this.#cacheLookup(key);
    if (cached !== undefined) return cached.value as T;
    const bytes = await this.#connectorCall('get', key, () => this.connector.get(key));
    return this.#finishGet<T>(key, bytes, t0);
  }

  /** Like `get` without waiting on I/O; only for connectors that have `getSync`. */
  getSync<T = unknown>(key: Key): T | undefined {
    this.#assertOpen('getSync');
    const t0 = this.#metrics === undefined ? 0 : performance.now();
    const cached = this.#cacheLookup(key);
    if (cached !== undefined) return cached.value as T;
    if (this.connector.getSync === undefined) {
      throw new ConnectorError(this.connector.kind, 'getSync', `connector cannot read synchronously: resolve proxies of store '${this.name}' with resolveAsync`, { key });
    }
    let bytes: Uint8Array | undefined;
    try {
      bytes = this.connector.getSync(key);
    } catch (error) {
      throw connectorFailure(this, 'getSync', error, key);
    }
    return this.#finishGet<T>(key, bytes, t0);
  }

  async getBatch<T = unknown>(keys: readonly Key[]): Promise<(T | undefined)[]> {
    this.#assertOpen('getBatch');
    const out = new Array<T | undefined>(keys.length);
    const missing: number[] = [];
    keys.forEach((key, i) => {
      const cached = this.#cacheLookup(key);
      if (cached === undefined) missing.push(i);
      else out[i] = cached.value as T;
    });
    if (missing.length > 0) {
      const t0 = this.#metrics === undefined ? 0 : performance.now();
      const wanted = missing.map((i) => keys[i] as Key);
      const data = await this.#connectorCall('getBatch', undefined, () => this.connector.getBatch(wanted));
      missing.forEach((i, j) => {
        out[i] = this.#finishGet<T>(keys[i] as Key, data[j], t0);
      });
    }
    return out;
  }

  async exists(key: Key): Promise<boolean> {
    this.#assertOpen('exists');
    return this.#connectorCall('exists', key, () => this.connector.exists(key));
  }

  async evict(key: Key): Promise<void> {
    this.#assertOpen('evict');
    this.#cache?.delete(keyId(key));
    const t0 = this.#metrics === undefined ? 0 : performance.now();
    await this.#connectorCall('evict', key, () => this.connector.evict(key));
    this.#metrics?.record('evict', performance.now() - t0);
  }

  /**
   * Ends this thread's claim on what reads of `key` handed out (the cached
   * object included), for a connector that recycles the memory it hands out
   * views of (shared memory): once the object is evicted, arrays read from it
   * earlier may show another object's bytes. Call only when nothing will read
   * them again; executors do so for a task's inputs and for released results.
   */
  releaseViews(key: Key): void {
    this.#cache?.delete(keyId(key));
    this.connector.releaseViews?.(key);
  }

  /** Store `obj` and return a proxy of it. Primitives cannot be proxied (see `skipNonProxiable`). */
  async proxy<T extends Proxiable>(obj: T, options: ProxyCreateOptions = {}): Promise<Proxy<T>> {
    checkLifetimeOption(this, 'proxy', options);
    if (!this.#checkProxiable(obj, options)) return obj as Proxy<T>;
    const key = await this.put(obj, putOptionsOf(options));
    return this.#proxyFor(obj, key, options);
  }

  /** One proxy per object, in order; a tuple in gives a tuple of proxies out. */
  async proxyBatch<T extends readonly Proxiable[]>(objs: readonly [...T], options: ProxyCreateOptions = {}): Promise<ProxiesOf<T>> {
    checkLifetimeOption(this, 'proxyBatch', options);
    const proxiable = objs.filter((obj) => this.#checkProxiable(obj, options));
    const keys = await this.putBatch(proxiable, putOptionsOf(options));
    let next = 0;
    return objs.map((obj) => (proxiable[next] === obj ? this.#proxyFor(obj, keys[next++] as Key, options) : obj)) as ProxiesOf<T>;
  }

  /**
   * A proxy of an object already in the store. No I/O happens until it is used.
   * `T` must be stated (`proxyFromKey<Foo>(key)`): nothing at the call site says what the key holds.
   */
  proxyFromKey<T extends Proxiable = never>(key: TypeArgumentRequired<T, Key>, options: ProxyFromKeyOptions = {}): Proxy<T> {
    this.#assertOpen('proxyFromKey');
    checkLifetimeOption(this, 'proxyFromKey', options);
    options.lifetime?.addKey(key, this);
    const metadata = options.metadata ?? { kind: 'object' as const };
    return proxy(storeFactory<T>(this, key, { evict: options.evict ?? false, metadata }), { metadata });
  }

  /** Store `obj` under a single owner: disposing it (`using`, `dispose()`) evicts the object. See ownership.ts. */
  ownedProxy<T extends Proxiable>(obj: T, options: OwnedProxyOptions = {}): Promise<OwnedProxy<T>> {
    return ownedProxy(this, obj, options);
  }

  metrics(): MetricsSnapshot | undefined {
    return this.#metrics?.snapshot();
  }

  /** Close the connector (optionally clearing what it stored) and unregister the store. Idempotent. */
  async close(options: CloseOptions = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#cache?.clear();
    unregisterStore(this.name, this);
    await this.connector.close(options);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  toString(): string {
    return `Store(${JSON.stringify(this.name)}, ${this.connector.kind})`;
  }

  #proxyFor<T extends Proxiable>(obj: T, key: Key, options: ProxyCreateOptions): Proxy<T> {
    const metadata = storedMetadata(obj);
    const factory = storeFactory<T>(this, key, { evict: options.evict ?? false, metadata });
    const populate = options.populateTarget ?? this.populateTarget;
    return proxy(factory, populate ? { target: obj, metadata } : { metadata });
  }

  /** True when `obj` can be proxied; false when it is a primitive to hand back as it is. */
  #checkProxiable(obj: unknown, options: ProxyCreateOptions): boolean {
    if (isObjectLike(obj)) return true;
    if (options.skipNonProxiable === true) return false;
    throw new NonProxiableTypeError(typeOfValue(obj));
  }

  #cacheLookup(key: Key): CacheEntry | undefined {
    if (this.#cache === undefined) return undefined;
    const hit = this.#cache.get(keyId(key));
    this.#metrics?.record(hit === undefined ? 'cacheMiss' : 'cacheHit', 0);
    return hit;
  }

  #finishGet<T>(key: Key, bytes: Uint8Array | undefined, t0: number): T | undefined {
    if (bytes === undefined) return undefined;
    const value = this.deserialize(bytes, key);
    // At least 1: lru-cache refuses sizes of 0.
    this.#cache?.set(keyId(key), { value, bytes: Math.max(1, bytes.byteLength) });
    this.#metrics?.record('get', performance.now() - t0, bytes.byteLength);
    return value as T;
  }

  #assertOpen(operation: string): void {
    if (this.#closed) throw new StoreClosedError(this.name, operation);
  }

  async #connectorCall<R>(operation: string, key: Key | undefined, call: () => Promise<R>): Promise<R> {
    const t0 = this.#metrics === undefined ? 0 : performance.now();
    try {
      return await call();
    } catch (error) {
      throw connectorFailure(this, operation, error, key);
    } finally {
      this.#metrics?.record(`connector.${operation}`, performance.now() - t0);
    }
  }
}

/** A connector's failure as a store reports it: a ConnectorError as it is, anything else wrapped to name the connector and the store. */
export function connectorFailure(store: Store, operation: string, error: unknown, key?: Key, detail = ''): ConnectorError {
  if (error instanceof ConnectorError) return error;
  return new ConnectorError(`${store.connector.kind} connector of store '${store.name}'`, operation, `${messageOf(error)}${detail}`, { cause: error, key });
}

/** What `put` needs out of proxy options; the rest says how the proxy behaves. */
function putOptionsOf(options: ProxyCreateOptions): PutOptions {
  return { lifetime: options.lifetime, tags: options.tags };
}

const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;

interface CacheEntry {
  readonly value: unknown;
  /** Size of the encoding it was read from: what the cache budget counts. */
  readonly bytes: number;
}
