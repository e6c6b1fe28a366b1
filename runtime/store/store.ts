import { LRUCache } from 'lru-cache';
import type { BudgetedEntry, CacheBudget } from './cache-budget.js';
import { isTagged, type CloseOptions, type Connector, type Key, type ListedObject, type ReferencePolicy, type StartedPut, type TaggedPut } from '../connectors/connector.js';
import { connectorFromConfig } from '../connectors/kinds.js';
import { ConfigError, ConnectorError, DescriptorError, InvalidArgumentError, NonProxiableTypeError, SerializationError, StoreClosedError, describeKey, keyId, messageOf } from '../errors.js';
import { Metrics, attachMetrics, type MetricsSnapshot } from './metrics.js';
import { connectorLog, storeLog } from '../support/log.js';
import { factoryOf, getKey, isProxy, metadataOf, proxy } from '../proxy/proxy.js';
import { isObjectLike, refuseThenableResult, typeOfValue } from '../proxy/metadata.js';
import {
  allocateTypedArray,
  deserialize as defaultDeserialize,
  deserializeInPlace,
  serialize as defaultSerialize,
  serializeInPlace,
  serializeStructureChecked,
  type Allocate,
  type Deserializer,
  type Serializer,
  type TypedArrayClass,
} from '../serialize/serializer.js';
import { deepFreeze, findStore, provideStoreBuilder, registerStore, storeFromConfig, unregisterStore } from './registry.js';
import type { ChecksumCoverage, Proxiable, StoreConfig, StoreHandle } from './handle.js';

export type { ChecksumCoverage, Proxiable, StoreConfig, StoreHandle } from './handle.js';
import { isStoreFactory, storeFactory } from './factory.js';
import { attachKeys, checkLifetimeOption, type Lifetime } from './lifetimes.js';
import { ownedProxy, type OwnedProxyOptions } from './ownership.js';
import { ProxyFuture, type FutureOptions } from './future.js';
import type { OwnedProxy } from '../../src/ownership.js';
import type { Proxy, ProxiesOf, TypeArgumentRequired, TypedArray } from '../../src/types.js';

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
  /**
   * What the default serializer's checksums cover in frames this store
   * writes to a file, Redis or the wire. 'all' (the default): each frame's
   * header and every payload byte, so corruption is a SerializationError
   * instead of a different value. 'structure': the header and structured
   * payloads only, so a corrupt frame never decodes to another type or shape
   * but the bytes of strings, byte arrays and typed arrays go unchecked,
   * saving a CRC pass per write and per read (for media that guard their
   * bytes). Readers check whatever a frame carries, so only the writer
   * chooses. Memory and shared-memory stores, whose frames never leave the
   * process, write none (see serialize.ts).
   */
  readonly checksum?: ChecksumCoverage;
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
  /**
   * What the caller knows of the target; without it the proxy looks like a
   * plain object until resolved, and is taken as not thenable (`await p`
   * gives `p` back without reading the store): say `thenable: true` for a
   * key whose object has a `then` method that awaiting should call.
   */
  readonly metadata?: import('../proxy/factory.js').ProxyMetadata;
}


/**
 * Puts objects in a connector as bytes and hands out proxies that get them back.
 * The store owns (de)serialization, the cache and metrics; the connector only moves bytes.
 */
export class Store implements StoreHandle {
  readonly name: string;
  readonly connector: Connector;
  readonly populateTarget: boolean;
  readonly #serialize: Serializer;
  /** Memory that becomes the stored object (see `allocate`). */
  readonly #allocate: Connector['allocate'];
  /** Where serialized frames are written: the connector's own memory, or scratch it reuses once written. */
  readonly #frameMemory: Allocate | undefined;
  #config: StoreConfig | undefined;
  /** Arrays from `allocate` not yet stored, with the frame around each: their first put stores the frame as it is. */
  readonly #framed = new WeakMap<object, Uint8Array>();
  readonly #deserialize: Deserializer;
  readonly #customSerializer: boolean;
  readonly #checksum: ChecksumCoverage;
  readonly #cacheSize: number;
  readonly #cacheBytes: number;
  readonly #cache: LRUCache<string, CacheEntry> | undefined;
  /** A bound this store's cache shares with others' (stores built from descriptors): see cache-budget.ts. */
  #budget: CacheBudget | undefined;
  readonly #metrics: Metrics | undefined;
  readonly #connectorLog: ReturnType<typeof connectorLog>;
  /** Cache lookups that found the object, and ones that did not; counted always, as `stats()` reports them. */
  #hits = 0;
  #misses = 0;
  /** Async reads in flight by key id: concurrent gets of one key (200 proxies of one object) share one read. */
  readonly #reading = new Map<string, PendingRead>();
  /**
   * Bumped by every eviction: a read that overlapped one may hold what was
   * just deleted, so it does not go into the cache (it would serve an evicted object).
   */
  #generation = 0;
  #closed = false;

