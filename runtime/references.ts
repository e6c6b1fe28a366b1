import { pendingWrite } from './auto-proxy.js';
import type { Key, ReferencePolicy } from './connector.js';
import { DescriptorError } from './errors.js';
import type { ProxyMetadata } from './factory.js';
import { getFactory, isProxy, proxy } from './proxy.js';
import { mapLeaves } from './walk.js';
import { receiveReference, referenceDescriptor, sendingReferences } from './ownership.js';
import { getOrCreateStore } from './registry.js';
import { isStoreFactory, storeFactory, type ProxyDescriptor } from './store-factory.js';
import type { StoreConfig } from './store.js';
import type { Encoded, Proxy } from '../src/types.js';

export type { ProxyDescriptor };

export interface DecodeOptions {
  /** What descriptors made elsewhere may point at; see ReferencePolicy. */
  readonly policy?: ReferencePolicy;
}

/**
 * Replace every store proxy inside `value` (arrays, plain objects, Maps, Sets, at any
 * depth, cycles included) with its descriptor, so it can be posted, cloned or written
 * as JSON without touching the targets. Containers holding no proxy are passed through
 * as they are; the input is never mutated.
 */
export function encodeProxies<T>(value: T): Encoded<T> {
  // Owned proxies inside move (borrows count as sent) only if the whole encode succeeds.
  return sendingReferences(() => mapLeaves(value, isProxy, (p) => {
    // A proxy made by autoProxy is written on its first crossing, which asking for its descriptor starts.
    const descriptor = descriptorOf(p as Proxy<object>);
    if (pendingWrite(getFactory(p)) !== undefined) {
      throw new DescriptorError(
        'a proxy made by autoProxy is still being written to its store, so a receiver could not find its key yet: encode with encodeProxiesAsync, or await flushPending() and encode again',
      );
    }
    return descriptor;
  })) as Encoded<T>;
}

/**
 * `encodeProxies` that first waits until the stores hold every encoded proxy's
 * object (autoProxy writes in the background), so no receiver gets a key it
 * cannot resolve. Rejects with the connector's error when such a write failed.
 */
export async function encodeProxiesAsync<T>(value: T): Promise<Encoded<T>> {
  const writes: Promise<void>[] = [];
  const encoded = sendingReferences(() => mapLeaves(value, isProxy, (p) => {
    const descriptor = descriptorOf(p as Proxy<object>);
    const write = pendingWrite(getFactory(p));
    if (write !== undefined) writes.push(write);
    return descriptor;
  }));
  await Promise.all(writes);
  return encoded as Encoded<T>;
}

/** Turn descriptors inside `value` back into lazy proxies (no I/O until they are used). */
export function decodeProxies<T>(value: Encoded<T>, options?: DecodeOptions): T;
export function decodeProxies(value: unknown, options?: DecodeOptions): unknown;
export function decodeProxies(value: unknown, options: DecodeOptions = {}): unknown {
  return mapLeaves(value, isDescriptorLike, (d) => proxyFromDescriptor(d, options));
}

/** A `JSON.parse` reviver that turns descriptors written by `JSON.stringify(proxy)` back into proxies. */
export function proxyReviver(options: DecodeOptions = {}): (key: string, value: unknown) => unknown {
  return (_key, value) => (isDescriptorLike(value) ? proxyFromDescriptor(value, options) : value);
}

function descriptorOf(p: Proxy<object>): ProxyDescriptor {
  const sent = referenceDescriptor(p);
  if (sent !== undefined) return sent;
  const factory: unknown = getFactory(p);
  if (!isStoreFactory(factory)) {
    throw new DescriptorError('only proxies made by a Store can cross a process boundary: this proxy has a custom factory');
  }
  return factory.toJSON();
}

function proxyFromDescriptor(value: unknown, options: DecodeOptions = {}): object {
  const descriptor = validateDescriptor(value);
  const store = getOrCreateStore(descriptor.store, { trusted: false, ...(options.policy ? { policy: options.policy } : {}) });
  const received = receiveReference(descriptor, store);
  if (received !== undefined) return received;
  const factory = storeFactory<object>(store, descriptor.key, { evict: descriptor.evict, metadata: descriptor.metadata });
  return proxy(factory, { metadata: descriptor.metadata });
}

/** Never asks a proxy: that would resolve it. */
export function isDescriptorLike(value: unknown): value is { $proxystore: unknown } {
  return typeof value === 'object' && value !== null && !isProxy(value) && Object.hasOwn(value, '$proxystore');
}

const METADATA_KINDS = new Set(['object', 'array', 'function']);

/** Check a descriptor from elsewhere field by field, naming the first bad one. */
function validateDescriptor(value: unknown): ProxyDescriptor {
  const fail = (what: string): never => {
    throw new DescriptorError(`invalid proxy descriptor: ${what}`);
  };
  const d = value as Partial<Record<keyof ProxyDescriptor, unknown>>;
  if (d.$proxystore !== 1) fail(`unsupported version ${JSON.stringify(d.$proxystore)}`);
  if (!isJsonKey(d.key)) fail('key must be a JSON-safe value');
  if (typeof d.evict !== 'boolean') fail('evict must be a boolean');
  const metadata = d.metadata as Partial<ProxyMetadata> | undefined;
  if (typeof metadata !== 'object' || metadata === null || !METADATA_KINDS.has(metadata.kind as string)) {
    fail("metadata.kind must be 'object', 'array' or 'function'");
  }
  const store = d.store as Partial<StoreConfig> | undefined;
  if (typeof store !== 'object' || store === null) return fail('store config missing');
  if (typeof store.name !== 'string' || store.name === '') fail('store.name must be a non-empty string');
  if (typeof store.connector !== 'object' || store.connector === null) fail(`store '${String(store.name)}': connector config missing`);
  if (!Number.isInteger(store.cacheSize) || (store.cacheSize as number) < 0) fail(`store '${String(store.name)}': cacheSize must be a non-negative integer`);
  if (store.cacheBytes !== undefined && (!Number.isSafeInteger(store.cacheBytes) || store.cacheBytes < 0)) {
    fail(`store '${String(store.name)}': cacheBytes must be a non-negative whole number of bytes`);
  }
  if (store.serializer !== 'default' && store.serializer !== 'custom') fail(`store '${String(store.name)}': serializer must be 'default' or 'custom'`);
  return value as ProxyDescriptor;
}

function isJsonKey(key: unknown): key is Key {
  if (key === null || typeof key === 'string' || typeof key === 'boolean') return true;
  if (typeof key === 'number') return Number.isFinite(key);
  if (Array.isArray(key)) return key.every(isJsonKey);
  if (typeof key === 'object' && Object.getPrototypeOf(key) === Object.prototype) return Object.values(key).every(isJsonKey);
  return false;
}
