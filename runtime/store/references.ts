import { pendingWrite } from './auto-proxy.js';
import type { Key, ReferencePolicy } from '../connectors/connector.js';
import { isMadeKey, resolvePolicy } from '../connectors/kinds.js';
import { DescriptorError, SerializationError, describeKey } from '../errors.js';
import type { ProxyMetadata } from '../proxy/factory.js';
import { getFactory, isProxy, proxy } from '../proxy/proxy.js';
import { provideNestedProxies } from '../serialize/serializer.js';
import { isObjectLike } from '../proxy/metadata.js';
import { collectLeaves, mapLeaves } from '../proxy/walk.js';
import { receiveReference, referenceDescriptor, sendingReferences, sendsAsReference } from './ownership.js';
import { checkStoreConfig, ownFields, storeFromConfig } from './registry.js';
import { MAX_CANONICAL_DEPTH, spendOnce, verifyDescriptor, type SignedStamp } from './signing.js';
import { waitPolicy } from './future-wait.js';
import { isStoreFactory, storeFactory, type ProxyDescriptor } from './factory.js';
import type { StoreHandle } from './handle.js';
import type { OwnershipKind } from '../../src/ownership.js';
import type { Encoded, Proxy, Writable } from '../../src/types.js';

export type { ProxyDescriptor };