  constructor(name: string, connector: Connector, options: StoreOptions = {}) {
    if (typeof name !== 'string' || name.length === 0) throw new ConfigError('store name must be a non-empty string');
    checkOptions(`store '${name}'`, options);
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
    const checksum = options.checksum ?? 'all';
    if (checksum !== 'structure' && checksum !== 'all') {
      throw new ConfigError(`store '${name}': checksum must be 'structure' or 'all', got ${describeKey(checksum)}`);
    }
    if (options.checksum !== undefined && options.serializer !== undefined) {
      throw new ConfigError(`store '${name}': checksum applies to the default serializer; a custom serializer does its own checking`);
    }
    this.name = name;
    this.connector = connector;
    this.populateTarget = options.populateTarget ?? true;
    // Frames that never leave this process (shared memory, or a memory connector, whose reads hand out
    // the stored bytes themselves) skip the checksum: reads stay a view, and a view written through
    // is not mistaken for corruption later (see serialize.ts).
    const inPlace = connector.allocate !== undefined || connector.reach === 'thread';
    this.#serialize = options.serializer ?? (inPlace ? serializeInPlace : checksum === 'structure' ? serializeStructureChecked : defaultSerialize);
    this.#checksum = checksum;
    this.#allocate = connector.allocate?.bind(connector);
    // A frame goes to one put and is dropped: transient, so recycled memory is reused without waiting for a collection.
    // The serializer writes every byte of it, so it need not be zeroed.
    this.#frameMemory = connector.allocate === undefined ? connector.scratch?.bind(connector) : (size) => connector.allocate?.(size, { transient: true, zeroed: false }) as Uint8Array;
    this.#deserialize = options.deserializer ?? (inPlace ? deserializeInPlace : defaultDeserialize);
    this.#customSerializer = options.serializer !== undefined;
    const cacheBytes = options.cacheBytes ?? DEFAULT_CACHE_BYTES;
    if (!Number.isSafeInteger(cacheBytes) || cacheBytes < 0) {
      throw new ConfigError(`store '${name}': cacheBytes must be a non-negative whole number of bytes, got ${String(cacheBytes)}`);
    }
    this.#cacheSize = cacheSize;
    this.#cacheBytes = cacheBytes;
    this.#cache = cacheSize > 0 && cacheBytes > 0 ? new LRUCache({ max: cacheSize, maxSize: cacheBytes, sizeCalculation: (entry) => entry.bytes }) : undefined;
    this.#metrics = options.metrics === true ? new Metrics() : undefined;
    if (this.#metrics !== undefined) attachMetrics(this, this.#metrics);
    this.#connectorLog = connectorLog(connector.kind);
    if (options.register === true) registerStore(this);
  }

  /** Rebuild a store from `config()`. Untrusted configs (from descriptors made elsewhere) are checked against `policy`. */
  static fromConfig(config: StoreConfig, options: { trusted?: boolean; policy?: ReferencePolicy; register?: boolean; cacheBudget?: CacheBudget } = {}): Store {
    if (config.serializer === 'custom') {
      throw new ConfigError(
        `store '${config.name}' uses a custom serializer, which cannot be rebuilt from its config: register a store of that name in this process first`,
      );
    }
    const connector = connectorFromConfig(config.connector, options);
    const store = new Store(config.name, connector, {
      cacheSize: config.cacheSize,
      ...(config.cacheBytes === undefined ? {} : { cacheBytes: config.cacheBytes }),
      metrics: config.metrics,
      populateTarget: config.populateTarget,
      register: options.register ?? false,
      ...(config.checksum === undefined ? {} : { checksum: config.checksum }),
    });
    if (options.cacheBudget !== undefined && store.#cache !== undefined) {
      store.#budget = options.cacheBudget;
      options.cacheBudget.join(store.#cache);
    }
    return store;
  }

  /**
   * What another thread or process needs to open this store, frozen. It is
   * made once: a store's name, connector and options are fixed for its life
   * (the registry relies on that too), and one object lets a message naming
   * the store twice (a task call's inputs and its results) carry it once.
   */
  config(): StoreConfig {
    this.#config ??= Object.freeze({
      name: this.name,
      // A copy of the connector's own, so freezing it cannot reach into the connector.
      connector: deepFreeze(structuredClone(this.connector.config())),
      cacheSize: this.#cacheSize,
      cacheBytes: this.#cacheBytes,
      metrics: this.#metrics !== undefined,
      populateTarget: this.populateTarget,
      serializer: this.#customSerializer ? 'custom' : 'default',
      ...(this.#checksum === 'all' ? {} : { checksum: this.#checksum }),
    });
    return this.#config;
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
    // Anything else would reach the connector as zero bytes or garbage: the value would be lost without a word.
    const returned: unknown = bytes;
    if (!(returned instanceof Uint8Array)) {
      const what = isObjectLike(returned) ? `a ${(returned.constructor as { name?: string } | undefined)?.name ?? 'object'}` : `a value of type ${typeOfValue(returned)}`;
      throw new SerializationError(`store '${this.name}': the serializer returned ${what}, not a Uint8Array: a custom serializer must return the encoded bytes`);
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
   * With `{ transient: true }`, for a caller that puts the array and is done
   * with it, this thread's claim on the memory ends at that put, as
   * `releaseViews` of its key would end it: the array may later show other
   * objects' bytes. It saves the claim's own bookkeeping.
   */
  allocate<A extends TypedArray>(
    ctor: TypedArrayClass<A> & (new (length: number) => A),
    length: number,
    options: { readonly zeroed?: boolean; readonly transient?: boolean } = {},
  ): A {
    this.#assertOpen('allocate');
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new InvalidArgumentError('length', `store '${this.name}': allocate needs a non-negative whole number of elements, got ${String(length)}`);
    }
    const allocate = this.#allocate;
    const placed =
      allocate === undefined || this.#customSerializer ? undefined : allocateTypedArray(ctor, length, (size) => allocate(size, { zeroed: options.zeroed !== false, transient: options.transient === true }));
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
    checkStorable(this, 'put', 'obj', obj);
    checkOptions(`store '${this.name}': put`, options);
    checkLifetimeOption(this, 'put', options);
    const t0 = this.#clock();
    const tagged = this.#tagged('put', options);
    const bytes = this.serialize(obj);
    const key = await this.#connectorCall('put', undefined, () => (tagged === undefined ? this.connector.put(bytes) : tagged.putWith(bytes, options)), () => bytes.byteLength);
    this.#observe('put', t0, bytes.byteLength, key);
    if (options.lifetime !== undefined) await attachKeys(options.lifetime, this, [key]);
    return key;
  }

  /**
   * Serializes `obj` and starts writing it with the connector's `startPut`:
   * the key comes back at once, and `written` fulfils once the bytes are
   * readable everywhere the connector reaches (rejecting with a
   * ConnectorError if the write fails). What `autoProxy` does the first time
   * a proxy crosses a boundary. Logged and counted like `put` (as `put` and
   * `connector.startPut`) once written. A ConfigError for a connector
   * without `startPut`.
   */
  startPut(obj: unknown): StartedPut {
    this.#assertOpen('startPut');
    const { connector } = this;
    if (connector.startPut === undefined) throw new ConfigError(`store '${this.name}': its ${connector.kind} connector cannot hand out a key before writing (no startPut)`);
    const t0 = this.#clock();
    const bytes = this.serialize(obj);
    const c0 = this.#connectorClock();
    let started: StartedPut;
    try {
      started = connector.startPut(bytes);
    } catch (error) {
      return this.#connectorFailed('startPut', undefined, c0, error);
    }
    const { key } = started;
    const finish = (failed: boolean): void => {
      this.#connectorDone('startPut', key, c0, failed ? 0 : bytes.byteLength, failed);
      if (!failed) this.#observe('put', t0, bytes.byteLength, key);
    };
    if (started.readable === true) {
      finish(false);
      return started;
    }
    const written = started.written.then(
      () => finish(false),
      (error: unknown) => {
        finish(true);
        throw connectorFailure(this, 'startPut', error, key);
      },
    );
    return { ...started, written };
  }

  async putBatch(objs: readonly unknown[], options: PutOptions = {}): Promise<Key[]> {
    this.#assertOpen('putBatch');
    if (!Array.isArray(objs)) throw new InvalidArgumentError('objs', `store '${this.name}': putBatch: objs must be an array of objects, got ${describeKey(objs)}`);
    objs.forEach((obj, i) => checkStorable(this, 'putBatch', `objs[${i}]`, obj));
    checkOptions(`store '${this.name}': putBatch`, options);
    checkLifetimeOption(this, 'putBatch', options);
    const t0 = this.#clock();
    const tagged = this.#tagged('putBatch', options);
    const data = objs.map((obj) => this.serialize(obj));
    const bytes = data.reduce((sum, d) => sum + d.byteLength, 0);
    const keys = await this.#connectorCall('putBatch', undefined, () => (tagged === undefined ? this.connector.putBatch(data) : tagged.putBatchWith(data, options)), () => bytes);
    this.#observe('putBatch', t0, bytes, undefined, ` (${keys.length} objects)`);
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

  /**
   * Writes `obj` under `key`, replacing what is there: a key from a put, or
   * one the connector named in advance (`Connector.newKey`, as `future` does).
   * Needs a connector that can overwrite (memory, file, Redis, multi).
   */
  async set(key: Key, obj: unknown): Promise<void> {
    this.#assertOpen('set');
    const { connector } = this;
    if (connector.set === undefined) {
      throw new ConfigError(`store '${this.name}': its ${connector.kind} connector cannot write under a given key (memory, file, Redis and multi connectors can)`);
    }
    const id = this.#idOf('set', key);
    checkStorable(this, 'set', 'obj', obj);
    const t0 = this.#clock();
    const bytes = this.serialize(obj);
    await this.#connectorCall('set', key, () => (connector.set as (key: Key, data: Uint8Array) => Promise<void>).call(connector, key, bytes), () => bytes.byteLength);
    // The old value must not be served from this process's cache, nor by a read that began before the write.
    this.#forget(id);
    this.#observe('set', t0, bytes.byteLength, key);
  }

  /**
   * A future: a value that does not exist yet, under a key chosen now. Its
   * `proxy()` can travel at once; whoever resolves it waits until
   * `setResult` (or `setError`) writes the value, in any process.
   */
  future<T>(options: FutureOptions = {}): ProxyFuture<T> {
    this.#assertOpen('future');
    if (this.connector.newKey === undefined || this.connector.set === undefined) {
      throw new ConfigError(`store '${this.name}': its ${this.connector.kind} connector cannot name an object before it exists, so it cannot hold futures (memory, file, shared-memory, Redis and multi connectors can)`);
    }
    return new ProxyFuture<T>(this, this.connector.newKey(), options);
  }

  /** The object under `key`, or `undefined` when the store does not hold it. */
  async get<T = unknown>(key: Key): Promise<T | undefined> {
    this.#assertOpen('get');
    const id = this.#idOf('get', key);
    const t0 = this.#clock();
    const now = this.#getNow(key, id, t0);
    if (now !== WOULD_WAIT) return now as T | undefined;
    let read = this.#reading.get(id);
    if (read === undefined) {
      read = new PendingRead();
      this.#reading.set(id, read);
      const done = (): void => {
        if (this.#reading.get(id) === read) this.#reading.delete(id);
      };
      read.value = this.#read(key, id, read, t0);
      read.value.then(done, done);
    }
    return (await read.value) as T | undefined;
  }

  /**
   * What `get` would give, when it can be had without waiting: from the
   * cache, or read at once by a connector that can (`getNow`: shared memory,
   * for what this thread holds). `null` when only `get` can tell: the
   * connector would have to wait, or a read of the key is already under way.
   * Never blocks; counted, logged and cached as `get`.
   */
  getNow<T = unknown>(key: Key): T | undefined | null {
    this.#assertOpen('get');
    const now = this.#getNow(key, this.#idOf('get', key), this.#clock());
    return now === WOULD_WAIT ? null : (now as T | undefined);
  }

  #getNow(key: Key, id: string, t0: number): unknown {
    const cached = this.#cacheLookup(id);
    if (cached !== undefined) return this.#cachedGet('get', key, cached, t0);
    return this.#reading.has(id) ? WOULD_WAIT : this.#readNow(key, id, t0);
  }

  /** What `get` finds when the connector can read `key` without waiting (`getNow`), decoded and cached; WOULD_WAIT when it cannot. */
  #readNow(key: Key, id: string, t0: number): unknown {
    const { connector } = this;
    if (connector.getNow === undefined) return WOULD_WAIT;
    const generation = this.#generation;
    const c0 = this.#connectorClock();
    let bytes: Uint8Array | undefined | null;
    try {
      bytes = connector.getNow(key);
    } catch (error) {
      return this.#connectorFailed('get', key, c0, error);
    }
    if (bytes === null) return WOULD_WAIT;
    this.#connectorDone('get', key, c0, bytes?.byteLength ?? 0, false);
    return this.#finishGet('get', key, id, bytes, t0, generation);
  }

  /** Whether the connector evicted `key` at once (`evictNow`); false when `evict` must do it. */
  #evictNow(key: Key): boolean {
    const { connector } = this;
    if (connector.evictNow === undefined) return false;
    const c0 = this.#connectorClock();
    let done: boolean;
    try {
      done = connector.evictNow(key);
    } catch (error) {
      return this.#connectorFailed('evict', key, c0, error);
    }
    if (done) this.#connectorDone('evict', key, c0, 0, false);
    return done;
  }

  /** Counts a connector call begun at `c0` that failed, and throws the error a store reports for it. */
  #connectorFailed(operation: string, key: Key | undefined, c0: number, error: unknown): never {
    this.#connectorDone(operation, key, c0, 0, true);
    throw connectorFailure(this, operation, error, key);
  }

