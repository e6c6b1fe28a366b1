/**
 * Lifetimes: a group of stored objects that are evicted together when the
 * lifetime ends (a scope closes, a lease expires, the process exits). The store
 * only hands keys over (`addKey`); when and how they are evicted is decided here.
 */
import { isMainThread } from 'node:worker_threads';
import type { Key } from '../connectors/connector.js';
import { ConfigError, ERROR_CODES, type ErrorCode, ProxyStoreError, describeKey, keyId } from '../errors.js';
import { getFactory, isProxy } from '../proxy/proxy.js';
import { isStoreFactory } from './factory.js';
import type { StoreHandle } from './handle.js';
import { MAX_TIMER_DELAY } from '../support/timers.js';

export interface Lifetime {
  readonly name: string;
  /** True once the lifetime has ended: its keys are being, or have been, evicted. */
  readonly done: boolean;
  /** Evict `key` of `store` when the lifetime ends. Throws LifetimeClosedError once it has ended. */
  addKey(key: Key, store: StoreHandle): void;
  /** Evict the object behind a store proxy when the lifetime ends. */
  addProxy(p: object): void;
  /** End the lifetime now. Idempotent: later calls return the first call's promise. */
  close(): Promise<void>;
}

/** Adding to, extending or storing with a lifetime that has ended. */
export class LifetimeClosedError extends ProxyStoreError {
  static override readonly code: ErrorCode = ERROR_CODES.LifetimeClosedError;
  override name = 'LifetimeClosedError';
  constructor(
    readonly lifetimeName: string,
    attempted: string,
  ) {
    super(`lifetime '${lifetimeName}' has ended: cannot ${attempted}`);
  }
}

export interface EvictionFailure {
  readonly key: Key;
  readonly storeName: string;
  readonly error: unknown;
}

/** Some keys of a lifetime could not be evicted when it ended; the others were. */
export class LifetimeEvictionError extends ProxyStoreError {
  static override readonly code: ErrorCode = ERROR_CODES.LifetimeEvictionError;
  override name = 'LifetimeEvictionError';
  constructor(
    readonly lifetimeName: string,
    readonly failures: readonly EvictionFailure[],
    total: number,
  ) {
    const listed = failures
      .slice(0, 3)
      .map((f) => `key ${describeKey(f.key)} of store '${f.storeName}' (${f.error instanceof Error ? f.error.message : String(f.error)})`);
    const more = failures.length > listed.length ? `; and ${failures.length - listed.length} more` : '';
    super(`lifetime '${lifetimeName}' could not evict ${failures.length} of ${total} keys: ${listed.join('; ')}${more}`, {
      cause: failures[0]?.error,
    });
  }

  /** Every failure's error, in the order of `failures`, as an AggregateError lists them. */
  get errors(): unknown[] {
    return this.failures.map((f) => f.error);
  }
}

/**
 * The store's side of the `lifetime` option, checked before anything is written
 * so that a refused call stores nothing.
 */
export function checkLifetimeOption(store: StoreHandle, operation: string, options: { readonly evict?: boolean; readonly lifetime?: Lifetime }): void {
  const { lifetime } = options;
  if (lifetime === undefined) return;
  if (options.evict === true) {
    throw new ConfigError(
      `store '${store.name}': ${operation}() got both 'lifetime' and 'evict': an evict-on-resolve proxy frees its object when it resolves, a lifetime when it ends; pass one of them`,
    );
  }
  if (lifetime.done) throw new LifetimeClosedError(lifetime.name, `${operation} into store '${store.name}' with it`);
}

/**
 * Hands freshly written keys to `lifetime`. A lifetime that ended while they
 * were being written refuses them; they are evicted then, not leaked.
 */
export async function attachKeys(lifetime: Lifetime, store: StoreHandle, keys: readonly Key[]): Promise<void> {
  try {
    for (const key of keys) lifetime.addKey(key, store);
  } catch (error) {
    await Promise.allSettled(keys.map((key) => store.evict(key)));
    throw error;
  }
}

/** The keys a lifetime holds, by store, each once. */
class HeldKeys {
  readonly #byStore = new Map<StoreHandle, Map<string, Key>>();

  add(store: StoreHandle, key: Key): void {
    let keys = this.#byStore.get(store);
    if (keys === undefined) this.#byStore.set(store, (keys = new Map<string, Key>()));
    keys.set(keyId(key), key);
  }


