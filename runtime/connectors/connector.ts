/**
 * The connector layer: moves opaque bytes under small keys. It knows nothing of
 * objects (the serializer's job) or proxies (the store's job).
 */

/** A value that survives JSON unchanged; connector keys and configs are made of these. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** A key a connector hands out for stored bytes. Small and JSON-safe, so it travels inside descriptors. */
export type Key = JsonValue;

/** Everything needed to recreate an equivalent connector in another thread, process or machine. */
export interface ConnectorConfig {
  readonly kind: string;
  readonly options: { readonly [option: string]: JsonValue };
}

export interface CloseOptions {
  /** Delete every object this connector stored (only its own; never anything else). */
  readonly clear?: boolean;
}

/**
 * How far a connector's objects reach: one thread's heap, the threads of one
 * process (shared memory), or wherever its config reaches. Executors and
 * futures read it to tell where an object can be read, instead of testing kinds.
 */
export type Reach = 'thread' | 'process' | 'anywhere';

export interface TaggedPutOptions {
  /** Routing labels, matched against each policy's `tags` and `requiredTags`. */
  readonly tags?: readonly string[];
}

/**
 * Puts routed by tags (a MultiConnector offers them). A store's `put`,
 * `putBatch`, `proxy` and `proxyBatch` take a `tags` option and call these; a
 * store over a connector without them refuses tags. Keys carry the route, so reads need no tags.
 */
export interface TaggedPut {
  putWith(data: Uint8Array, options: TaggedPutOptions): Promise<Key>;
  putBatchWith(data: readonly Uint8Array[], options: TaggedPutOptions): Promise<Key[]>;
}

/** Whether `connector` offers tagged puts (both methods of `TaggedPut`). */
export function isTagged(connector: Connector): connector is Connector & TaggedPut {
  return typeof (connector as Partial<TaggedPut>).putWith === 'function' && typeof (connector as Partial<TaggedPut>).putBatchWith === 'function';
}