  /** The async read behind `get`: one per key at a time. */
  async #read(key: Key, id: string, read: PendingRead, t0: number): Promise<unknown> {
    const generation = this.#generation;
    // One turn before the connector is asked: a synchronous touch of the same
    // key right after an async resolve started (`resolveAsync(p); p.length`)
    // reads it for both, instead of the key being read twice.
    await Promise.resolve();
    const early = read.handed();
    if (early !== undefined) return early.value;
    read.started = true;
    const bytes = await this.#connectorCall('get', key, () => this.connector.get(key), (found) => found?.byteLength ?? 0);
    // A synchronous read of the key finished while this one was under way: its object is the one, decoded and cached once.
    const meanwhile = read.handed();
    if (meanwhile !== undefined && bytes !== undefined) {
      this.#observe('get', t0, 0, key, ' (read synchronously meanwhile)');
      return meanwhile.value;
    }
    return this.#finishGet('get', key, id, bytes, t0, generation);
  }

  /** Like `get` without waiting on I/O; only for connectors that have `getSync`. */
  getSync<T = unknown>(key: Key): T | undefined {
    this.#assertOpen('getSync');
    const id = this.#idOf('getSync', key);
    const t0 = this.#clock();
    const generation = this.#generation;
    const cached = this.#cacheLookup(id);
    if (cached !== undefined) return this.#cachedGet<T>('get', key, cached, t0);
    if (this.connector.getSync === undefined) {
      throw new ConnectorError(this.connector.kind, 'getSync', `connector cannot read synchronously: resolve proxies of store '${this.name}' with resolveAsync`, { key });
    }
    let bytes: Uint8Array | undefined;
    try {
      bytes = this.connector.getSync(key);
    } catch (error) {
      throw connectorFailure(this, 'getSync', error, key);
    }
    const value = this.#finishGet('get', key, id, bytes, t0, generation);
    // An async read of the key waiting or in flight returns this object: one object per key for all its
    // readers, decoded and cached once. One not yet started asks the connector no more; one already
    // started has (this thread cannot wait for it), but its bytes are dropped unread.
    const waiting = this.#reading.get(id);
    if (waiting !== undefined && value !== undefined) waiting.handedOver = { value };
    return value as T | undefined;
  }

  async getBatch<T = unknown>(keys: readonly Key[]): Promise<(T | undefined)[]> {
    this.#assertOpen('getBatch');
    if (!Array.isArray(keys)) throw new InvalidArgumentError('keys', `store '${this.name}': getBatch: keys must be an array of keys, got ${describeKey(keys)}`);
    const ids = keys.map((key, i) => this.#idOf('getBatch', key, `keys[${i}]`));
    const out = new Array<T | undefined>(keys.length);
    const missing: number[] = [];
    keys.forEach((key, i) => {
      const cached = this.#cacheLookup(ids[i] as string);
      if (cached === undefined) missing.push(i);
      else out[i] = this.#cachedGet<T>('get', key as Key, cached, this.#clock());
    });
    if (missing.length > 0) {
      const t0 = this.#clock();
      const generation = this.#generation;
      const wanted = missing.map((i) => keys[i] as Key);
      const data = await this.#connectorCall('getBatch', undefined, () => this.connector.getBatch(wanted), (found) => found.reduce((sum, d) => sum + (d?.byteLength ?? 0), 0));
      missing.forEach((i, j) => {
        out[i] = this.#finishGet('get', keys[i] as Key, ids[i] as string, data[j], t0, generation) as T | undefined;
      });
    }
    return out;
  }

  async exists(key: Key): Promise<boolean> {
    this.#assertOpen('exists');
    this.#idOf('exists', key);
    const t0 = this.#clock();
    const found = await this.#connectorCall('exists', key, () => this.connector.exists(key));
    this.#observe('exists', t0, 0, key, found ? '' : ' (missing)');
    return found;
  }

  async evict(key: Key): Promise<void> {
    this.#assertOpen('evict');
    const id = this.#idOf('evict', key);
    this.#forget(id);
    const t0 = this.#clock();
    try {
      if (!this.#evictNow(key)) await this.#connectorCall('evict', key, () => this.connector.evict(key));
    } finally {
      // A read that overlapped the eviction may have cached what it read before the delete landed.
      this.#forget(id);
    }
    this.#observe('evict', t0, 0, key);
  }

  /**
   * Ends this thread's claim on what reads of `key` handed out (the cached
   * object included), for a connector that recycles the memory it hands out
   * views of (shared memory): once the object is evicted, arrays read from it
   * earlier may show another object's bytes. Call only when nothing will read
   * them again; executors do so for a task's inputs and for released results.
   */
  releaseViews(key: Key): void {
    if (this.#cache !== undefined) uncache(this.#cache, keyId(key));
    this.connector.releaseViews?.(key);
  }

  /** Store `obj` and return a proxy of it. Primitives cannot be proxied (see `skipNonProxiable`). */
  async proxy<T extends Proxiable>(obj: T, options: ProxyCreateOptions = {}): Promise<Proxy<T>> {
    checkOptions(`store '${this.name}': proxy`, options);
    checkLifetimeOption(this, 'proxy', options);
    if (!this.#checkProxiable(obj, options)) return obj as Proxy<T>;
    const metadata = metadataOf(obj);
    refuseThenableResult(metadata.thenable, `store '${this.name}': proxy`, 'use proxyBatch([obj]), whose array carries the proxy');
    const t0 = this.#clock();
    const key = await this.put(obj, putOptionsOf(options));
    const made = this.#proxyFor(obj, key, options, metadata);
    this.#observe('proxy', t0, 0, key);
    return made;
  }

  /** One proxy per object, in order; a tuple in gives a tuple of proxies out. */
  async proxyBatch<T extends readonly Proxiable[]>(objs: readonly [...T], options: ProxyCreateOptions = {}): Promise<ProxiesOf<T>> {
    if (!Array.isArray(objs)) throw new InvalidArgumentError('objs', `store '${this.name}': proxyBatch: objs must be an array of objects, got ${describeKey(objs)}`);
    checkOptions(`store '${this.name}': proxyBatch`, options);
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
    this.#idOf('proxyFromKey', key);
    checkOptions(`store '${this.name}': proxyFromKey`, options);
    const kind = (options.metadata as { kind?: unknown } | undefined)?.kind;
    if (options.metadata !== undefined && kind !== 'object' && kind !== 'array' && kind !== 'function') {
      throw new InvalidArgumentError('options.metadata', `store '${this.name}': proxyFromKey: options.metadata.kind must be 'object', 'array' or 'function', got ${describeKey(kind)}`);
    }
    checkLifetimeOption(this, 'proxyFromKey', options);
    options.lifetime?.addKey(key, this);
    // Taken as not thenable unless said: awaiting the proxy, or returning it from an async function, must not read the store to find out.
    const metadata = options.metadata ?? NOT_THENABLE_OBJECT;
    return proxy(storeFactory<T>(this, key, { evict: options.evict ?? false, metadata }), { metadata });
  }

  /** Store `obj` under a single owner: disposing it (`using`, `dispose()`) evicts the object. See ownership.ts. */
  ownedProxy<T extends Proxiable>(obj: T, options: OwnedProxyOptions = {}): Promise<OwnedProxy<T>> {
    return ownedProxy(this, obj, options);
  }

  /**
   * Timings and byte counts per operation (with `metrics: true`; otherwise
   * undefined): totals, or given a key or a proxy of this store, that
   * object's own figures (put, get, proxy, resolve, evict …), as ProxyStore's
   * `get_metrics` gives them.
   */
  metrics(of?: Key | object): MetricsSnapshot | undefined {
    if (this.#metrics === undefined) return undefined;
    if (of === undefined) return this.#metrics.snapshot();
    const key = typeof of === 'object' && of !== null && isProxy(of) ? getKey(of) : (of as Key);
    return key === undefined ? {} : this.#metrics.snapshot(key);
  }

  /** Starts every figure from zero: the metrics and the cache's hit and miss counts. */
  resetMetrics(): void {
    this.#metrics?.reset();
    this.#hits = 0;
    this.#misses = 0;
  }

  /** What the store holds in its cache and how well the cache serves; cheap, for dashboards and logs. */
  stats(): StoreStats {
    const lookups = this.#hits + this.#misses;
    return {
      name: this.name,
      connector: this.connector.kind,
      closed: this.#closed,
      cache: {
        objects: this.#cache?.size ?? 0,
        bytes: this.#cache?.calculatedSize ?? 0,
        maxObjects: this.#cacheSize,
        maxBytes: this.#cacheBytes,
        hits: this.#hits,
        misses: this.#misses,
        hitRate: lookups === 0 ? 0 : this.#hits / lookups,
      },
      metrics: this.#metrics?.snapshot(),
    };
  }

  /**
   * Every object the connector holds under this store's config (the file
   * directory, the Redis prefix …), not only this instance's puts. For
   * inspection (`ts-proxystore store ls`, the dashboard), not hot paths.
   */
  async *list(): AsyncGenerator<ListedObject> {
    this.#assertOpen('list');
    if (this.connector.list === undefined) {
      throw new ConnectorError(this.connector.kind, 'list', `connector of store '${this.name}' cannot list what it holds (file, Redis, memory and multi connectors can)`);
    }
    try {
      yield* this.connector.list();
    } catch (error) {
      throw connectorFailure(this, 'list', error);
    }
  }

  /** Close the connector (optionally clearing what it stored) and unregister the store. Idempotent. */
  async close(options: CloseOptions = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#cache?.clear();
    if (this.#cache !== undefined) this.#budget?.leave(this.#cache);
    unregisterStore(this.name, this);
    await this.connector.close(options);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  toString(): string {
    return `Store(${JSON.stringify(this.name)}, ${this.connector.kind})`;
  }

  #proxyFor<T extends Proxiable>(obj: T, key: Key, options: ProxyCreateOptions, metadata = metadataOf(obj)): Proxy<T> {
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

  #cacheLookup(id: string): CacheEntry | undefined {
    if (this.#cache === undefined) return undefined;
    const hit = this.#cache.get(id);
    if (hit === undefined) this.#misses += 1;
    else {
      this.#hits += 1;
      this.#budget?.touch(hit);
    }
    this.#metrics?.record(hit === undefined ? 'cacheMiss' : 'cacheHit', 0);
    return hit;
  }

  /** Every ask is a `get` in the metrics, whether the cache, the connector or nobody had the object. */
  #cachedGet<T>(operation: string, key: Key, cached: CacheEntry, t0: number): T {
    this.#observe(operation, t0, cached.bytes, key, ' (cached)');
    return cached.value as T;
  }

  /** Decodes what a read found; caches it unless an eviction happened since the read began (`generation`). */
  #finishGet(operation: string, key: Key, id: string, bytes: Uint8Array | undefined, t0: number, generation: number): unknown {
    if (bytes === undefined) {
      this.#observe(operation, t0, 0, key, ' (missing)');
      return undefined;
    }
    const value = this.deserialize(bytes, key);
    // At least 1: lru-cache refuses sizes of 0.
    if (generation === this.#generation && this.#cache !== undefined) {
      const entry = { value, bytes: Math.max(1, bytes.byteLength), used: 0 };
      this.#cache.set(id, entry);
      this.#budget?.admit(this.#cache, id, entry);
    }
    this.#observe(operation, t0, bytes.byteLength, key);
    return value;
  }
  /** Drops `id` from the cache and from reads in flight, which later gets must not join. */
  #forget(id: string): void {
    this.#generation++;
    if (this.#cache !== undefined) uncache(this.#cache, id);
    this.#reading.delete(id);
  }

  /** The cache id of `key`, or an InvalidArgumentError for something no connector hands out as a key. */
  #idOf(operation: string, key: unknown, argument = 'key'): string {
    let id: unknown;
    try {
      id = keyId(key as Key);
    } catch {
      // BigInts and cycles: JSON cannot hold them, so no key is one.
    }
    if (typeof id === 'string') return id;
    throw new InvalidArgumentError(argument, `store '${this.name}': ${operation}: ${argument} must be a key the store handed out (a string or other JSON value), got ${typeOfValue(key)} ${describeKey(key)}`);
  }

  /** An operation's start, read only when someone will see the figure: free when metrics and logs are off. */
  #clock(): number {
    return this.#metrics === undefined && !storeLog.enabled ? 0 : performance.now();
  }

  /** Counts an operation in the metrics (totals, and that key's own) and logs it: one line, like ProxyStore's `PUT key in 0.058 ms`. */
  #observe(operation: string, t0: number, bytes: number, key?: Key, note = ''): void {
    if (this.#metrics === undefined && !storeLog.enabled) return;
    const ms = performance.now() - t0;
    this.#metrics?.record(operation, ms, bytes, key);
    if (storeLog.enabled) {
      storeLog('%s %s%s %d B in %s ms%s', this.name, operation.toUpperCase(), key === undefined ? '' : ` ${describeKey(key)}`, bytes, ms.toFixed(3), note);
    }
  }

  #assertOpen(operation: string): void {
    if (this.#closed) throw new StoreClosedError(this.name, operation);
  }

  /** `bytesOf` says how many bytes the call moved, for the connector's line in the metrics. */
  async #connectorCall<R>(operation: string, key: Key | undefined, call: () => Promise<R>, bytesOf: (result: R) => number = () => 0): Promise<R> {
    const t0 = this.#connectorClock();
    let result: R;
    try {
      result = await call();
    } catch (error) {
      return this.#connectorFailed(operation, key, t0, error);
    }
    this.#connectorDone(operation, key, t0, bytesOf(result), false);
    return result;
  }

  /** 0 when nothing observes connector calls, so that they cost no clock reads. */
  #connectorClock(): number {
    return this.#metrics === undefined && !this.#connectorLog.enabled ? 0 : performance.now();
  }

  /** Counts and logs one connector call begun at `t0` (from #connectorClock). */
  #connectorDone(operation: string, key: Key | undefined, t0: number, bytes: number, failed: boolean): void {
    if (t0 === 0) return;
    const ms = performance.now() - t0;
    this.#metrics?.record(`connector.${operation}`, ms, bytes);
    const log = this.#connectorLog;
    if (log.enabled) log('%s %s%s %d B in %s ms%s', this.name, operation, key === undefined ? '' : ` ${describeKey(key)}`, bytes, ms.toFixed(3), failed ? ' (failed)' : '');
  }
}

