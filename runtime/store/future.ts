/**
 * Futures: a proxy of a value that does not exist yet (ProxyStore's
 * `Store.future()`). The key is chosen now (`Connector.newKey`), the value is
 * written later by whoever has the future (`setResult`, or `setError` to fail
 * it), and every proxy of it, in any process, waits for it when it resolves:
 * asynchronously without blocking, or on a synchronous first touch by
 * blocking up to the timeout. So a downstream task can start, and wait in its
 * worker, before the upstream one has finished.
 */
import type { Key } from '../connectors/connector.js';
import { ConfigError, ProxyFutureSetError } from '../errors.js';
import type { ProxyMetadata } from '../proxy/factory.js';
import { futureFailure, waitForValue, waitPolicy, type WaitPolicy } from './future-wait.js';
import { proxy } from '../proxy/proxy.js';
import type { StoreHandle } from './handle.js';
import { storeFactory } from './factory.js';
import type { Proxy } from '../../src/types.js';

export interface FutureOptions {
  /** How long a reader waits for the value before a ProxyFutureTimeoutError. Default 60 s; at most an hour. */
  readonly timeoutMs?: number;
  /** Delete the value once a proxy of the future has resolved (a single-use future). */
  readonly evict?: boolean;
  /** What the value will be, for `typeof`, `Array.isArray` and `instanceof` before it exists. Default a plain object, not thenable (so `await future.proxy()` gives the proxy back at once). */
  readonly metadata?: ProxyMetadata;
  /** First wait between two looks for the value; it doubles up to `maxPollMs`. Default 1 ms. */
  readonly pollMs?: number;
  /** Default 10 ms: the most a reader lags behind `setResult` from its poll schedule. */
  readonly maxPollMs?: number;
}

export class ProxyFuture<T> {
  readonly store: StoreHandle;
  readonly key: Key;
  readonly wait: WaitPolicy;
  readonly #evict: boolean;
  readonly #metadata: ProxyMetadata;
  #proxy: Proxy<T & object> | undefined;
  #set = false;

  /** Made by `store.future()`; `key` from the store's connector's `newKey`. */
  constructor(store: StoreHandle, key: Key, options: FutureOptions = {}) {
    this.store = store;
    this.key = key;
    this.wait = waitPolicy(options, (what) => new ConfigError(`store '${store.name}': future ${what}`));
    this.#evict = options.evict ?? false;
    // Not thenable unless said: awaiting the proxy, or returning it from an async function, must not block until the value is set.
    this.#metadata = options.metadata ?? { kind: 'object', thenable: false };
  }

  /** Writes the value; every proxy of the future, wherever it is, resolves to it. A future is set once. */
  async setResult(value: T): Promise<void> {
    this.#claim('setResult');
    await this.store.set(this.key, value);
  }

  /** Fails the future: readers get a ProxyFutureError with this error's name and message. */
  async setError(error: unknown): Promise<void> {
    this.#claim('setError');
    await this.store.set(this.key, futureFailure(error));
  }

  /** Whether a value (or an error) has been set, by anyone. */
  done(): Promise<boolean> {
    return this.store.exists(this.key);
  }

  /** The value once it is set, waiting without blocking up to the future's timeout. */
  result(): Promise<T> {
    return waitForValue<T>(this.store, this.key, this.wait);
  }

  /**
   * A proxy that resolves to the value once set; it can travel like any other
   * (descriptor, JSON, task argument). The same proxy every time, so it lives
   * as long as the future does.
   */
  proxy(): Proxy<T & object> {
    if (this.#proxy === undefined) {
      const factory = storeFactory<T & object>(this.store, this.key, { evict: this.#evict, metadata: this.#metadata, wait: this.wait });
      this.#proxy = proxy<T & object>(factory, { metadata: this.#metadata });
    }
    return this.#proxy;
  }

  #claim(operation: string): void {
    if (this.#set) throw new ProxyFutureSetError(this.key, this.store.name, operation);
    this.#set = true;
  }
}