export interface DecodeOptions {
  /** What unsigned descriptors made elsewhere may point at and choose; see ReferencePolicy and docs/security.md. */
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
 * Proxies inside a value a store writes travel as their descriptors, as a
 * pickled proxy does in ProxyStore, and come back as lazy proxies wherever
 * the value is read (serializer.ts asks for this; it registers itself so the
 * serializer imports nothing above it). An owner or a borrow is refused: every
 * read would make another owner, or a borrow nobody ends.
 */
provideNestedProxies({
  encode: (value) =>
    mapLeaves(value, isProxy, (p) => {
      if (sendsAsReference(p)) {
        throw new SerializationError('an OwnedProxy or a borrow (or a proxy given to intoOwned()) cannot be stored inside a value, since every read of the value would hold it: store a plain proxy of its key instead');
      }
      const descriptor = descriptorOf(p as Proxy<object>);
      if (pendingWrite(getFactory(p)) !== undefined) {
        throw new SerializationError('a proxy made by autoProxy is still being written to its store: await flushPending() before storing a value that holds it');
      }
      return descriptor;
    }),
  decode: (value) => decodeProxies(value),
});

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

/**
 * Turn descriptors inside `value` back into lazy proxies (no I/O until they are
 * used). Every descriptor is checked (signature, fields, policy) before any
 * store is built for one of them, so a message with one bad descriptor makes
 * no store and touches nothing. Unsigned descriptors keep only the metadata
 * that cannot lie about the value's type (`kind`, `thenable`): `instanceof`
 * resolves such proxies first.
 */
export function decodeProxies<T>(value: Encoded<T>, options?: DecodeOptions): T;
export function decodeProxies(value: unknown, options?: DecodeOptions): unknown;
export function decodeProxies(value: unknown, options: DecodeOptions = {}): unknown {
  const policy = resolvePolicy(options.policy);
  const checked = new Map<object, CheckedDescriptor>();
  for (const found of collectLeaves(value, isDescriptorLike)) checked.set(found, checkDescriptor(found, policy));
  // Most task arguments hold no descriptor: one walk is then all they cost.
  if (checked.size === 0) return value;
  spendOnce([...checked.values()].map(({ stamp }) => stamp));
  return mapLeaves(value, isDescriptorLike, (found) => proxyFromDescriptor(checked.get(found) as CheckedDescriptor, policy));
}

/** A `JSON.parse` reviver that turns descriptors written by `JSON.stringify(proxy)` back into proxies, checked as decodeProxies checks them. */
export function proxyReviver(options: DecodeOptions = {}): (key: string, value: unknown) => unknown {
  const policy = resolvePolicy(options.policy);
  return (_key, value) => {
    if (!isDescriptorLike(value)) return value;
    const checked = checkDescriptor(value, policy);
    spendOnce([checked.stamp]);
    return proxyFromDescriptor(checked, policy);
  };
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

/**
 * A descriptor that passed every check, rebuilt from its own fields only;
 * `signed` when its signature matched this process's secret, and `stamp`
 * then says when it was signed and whether it may be used once only.
 */
interface CheckedDescriptor {
  readonly descriptor: ProxyDescriptor & { readonly ownership?: OwnershipKind };
  readonly signed: boolean;
  readonly stamp: SignedStamp | undefined;
}

function proxyFromDescriptor({ descriptor, signed }: CheckedDescriptor, policy: Required<ReferencePolicy>): object {
  const store = storeFromConfig(descriptor.store, { trusted: signed, policy });
  const received = receiveReference(descriptor, store);
  if (received !== undefined) return received;
  const factory = storeFactory<object>(store, descriptor.key, { evict: descriptor.evict, metadata: descriptor.metadata, wait: descriptor.wait });
  return proxy(factory, { metadata: descriptor.metadata });
}

/**
 * The key a call from elsewhere names for its worker to write (a future's
 * target): JSON-safe and bounded, one the store's connector makes, and not
 * holding an object yet, so job data can neither write a path or key of its
 * choosing nor replace another object. A DescriptorError otherwise.
 */
export async function checkWriteTarget(store: StoreHandle, key: unknown): Promise<Key> {
  const fail = (what: string): never => {
    throw new DescriptorError(`invalid future target from elsewhere: ${what}`);
  };
  const made = checkMadeKey(store, key, fail);
  if (await store.exists(made)) fail(`key ${describeKey(key)} already holds an object`);
  return made;
}

/**
 * A key a task call names in a store the worker checked (arguments stored by
 * key): JSON-safe, bounded, and one the store's connector makes, so job data
 * can make a worker read or evict nothing a store of that kind did not write.
 */
export function checkStoredKey(store: StoreHandle, key: unknown): Key {
  return checkMadeKey(store, key, (what) => {
    throw new DescriptorError(`invalid stored argument from elsewhere: ${what}`);
  });
}

/**
 * The proxy of a result a worker stored by key in `store`, the caller's own
 * results store: the caller will own and evict it, so the key must be one the
 * connector makes, and the metadata is kept as from an unsigned descriptor.
 */
export function storedResultProxy(store: StoreHandle, key: unknown, metadata: unknown): object {
  const fail = (what: string): never => {
    throw new DescriptorError(`invalid result stored by key: ${what}`);
  };
  const made = checkMadeKey(store, key, fail);
  const said = checkMetadata(metadata, false, fail);
  // A worker says thenable only when it is (task-runner.ts): unsaid means not, so that returning the result from an async function does not read it.
  const checked: ProxyMetadata = said.thenable === undefined ? { ...said, thenable: false } : said;
  return proxy(storeFactory<object>(store, made, { evict: false, metadata: checked }), { metadata: checked });
}

function checkMadeKey(store: StoreHandle, key: unknown, fail: (what: string) => never): Key {
  if (!isBoundedKey(key)) fail(`key must be a JSON-safe value of at most ${MAX_KEY_JSON} characters`);
  // The store's config is made once; a connector's is built at every ask.
  const config = store.config().connector;
  if (!isMadeKey(config, key)) fail(`key ${describeKey(key)} is not one a ${config.kind} connector makes`);
  return key;
}

/** Never asks a proxy: that would resolve it. */
export function isDescriptorLike(value: unknown): value is { $proxystore: unknown } {
  return typeof value === 'object' && value !== null && !isProxy(value) && Object.hasOwn(value, '$proxystore');
}

const METADATA_KINDS = new Set(['object', 'array', 'function']);
const OWNERSHIP_KINDS = new Set(['owned', 'ref', 'ref-mut']);
const DESCRIPTOR_FIELDS = new Set(['$proxystore', 'store', 'key', 'evict', 'metadata', 'ownership', 'wait', 'iat', 'nonce', 'sig']);
const WAIT_FIELDS = new Set(['timeoutMs', 'pollMs', 'maxPollMs']);
const METADATA_FIELDS = new Set(['kind', 'typeName', 'className', 'thenable']);
/** Keys are a few dozen bytes (a UUID, a prefix, a file name); these bounds leave room and stop hostile nesting and bulk. */
const MAX_KEY_JSON = 1024;
const MAX_KEY_DEPTH = 8;
const MAX_NAME_LENGTH = 256;

/**
 * Check a descriptor from elsewhere, naming the first bad field: its signature
 * when this process has a secret, then its shape (own fields only, nothing
 * unknown), then the bounds of the receiver's policy. Touches nothing: no
 * store, no connector, no file.
 */
function checkDescriptor(value: object, policy: Required<ReferencePolicy>): CheckedDescriptor {
  const fail = (what: string): never => {
    throw new DescriptorError(`invalid proxy descriptor: ${what}`);
  };
  // The reviver revives inner values first, so a descriptor nested in another arrives as a proxy: reading it would resolve it.
  if (holdsProxy(value, 0)) fail('a field holds a proxy (a descriptor inside a descriptor)');
  const stamp = verifyDescriptor(value, policy.maxReferenceAgeMs);
  const signed = stamp !== undefined;
  const d = ownFields(value, DESCRIPTOR_FIELDS, 'descriptor', fail);
  if (d.$proxystore !== 1) fail(`unsupported version ${describeKey(d.$proxystore)}`);
  if (!isBoundedKey(d.key)) fail(`key must be a JSON-safe value of at most ${MAX_KEY_JSON} characters`);
  if (typeof d.evict !== 'boolean') fail('evict must be a boolean');
  if (d.ownership !== undefined && !OWNERSHIP_KINDS.has(d.ownership as string)) fail(`ownership must be 'owned', 'ref' or 'ref-mut', got ${describeKey(d.ownership)}`);
  const metadata = checkMetadata(d.metadata, signed, fail);
  const store = checkStoreConfig(d.store, policy, fail);
  const key = d.key as Key;
  const deletes = d.evict === true || d.ownership === 'owned';
  if (!signed && deletes && !isMadeKey(store.connector, key)) {
    fail(`key ${describeKey(key)} is not one a ${store.connector.kind} connector makes, so a reference from elsewhere may not evict or own it`);
  }
  // A future's proxy: how long its reader waits is bounded here, whatever the sender asked.
  const waitField = d.wait;
  if (waitField !== undefined && (typeof waitField !== 'object' || waitField === null)) fail('wait must be an object');
  const wait =
    typeof waitField === 'object' && waitField !== null
      ? waitPolicy(ownFields(waitField, WAIT_FIELDS, 'wait', fail), (what) => new DescriptorError(`invalid proxy descriptor: wait.${what}`))
      : undefined;
  const descriptor = {
    $proxystore: 1 as const,
    store,
    key,
    evict: d.evict as boolean,
    metadata,
    ...(d.ownership === undefined ? {} : { ownership: d.ownership as OwnershipKind }),
    ...(wait === undefined ? {} : { wait }),
  };
  return { descriptor, signed, stamp };
}

/**
 * The metadata to build the proxy with. Type names make `instanceof` answer
 * before resolution, so only a signed descriptor may state them: from an
 * unsigned one they are checked but dropped, and the target itself answers.
 */
function checkMetadata(value: unknown, signed: boolean, fail: (what: string) => never): ProxyMetadata {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail("metadata.kind must be 'object', 'array' or 'function'");
  const m = ownFields(value, METADATA_FIELDS, 'metadata', fail);
  if (!METADATA_KINDS.has(m.kind as string)) fail("metadata.kind must be 'object', 'array' or 'function'");
  for (const field of ['typeName', 'className'] as const) {
    const name = m[field];
    if (name !== undefined && (typeof name !== 'string' || name.length > MAX_NAME_LENGTH)) fail(`metadata.${field} must be a string of at most ${MAX_NAME_LENGTH} characters`);
  }
  if (m.thenable !== undefined && typeof m.thenable !== 'boolean') fail('metadata.thenable must be a boolean');
  // Field by field, not spread: every reply's result is checked here.
  const metadata: Writable<ProxyMetadata> = { kind: m.kind as ProxyMetadata['kind'] };
  if (signed && m.typeName !== undefined) metadata.typeName = m.typeName as string;
  if (signed && m.className !== undefined) metadata.className = m.className as string;
  if (m.thenable !== undefined) metadata.thenable = m.thenable;
  return metadata;
}

/** Looks at own values only and never asks a proxy anything; deeper than the canonical form allows is refused later anyway. */
function holdsProxy(value: object, depth: number): boolean {
  if (depth > MAX_CANONICAL_DEPTH) return false;
  // A loop, not Object.values(…).some(…): every call and reply checks a descriptor and its store config this way.
  for (const item of Object.values(value)) if (isObjectLike(item) && (isProxy(item) || holdsProxy(item, depth + 1))) return true;
  return false;
}

/** Escaping writes at most 6 characters of JSON per character of a string (\uXXXX), plus its 2 quotes. */
const MAX_JSON_PER_CHAR = 6;

/** A key from elsewhere: JSON-safe, and short enough to name an object rather than carry bulk. */
function isBoundedKey(key: unknown): key is Key {
  // A string short enough to stay within the bound however it is escaped (every key this package makes) needs no JSON of it.
  if (typeof key === 'string' && key.length * MAX_JSON_PER_CHAR + 2 <= MAX_KEY_JSON) return true;
  return isJsonKey(key, 0) && (JSON.stringify(key)?.length ?? Infinity) <= MAX_KEY_JSON;
}

function isJsonKey(key: unknown, depth: number): key is Key {
  if (key === null || typeof key === 'string' || typeof key === 'boolean') return true;
  if (typeof key === 'number') return Number.isFinite(key);
  if (depth >= MAX_KEY_DEPTH) return false;
  if (Array.isArray(key)) return key.every((item) => isJsonKey(item, depth + 1));
  if (typeof key === 'object' && Object.getPrototypeOf(key) === Object.prototype) return Object.values(key).every((item) => isJsonKey(item, depth + 1));
  return false;
}