/** A connector's failure as a store reports it: a ConnectorError as it is, anything else wrapped to name the connector and the store. */
function connectorFailure(store: Store, operation: string, error: unknown, key?: Key, detail = ''): ConnectorError | DescriptorError {
  // A key refused as data from elsewhere (a peer key naming a host the policy does not allow) is that refusal, not a connector's failure.
  if (error instanceof ConnectorError || error instanceof DescriptorError) return error;
  return new ConnectorError(`${store.connector.kind} connector of store '${store.name}'`, operation, `${messageOf(error)}${detail}`, { cause: error, key });
}

/** What `put` needs out of proxy options; the rest says how the proxy behaves. */
function putOptionsOf(options: ProxyCreateOptions): PutOptions {
  return { lifetime: options.lifetime, tags: options.tags };
}

const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;

const NOT_THENABLE_OBJECT = { kind: 'object', thenable: false } as const;

/** What `#readNow` gives when the connector would have to wait: a stored null is a value like any other. */
const WOULD_WAIT = Symbol('would wait');

provideStoreBuilder({ fromConfig: (config, options) => Store.fromConfig(config, options), isStore: (value) => value instanceof Store });

/**
 * The store registered under `name`, or the store a proxy reads from. The
 * registry holds only stores it was handed by this module (registerStore
 * refuses anything else), so what it finds is a `Store`.
 */