export interface Connector {
  /** The registered kind, e.g. 'memory', 'file', 'redis'. */
  readonly kind: string;
  /** How far its objects reach (see `Reach`); 'anywhere' when not declared. */
  readonly reach?: Reach;
  put(data: Uint8Array): Promise<Key>;
  putBatch(data: readonly Uint8Array[]): Promise<Key[]>;
  /** Missing keys give `undefined`. */
  get(key: Key): Promise<Uint8Array | undefined>;
  getBatch(keys: readonly Key[]): Promise<(Uint8Array | undefined)[]>;
  exists(key: Key): Promise<boolean>;
  /** Evicting a missing key is not an error. */
  evict(key: Key): Promise<void>;
  config(): ConnectorConfig;
  close(options?: CloseOptions): Promise<void>;
  /** Present when the connector can read without waiting on I/O events; lets a proxy resolve on first touch. */
  getSync?(key: Key): Uint8Array | undefined;
  /**
   * Present when some reads need no waiting of any kind (shared memory, for
   * an object in memory this thread already holds): what `get` would give,
   * read now, or null when `get` would have to wait for it (another thread,
   * I/O). Never blocks. The store tries it first, so that such a read costs
   * none of the promises of an async one.
   */
  getNow?(key: Key): Uint8Array | undefined | null;
  /**
   * Present when some evictions need no waiting of any kind (shared memory,
   * for an object in memory this thread already holds): evicts `key` now and
   * says true, or does nothing and says false when `evict` would have to wait.
   * Never blocks. The store tries it first, as it tries `getNow`.
   */
  evictNow?(key: Key): boolean;
  /**
   * Present when the connector can choose the key before the bytes are written,
   * for callers that cannot await: `autoProxy` runs inside synchronous call
   * expressions. The key may be handed out at once in this process; another
   * process may not find it until `written` settles, so whoever sends it must
   * wait for that first (`encodeProxiesAsync` does). The connector owns `data`
   * from this call on. Throws synchronously only when no write can start (e.g.
   * the connector is closed); write failures reject `written`.
   */
  startPut?(data: Uint8Array): StartedPut;
  /**
   * Present when the connector keeps bytes in memory it can hand out before
   * they are stored (shared memory): `size` zeroed, writable bytes, 8-aligned. Given
   * back to `put`, `putBatch` or `startPut` as the very same array, they are
   * adopted rather than copied, and from then on they are the stored object.
   * The store's serializer writes straight into them, so a put copies once.
   */
  allocate?(size: number, options?: AllocateOptions): Uint8Array;
  /**
   * Present when reads hand out views on memory the connector recycles
   * (shared memory): ends this thread's claim on the views handed out so far
   * for `key`, so that once the object is evicted its memory can serve
   * another. Call only when nothing will read those views again; the store
   * and executors do so where a borrow is known to be over.
   */
  releaseViews?(key: Key): void;
  /**
   * Present when the connector copies a put's bytes out (to a file, a socket)
   * and can reuse the memory afterwards: `size` writable bytes, 8-aligned, for
   * the store's serializer to write the next put into. Give each to exactly
   * one `put`, `putBatch` or `startPut` and keep no reference: once written,
   * the memory serves a later put. Unlike `allocate`, it never becomes the
   * stored object, so `Store.allocate` does not use it.
   */
  scratch?(size: number): Uint8Array;
  /**
   * Present, with `set`, when the connector can name an object before it
   * exists (ProxyStore's DeferrableConnector): a key no put has used, under
   * which nothing is found until `set` writes it. Futures and in-place updates
   * of owned proxies need it.
   */
  newKey?(): Key;
  /**
   * Writes `data` under `key` (from `newKey`, or from an earlier put),
   * replacing whatever is there: readers see the old bytes or the new, never
   * a mix. The connector owns `data` from this call on.
   */
  set?(key: Key, data: Uint8Array): Promise<void>;
  /**
   * Present when `set` takes only some keys: whether it can write under
   * `key`. Shared memory overwrites only keys from `newKey` (a put's key names
   * where its bytes lie, which readers may be viewing), so an in-place
   * `update()` of one of its puts gets a new key instead. Absent: `set` takes
   * keys from `newKey` and from puts alike.
   */
  canSet?(key: Key): boolean;
  /**
   * Present when the connector can sleep until a key is written instead of
   * being polled (Atomics on shared memory, a blocking read on Redis), for
   * proxies of futures. Settles true once `key` may have been written or
   * `timeoutMs` passed, so the caller looks again; false when it cannot wait
   * for this key now (not a key from `newKey`, no connection to spare), so
   * the caller falls back to backed-off polls. Never settles later than
   * `timeoutMs` plus the connector's own command bound.
   */
  whenWritten?(key: Key, timeoutMs: number): Promise<boolean>;
  /** Like `whenWritten`, blocking the thread: for a proxy's synchronous first touch. */
  whenWrittenSync?(key: Key, timeoutMs: number): boolean;
  /**
   * Present when the connector can enumerate what it holds under its config
   * (the file directory, the Redis prefix, the memory space): every object
   * there, not only this instance's puts. For inspection tools (`ts-proxystore
   * store ls`, the dashboard), not for hot paths.
   */
  list?(): AsyncIterable<ListedObject> | Iterable<ListedObject>;
}

/** One object as `Connector.list` reports it. */
export interface ListedObject {
  readonly key: Key;
  /** Size of the stored encoding. */
  readonly bytes: number;
  /** When it was last written (ms since the epoch), where the connector knows it. */
  readonly modifiedMs?: number;
}

export interface AllocateOptions {
  /**
   * The caller hands the array to exactly one put and keeps no reference to
   * it (a store serializing a frame): the connector may reuse the memory once
   * the object is evicted without waiting for the array to be collected.
   */
  readonly transient?: boolean;
  /**
   * Default true. False for a caller that writes every byte: the contents are
   * then unspecified (recycled memory may hold bytes of an earlier object of
   * this process), which spares zeroing it.
   */
  readonly zeroed?: boolean;
}