  stores(): StoreHandle[] {
    return [...this.#byStore.keys()];
  }

  /** Tries every key even when some fail, so one bad store does not keep the others' objects alive. */
  async evictAll(lifetimeName: string): Promise<void> {
    const jobs = [...this.#byStore].flatMap(([store, keys]) => [...keys.values()].map((key) => ({ store, key })));
    this.#byStore.clear();
    // Async, so a store that throws synchronously is one failure among the others, not the end of the loop.
    const results = await Promise.allSettled(jobs.map(async ({ store, key }) => store.evict(key)));
    const failures: EvictionFailure[] = [];
    results.forEach((result, i) => {
      const job = jobs[i];
      if (result.status === 'rejected' && job !== undefined) failures.push({ key: job.key, storeName: job.store.name, error: result.reason });
    });
    if (failures.length > 0) throw new LifetimeEvictionError(lifetimeName, failures, jobs.length);
  }
}

/** For endings nobody awaits (timers, `using`, exit hooks): a failure must still be seen. */
function warnOnFailure(lifetimeName: string, ending: Promise<void>): void {
  ending.catch((error: unknown) => {
    const message = error instanceof Error ? error.message : `lifetime '${lifetimeName}' failed to end: ${String(error)}`;
    process.emitWarning(message, { type: 'ProxyStoreWarning', code: 'PROXYSTORE_LIFETIME_EVICT_FAILED' });
  });
}

/**
 * Refused when the key is handed over, not when the lifetime ends: by then
 * nobody is there to fix the call, and the other keys must still be evicted.
 */
function assertStore(store: unknown, lifetimeName: string, key: Key): asserts store is StoreHandle {
  const evict = (store as { evict?: unknown } | null | undefined)?.evict;
  if (typeof evict !== 'function') {
    throw new ConfigError(`lifetime '${lifetimeName}': addKey(${describeKey(key)}, store) needs the Store that holds the key, got ${describeKey(store)}`);
  }
}

function storeProxyKey(p: object, lifetimeName: string): { key: Key; store: StoreHandle } {
  const factory: unknown = isProxy(p) ? getFactory(p) : undefined;
  if (!isStoreFactory(factory)) {
    throw new ConfigError(`lifetime '${lifetimeName}': addProxy() takes a proxy made by a Store (proxy, proxyBatch, proxyFromKey); owned proxies manage their own lifetime`);
  }
  return { key: factory.key, store: factory.store };
}

const counters = new Map<string, number>();
function defaultName(kind: string): string {
  const n = (counters.get(kind) ?? 0) + 1;
  counters.set(kind, n);
  return `${kind}-${n}`;
}

export interface ContextLifetimeOptions {
  readonly name?: string;
}

/**
 * Evicts its keys when closed: explicitly, or at the end of a `using` /
 * `await using` block. `await using` waits for the evictions; `using` starts
 * them (await `close()` afterwards to wait; it returns the same promise).
 */
export class ContextLifetime implements Lifetime, Disposable, AsyncDisposable {
  readonly name: string;
  /** Where `addKey` puts keys given without a store. */
  readonly store: StoreHandle;
  readonly #held = new HeldKeys();
  #ending: Promise<void> | undefined;

  constructor(store: StoreHandle, options: ContextLifetimeOptions = {}) {
    this.store = store;
    this.name = options.name ?? defaultName('context-lifetime');
  }

  get done(): boolean {
    return this.#ending !== undefined;
  }

  addKey(key: Key, store: StoreHandle = this.store): void {
    assertStore(store, this.name, key);
    if (this.done) throw new LifetimeClosedError(this.name, `add key ${describeKey(key)} of store '${store.name}'`);
    this.#held.add(store, key);
  }

  addProxy(p: object): void {
    const { key, store } = storeProxyKey(p, this.name);
    this.addKey(key, store);
  }

  close(): Promise<void> {
    return (this.#ending ??= this.#held.evictAll(this.name));
  }

  [Symbol.dispose](): void {
    warnOnFailure(this.name, this.close());
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

export interface LeaseLifetimeOptions {
  /** When the lease ends: milliseconds from now, or a point in time; zero, a negative duration or a past Date end it at once. */
  readonly expiry: number | Date;
  readonly name?: string;
}


/**
 * A context lifetime that also ends by itself at its expiry. The timer is
 * unref'd: a pending lease never keeps the process alive (its objects then
 * stay in the store, as with any lifetime that did not end).
 */
export class LeaseLifetime extends ContextLifetime {
  #expiry: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(store: StoreHandle, options: LeaseLifetimeOptions) {
    super(store, { name: options.name ?? defaultName('lease-lifetime') });
    this.#expiry = expiryTime(options.expiry, this.name);
    this.#arm();
  }

  get expiry(): Date {
    return new Date(this.#expiry);
  }

  /** Push the expiry `ms` milliseconds further. */
  extend(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new ConfigError(`lease '${this.name}': extend() takes a finite, non-negative number of milliseconds, got ${String(ms)}`);
    if (this.done) throw new LifetimeClosedError(this.name, `extend it by ${ms} ms`);
    // The armed timer finds the new expiry when it fires and waits on.
    this.#expiry += ms;
  }

  override close(): Promise<void> {
    clearTimeout(this.#timer);
    return super.close();
  }

  #arm(): void {
    clearTimeout(this.#timer);
    const remaining = this.#expiry - Date.now();
    if (remaining <= 0) {
      warnOnFailure(this.name, this.close());
      return;
    }
    this.#timer = setTimeout(() => this.#arm(), Math.min(remaining, MAX_TIMER_DELAY)).unref();
  }
}

function expiryTime(expiry: unknown, name: string): number {
  if (expiry instanceof Date && !Number.isNaN(expiry.getTime())) return expiry.getTime();
  // A duration of zero or less ends the lease at once, as a Date in the past does (ProxyStore takes these too).
  if (typeof expiry === 'number' && Number.isFinite(expiry)) return Date.now() + Math.max(expiry, 0);
  throw new ConfigError(`lease '${name}': expiry must be a finite number of milliseconds or a valid Date, got ${String(expiry)}`);
}

export interface StaticLifetimeOptions {
  /** Also close the stores of its keys when the lifetime ends at process exit. */
  readonly closeStores?: boolean;
}

const EXIT_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * One per process: evicts its keys when the process exits normally (the event
 * loop runs dry) or on SIGINT/SIGTERM, after which the signal is raised again
 * so the process ends as it would have (unless the application has handlers of
 * its own, which then decide). A second signal during cleanup exits at once.
 *
 * Not covered, because no asynchronous work runs then: `process.exit()`,
 * uncaught exceptions, SIGKILL. Before `process.exit()`, `await
 * StaticLifetime.instance().close()`. Exit hooks are installed with the first
 * key and removed when the lifetime ends; signals are only handled on the main thread.
 */
export class StaticLifetime implements Lifetime {
  static #current: StaticLifetime | undefined;

  /** The process's static lifetime; once it has been closed, a new one. `closeStores: true` sticks. */
  static instance(options: StaticLifetimeOptions = {}): StaticLifetime {
    if (StaticLifetime.#current === undefined || StaticLifetime.#current.done) StaticLifetime.#current = new StaticLifetime();
    if (options.closeStores === true) StaticLifetime.#current.#closeStores = true;
    return StaticLifetime.#current;
  }

  readonly name = defaultName('static-lifetime');
  readonly #held = new HeldKeys();
  #closeStores = false;
  #hooked = false;
  #ending: Promise<void> | undefined;

  private constructor() {}

  get done(): boolean {
    return this.#ending !== undefined;
  }

  addKey(key: Key, store: StoreHandle): void {
    assertStore(store, this.name, key);
    if (this.done) throw new LifetimeClosedError(this.name, `add key ${describeKey(key)} of store '${store.name}'`);
    this.#held.add(store, key);
    this.#hook();
  }

  addProxy(p: object): void {
    const { key, store } = storeProxyKey(p, this.name);
    this.addKey(key, store);
  }

  /** End it now; `closeStores` defaults to what `instance()` was told. */
  close(options: StaticLifetimeOptions = {}): Promise<void> {
    return (this.#ending ??= this.#end(options.closeStores ?? this.#closeStores));
  }

  async #end(closeStores: boolean): Promise<void> {
    this.#unhook();
    const stores = this.#held.stores();
    try {
      await this.#held.evictAll(this.name);
    } finally {
      if (closeStores) await Promise.allSettled(stores.map((store) => store.close()));
    }
  }

  readonly #onBeforeExit = (): void => {
    warnOnFailure(this.name, this.close());
  };

  readonly #onSignal = (signal: NodeJS.Signals): void => {
    // Removing our handlers first lets a second signal take the default path and end the process now.
    this.#unhook();
    const ending = this.close();
    warnOnFailure(this.name, ending);
    // Raised again after the warning (emitted on the next tick) is out; with no handler left, the default action ends the process.
    const reraise = (): void => {
      setImmediate(() => {
        if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
      });
    };
    ending.then(reraise, reraise);
  };

  #hook(): void {
    if (this.#hooked) return;
    this.#hooked = true;
    process.on('beforeExit', this.#onBeforeExit);
    if (isMainThread) for (const signal of EXIT_SIGNALS) process.on(signal, this.#onSignal);
  }

  #unhook(): void {
    if (!this.#hooked) return;
    this.#hooked = false;
    process.off('beforeExit', this.#onBeforeExit);
    for (const signal of EXIT_SIGNALS) process.off(signal, this.#onSignal);
  }
}