export function getStore(nameOrProxy: string | object): Store | undefined {
  return findStore(nameOrProxy) as Store | undefined;
}

/**
 * Drops `id` from `cache`. The only entry goes by `pop`: lru-cache's `delete`
 * of its last entry resets every one of its internal arrays, and a call's
 * read, cached and then released, empties a store's cache on every call
 * (measured by callgrind on 5 December 2026: about 7,700 instructions of a
 * round trip's 360,000 went to those resets).
 */
function uncache(cache: LRUCache<string, CacheEntry>, id: string): void {
  if (cache.size === 1 && cache.has(id)) cache.pop();
  else cache.delete(id);
}

/** The store and key a store proxy reads; undefined for anything else. */
export function locate(p: object): { readonly store: Store; readonly key: Key } | undefined {
  // One look at the proxy (see factoryOf), not one for each of isProxy, getStore and getKey.
  const factory = factoryOf(p);
  return isStoreFactory(factory) ? { store: factory.store as Store, key: factory.key } : undefined;
}

/**
 * The store `config` describes: the registered store of that name when its
 * identity matches, else one built from `config` earlier, else a new one
 * (kept by identity, not registered by name). Configs from elsewhere pass
 * `trusted: false` so their connector is checked against `policy`.
 */
export function getOrCreateStore(config: StoreConfig, options: { trusted?: boolean; policy?: ReferencePolicy } = {}): Store {
  return storeFromConfig(config, options) as Store;
}

