import type { Key } from '../connectors/connector.js';
import { ProxyResolveMissingKeyError, describeKey } from '../errors.js';
import type { Factory, ProxyMetadata } from '../proxy/factory.js';
import { waitForValue, waitForValueSync, type WaitPolicy } from './future-wait.js';
import { metricsOf } from './metrics.js';
import { proxyLog } from '../support/log.js';
import { signDescriptor } from './signing.js';
import type { StoreConfig, StoreHandle } from './handle.js';
import type { Writable } from '../../src/types.js';
import { rejection } from '../support/promises.js';

/** The JSON form of a store proxy: all another process needs to resolve it. Never contains the target. */
export interface ProxyDescriptor {
  readonly $proxystore: 1;
  readonly store: StoreConfig;
  readonly key: Key;
  readonly evict: boolean;
  readonly metadata: ProxyMetadata;
  /** Present for a future's proxy: the value may not be written yet, and resolving waits for it. */
  readonly wait?: WaitPolicy;
  /** When it was signed (ms since the epoch), present when signed: receivers refuse old ones (see signing.ts). */
  readonly iat?: number;
  /** Present when signed and the receiver deletes the object (owned, evict): each receiving thread accepts it once. */
  readonly nonce?: string;
  /** An HMAC over the rest, present when the sender has a reference secret (see signing.ts). */
  readonly sig?: string;
}

/** A factory that reads its target from a store; it is what crosses process boundaries, as a descriptor. */
export interface StoreFactory<T> extends Factory<T> {
  readonly key: Key;
  readonly store: StoreHandle;
  readonly evict: boolean;
  readonly metadata: ProxyMetadata;
  readonly resolveAsync: () => Promise<T>;
  /** A future's proxy: how resolving waits for a value that may not be written yet. */
  readonly wait: WaitPolicy | undefined;
  /** The descriptor as it is, unsigned. */
  descriptor(): ProxyDescriptor;
  /** The descriptor to send: signed when this process has a reference secret (see signing.ts). */
  toJSON(): ProxyDescriptor;
}

const storeFactories = new WeakSet<object>();

/**
 * What ownership.ts checks before a store proxy is written as JSON (a plain
 * proxy given to intoOwned() must not be). It registers itself, so this module,
 * beneath it, does not import it; encodeProxies asks ownership.ts directly.
 */
let sendCheck: ((p: object) => void) | undefined;

export function provideSendCheck(check: (p: object) => void): void {
  sendCheck = check;
}

export function isStoreFactory(value: unknown): value is StoreFactory<unknown> {
  return typeof value === 'function' && storeFactories.has(value);
}

export function storeFactory<T>(
  store: StoreHandle,
  key: Key,
  { evict, metadata, wait }: { evict: boolean; metadata: ProxyMetadata; wait?: WaitPolicy | undefined },
): StoreFactory<T> {
  const metrics = metricsOf(store);
  // Where the proxy was made, for the line its resolution logs; only looked up when that line will be printed.
  const createdAt = proxyLog.enabled ? callerOf(new Error().stack) : undefined;
  const found = (value: T | undefined, how: 'sync' | 'async', t0: number): T => {
    if (t0 !== 0) {
      const ms = performance.now() - t0;
      metrics?.record(how === 'sync' ? 'resolve' : 'resolveAsync', ms, 0, key);
      if (proxyLog.enabled) {
        proxyLog('%s resolve %s %s in %s ms%s (made at %s)', store.name, describeKey(key), how, ms.toFixed(3), value === undefined ? ' (missing)' : '', createdAt ?? 'unknown');
      }
    }
    if (value === undefined) throw new ProxyResolveMissingKeyError(key, store.name);
    return value;
  };
  const clock = (): number => (metrics === undefined && !proxyLog.enabled ? 0 : performance.now());
  const resolveSync = (): T => {
    const t0 = clock();
    const value = found(wait === undefined ? store.getSync<T>(key) : waitForValueSync<T>(store, key, wait), 'sync', t0);
    // The caller is synchronous; eviction finishing later is fine because the value is already in hand.
    if (evict) store.evict(key).catch((error: unknown) => process.emitWarning(`evict-on-resolve of key ${describeKey(key)} in store '${store.name}' failed: ${String(error)}`));
    return value;
  };
  const descriptor = (): ProxyDescriptor => ({ $proxystore: 1, store: store.config(), key, evict, metadata, ...(wait === undefined ? {} : { wait }) });
  // Fields set one by one: Object.assign onto a function copies them through V8's slow path, for every proxy made.
  const factory = resolveSync as (() => T) & Partial<Writable<StoreFactory<T>>>;
  factory.key = key;
  factory.store = store;
  factory.evict = evict;
  factory.metadata = metadata;
  factory.wait = wait;
  const read = async (): Promise<T> => {
    const t0 = clock();
    const value = found(wait === undefined ? await store.get<T>(key) : await waitForValue<T>(store, key, wait), 'async', t0);
    if (evict) await store.evict(key);
    return value;
  };
  factory.resolveAsync = (): Promise<T> => {
    if (wait !== undefined || evict || store.getNow === undefined) return read();
    // A value the store has at once (cached, or in shared memory this thread holds) settles without an async read around it:
    // every result a StoreExecutor hands back is resolved here. What would wait takes the read.
    try {
      const t0 = clock();
      const now = store.getNow<T>(key);
      return now === null ? read() : Promise.resolve(found(now, 'async', t0));
    } catch (error) {
      return rejection(error);
    }
  };
  factory.descriptor = descriptor;
  // JSON.stringify calls it on the proxy: that proxy may be one a boundary must refuse.
  factory.toJSON = function (this: unknown): ProxyDescriptor {
    if (typeof this === 'object' && this !== null) sendCheck?.(this);
    return signDescriptor(descriptor());
  };
  storeFactories.add(factory);
  // Every field is set above.
  return factory as StoreFactory<T>;
}

/** The first frame of a stack outside this package's runtime: the user's line that made the proxy. */
function callerOf(stack: string | undefined): string | undefined {
  const frames = stack?.split('\n').slice(1) ?? [];
  const here = new URL('..', import.meta.url).href; // runtime/, one level above this store/ folder
  const outside = frames.find((frame) => !frame.includes(here) && !frame.includes('node:internal'));
  return outside?.trim().replace(/^at /, '');
}