/** A write begun by `Connector.startPut`. */
export interface StartedPut {
  readonly key: Key;
  /** Fulfils once the bytes are readable under `key` from anywhere the connector reaches. */
  readonly written: Promise<void>;
  /**
   * True when the write was done before `startPut` returned (a map insertion,
   * shared memory), so the key may be handed out at once, even by a caller
   * that cannot wait for `written` (a synchronous `encodeProxies`).
   */
  readonly readable?: boolean;
}

export interface ConnectorKindContext {
  /** False when the options came from a descriptor made elsewhere: check them against `policy`. */
  readonly trusted: boolean;
  readonly policy: Required<ReferencePolicy>;
}

/** How a connector kind is rebuilt from its config; kinds register themselves with `registerConnectorKind`. */
export interface ConnectorKind {
  readonly kind: string;
  /**
   * Validate untrusted options (throw ConfigError naming the bad option) and build the connector.
   * `trusted` is false when the options came from a descriptor made elsewhere.
   */
  fromOptions(options: ConnectorConfig['options'], context: ConnectorKindContext): Connector;
  /**
   * The option names its configs may carry: `connectorFromConfig` refuses any
   * other, naming it, before `fromOptions` runs (as the constructors do), so a
   * misspelt option in a config is an error rather than a silent default.
   * Absent: `fromOptions` alone judges the options.
   */
  readonly options?: readonly string[];
  /**
   * Whether `key` has the shape of the keys a connector with these options
   * hands out. An unsigned descriptor that would make its receiver delete the
   * object (evict on resolve, an owned proxy) must name such a key, so that it
   * cannot delete what no connector stored. Absent: any key passes.
   */
  isMadeKey?(key: Key, options: ConnectorConfig['options']): boolean;
}

/**
 * What a receiver accepts from descriptors made elsewhere (job data, messages).
 * Anything outside it is refused with a DescriptorError instead of touching a
 * path or host the sender chose.
 */
export interface ReferencePolicy {
  /** Connector kinds a descriptor may name. Default: the built-in kinds. */
  readonly kinds?: readonly string[];
  /** Directories an untrusted file connector may use (it must sit inside one). Default: the OS temp dir. */
  readonly fileRoots?: readonly string[];
  /**
   * Hosts an untrusted network connector may contact: `host` (any port) or
   * `host:port` (`[::1]:6379` for IPv6). Default: loopback names and addresses, any port.
   */
  readonly hosts?: readonly string[];
  /**
   * Servers to which a Redis connector rebuilt from an unsigned descriptor may
   * send this process's credentials (PROXYSTORE_REDIS_PASSWORD), as
   * `[user@]host:port[/db]`; without `/db`, any database of that server.
   * A descriptor that would need them for any other server, port, user or
   * database is refused. Default: none. Signed descriptors need no entry.
   */
  readonly credentialServers?: readonly string[];
  /** Key prefixes an untrusted Redis connector may use (its prefix must start with one). Default: `proxystore:`, the connector's own default. */
  readonly redisPrefixes?: readonly string[];
  /** Largest `cacheSize` (objects) a store rebuilt from a descriptor may have. Default 1024. */
  readonly maxCacheSize?: number;
  /** Largest `cacheBytes` a store rebuilt from a descriptor may have. Default 64 MiB, a store's own default. */
  readonly maxCacheBytes?: number;
  /** Longest wait (connect, command, answer timeouts) an unsigned descriptor may set. Default 10 s. */
  readonly maxTimeoutMs?: number;
  /**
   * How long after it was signed a signed descriptor is accepted (its `iat`,
   * issued-at, is part of what is signed), so one captured from job data
   * cannot be replayed for ever. Default 24 hours: a job may wait in a queue
   * overnight. Descriptors are signed afresh each time a proxy is sent.
   */
  readonly maxReferenceAgeMs?: number;
}