/** A store's figures at a glance: see `Store.stats`. */
export interface StoreStats {
  readonly name: string;
  /** The connector's kind: 'file', 'redis' … */
  readonly connector: string;
  readonly closed: boolean;
  readonly cache: {
    readonly objects: number;
    /** Encoded bytes of the cached objects: what `cacheBytes` bounds. */
    readonly bytes: number;
    readonly maxObjects: number;
    readonly maxBytes: number;
    readonly hits: number;
    readonly misses: number;
    /** hits ÷ (hits + misses); 0 before any lookup. */
    readonly hitRate: number;
  };
  /** Present with `metrics: true`. */
  readonly metrics: MetricsSnapshot | undefined;
}

/** An async read in flight, shared by the gets of its key. */
class PendingRead {
  value!: Promise<unknown>;
  /** Set once the connector has been asked: before that, a value handed over saves the read itself. */
  started = false;
  /** What a synchronous read of the key found meanwhile; the async read returns it instead of decoding its own bytes. */
  handedOver: { readonly value: unknown } | undefined;

  /** `handedOver` as it is now: read through a call, since it changes across the read's awaits. */
  handed(): { readonly value: unknown } | undefined {
    return this.handedOver;
  }
}

/**
 * `undefined` cannot be stored: `get` answers undefined for a missing key, so
 * it would read back as missing. Refused at the put, where the mistake is.
 */
function checkStorable(store: Store, operation: string, argument: string, obj: unknown): void {
  if (obj !== undefined) return;
  throw new InvalidArgumentError(argument, `store '${store.name}': ${operation}: ${argument} is undefined, which get() could not tell from a missing key (store null, or wrap it in an object)`);
}

/** Options must be an object (or absent): reading them off anything else fails as an untyped TypeError. */
function checkOptions(where: string, options: unknown): void {
  if (typeof options === 'object' && options !== null && !Array.isArray(options)) return;
  throw new InvalidArgumentError('options', `${where}: options must be an object, got ${describeKey(options)}`);
}

interface CacheEntry extends BudgetedEntry {
  readonly value: unknown;
  /** Size of the encoding it was read from: what the cache budget counts. */
  readonly bytes: number;
}
