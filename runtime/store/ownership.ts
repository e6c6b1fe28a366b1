/**
 * Rust-like ownership of stored objects. An OwnedProxy is the one owner of its
 * object: disposing it evicts the object, sending it across a boundary moves it.
 * Borrows lend the object out, shared (RefProxy) or exclusive (RefMutProxy),
 * and keep the owner from being disposed or moved while they live.
 *
 * Design, chosen so that ordinary proxies pay nothing:
 * - Ownership proxies are core proxies (same placeholder, state and traps)
 *   built with a handler that differs only in answering `Symbol.dispose` /
 *   `Symbol.asyncDispose`, and with a factory of their own. Their state lives
 *   in a WeakMap keyed by the proxy's ProxyState; ordinary proxies never look at it.
 * - A reference that becomes invalid drops its target. The core's traps then
 *   call the factory on every use, and the factory throws InvalidReferenceError:
 *   no per-trap check, and `resolve`/`extract` are covered as well.
 * - An owner and its borrows share one object: a borrow resolves through the
 *   owner's state, so what a mutable borrow changes, the owner sees.
 */
import type { OwnedProxy, OwnershipKind, RefMutProxy, RefProxy } from '../../src/ownership.js';
import type { Proxy } from '../../src/types.js';
import type { Key } from '../connectors/connector.js';
import { DescriptorError, ERROR_CODES, type ErrorCode, NonProxiableTypeError, ProxyResolveError, ProxyStoreError, describeKey, messageOf } from '../errors.js';
import type { Factory } from '../proxy/factory.js';
import { handler } from '../proxy/handler.js';
import { isObjectLike, refuseThenableResult, typeOfValue } from '../proxy/metadata.js';
import { newPlaceholder } from '../proxy/placeholder.js';
import { ProxyState, metadataOf, probeState, resolveLater, resolveNow, stateOf } from '../proxy/state.js';
import { signDescriptor } from './signing.js';
import { isStoreFactory, provideSendCheck, storeFactory, type ProxyDescriptor, type StoreFactory } from './factory.js';
import type { Proxiable, StoreHandle } from './handle.js';
import { collectLeaves } from '../proxy/walk.js';


/** A descriptor of an ownership proxy: tells the receiver what it gets (an owner, or a borrow whose owner is elsewhere). */
export interface OwnershipDescriptor extends ProxyDescriptor {
  readonly ownership: OwnershipKind;
}


/** An ownership rule broken by how a function was called: the wrong kind of proxy, an owner sent twice in one message. */
export class OwnershipError extends ProxyStoreError {
  static override readonly code: ErrorCode = ERROR_CODES.OwnershipError;
  override name = 'OwnershipError';
}

/** What was attempted conflicts with the borrows of the object. */
export class BorrowError extends OwnershipError {
  static override readonly code: ErrorCode = ERROR_CODES.BorrowError;
  override name = 'BorrowError';
  constructor(
    readonly key: Key,
    readonly storeName: string,
    attempted: string,
    reason: string,
  ) {
    super(`cannot ${attempted} key ${describeKey(key)} of store '${storeName}': ${reason}`);
  }
}

/**
 * Use of a reference that is no longer valid: a moved or disposed owner, an
 * ended borrow. Its proxy throws it from every operation. A ProxyResolveError,
 * so that resolution (traps, resolve, resolveAsync, extract) passes it on unwrapped.
 */
export class InvalidReferenceError extends ProxyResolveError {
  static override readonly code: ErrorCode = ERROR_CODES.InvalidReferenceError;
  override name = 'InvalidReferenceError';
  constructor(
    readonly key: Key,
    readonly storeName: string,
    readonly reference: string,
    reason: string,
  ) {
    super(`cannot use the ${reference} of key ${describeKey(key)} in store '${storeName}': ${reason}`);
  }
}

/** Why a reference can no longer be used. */
type Ending = 'moved' | 'disposed' | 'released' | 'sent' | 'task-ended';

const ENDINGS: Record<Ending, string> = {
  moved: 'it was moved (sent across a boundary); the receiver owns the object now',
  disposed: 'it was disposed and its object evicted',
  released: 'the borrow was released',
  sent: 'it was sent to a task, which holds the mutable borrow until it ends',
  'task-ended': 'the task it was sent to has ended, and the borrow with it',
};

const KIND_NAMES: Record<OwnershipKind, string> = { owned: 'OwnedProxy', ref: 'RefProxy', 'ref-mut': 'RefMutProxy' };
const WITH_ARTICLE: Record<OwnershipKind, string> = { owned: 'an OwnedProxy', ref: 'a RefProxy', 'ref-mut': 'a RefMutProxy' };

/** Only plain data: the FinalizationRegistry holds it, and it must not keep the owner alive. */
/** What a collected owner leaves to free: its store and current key (update() may move it), never the owner itself. */
interface Leak {
  readonly store: StoreHandle;
  key: Key;
}

/** One stored object under ownership; its owner and its borrows share this. */
interface Slot {
  /** Reads the object. update() stores a new version under a new key and replaces it. */
  source: StoreFactory<object>;
  /** Undefined for a borrow received from another process: its owner lives there. */
  owner: Reference | undefined;
  /** Live borrows, including ones sent to tasks that have not ended. */
  readonly shared: Set<Reference>;
  mutable: Reference | undefined;
  /** Set when the owner is disposed, so a second disposal waits for the same eviction. */
  eviction: Promise<void> | undefined;
  readonly leak: Leak;
}

const references = new WeakMap<ProxyState, Reference>();

/** Plain proxies handed to intoOwned(): boundaries refuse them (their traps are the core's, which cannot). */
const surrendered = new WeakSet<ProxyState>();

/** Owners found by one collection, reported together: a warning per proxy would flood stderr. */
let leaked: Leak[] = [];

/**
 * An owner collected without being disposed or moved is dropped as Rust (and
 * ProxyStore's `OwnedProxy.__del__`) drops it: its object is evicted. No
 * borrow can still need it, since every borrow holds its owner. The warning
 * says so, because when a collection comes is up to V8: dispose owners to
 * free their objects at a known time.
 */
const leaks = new FinalizationRegistry<Leak>((leak) => {
  // A store closed since, or a connector gone, leaves the object where it is; the warning still names it.
  leak.store.evict(leak.key).catch(() => undefined);
  if (leaked.push(leak) === 1) setImmediate(reportLeaks);
});

function reportLeaks(): void {
  const batch = leaked;
  leaked = [];
  const listed = batch.slice(0, 3).map(({ store, key }) => `key ${describeKey(key)} in store '${store.name}'`);
  const more = batch.length > listed.length ? `, and ${batch.length - listed.length} more` : '';
  const what = batch.length === 1 ? 'an OwnedProxy was' : `${batch.length} OwnedProxies were`;
  process.emitWarning(
    `${what} garbage-collected without being disposed or moved, so their objects were evicted then: ${listed.join(', ')}${more} (declare owned proxies with \`using\`, or call dispose(), to free them at a known time)`,
    { type: 'ProxyStoreWarning', code: 'PROXYSTORE_OWNED_PROXY_LEAKED' },
  );
}

/** The core's traps, with disposal added: owners evict, borrows release. */
const ownershipHandler: ProxyHandler<object> = {
  ...handler,
  get(placeholder, key, receiver: unknown): unknown {
    if (key === Symbol.dispose || key === Symbol.asyncDispose) {
      const ref = references.get(stateOf(placeholder));
      if (ref !== undefined && receiver === ref.proxy) {
        if (ref.kind === 'owned') return key === Symbol.dispose ? () => dropAtScopeEnd(ref) : () => dropAtScopeEndAsync(ref);
        if (key === Symbol.dispose) return () => releaseReference(ref);
      }
    }
    return handler.get?.(placeholder, key, receiver) as unknown;
  },
};

class Reference {
  ended: Ending | undefined = undefined;
  /** Tasks this borrow was sent to that have not ended yet. */
  tasks = 0;
  readonly state: ProxyState;

  constructor(
    readonly kind: OwnershipKind,
    readonly slot: Slot,
    target: object | undefined,
  ) {
    const { metadata } = slot.source;
    this.state = new ProxyState(referenceFactory(this), target, metadata);
    this.state.proxy = new globalThis.Proxy(newPlaceholder(metadata.kind, this.state), ownershipHandler);
    references.set(this.state, this);
  }

  get proxy(): object {
    return this.state.proxy as object;
  }

  get name(): string {
    return KIND_NAMES[this.kind];
  }

  assertUsable(): void {
    if (this.ended !== undefined) {
      const { key, store } = this.slot.source;
      throw new InvalidReferenceError(key, store.name, this.name, ENDINGS[this.ended]);
    }
  }

  /**
   * Without its target the proxy must ask the factory on every use, and the
   * factory refuses. The metadata loses its type names so that `instanceof`
   * cannot be answered without the target either.
   */
  end(ending: Ending): void {
    if (this.ended !== undefined) return;
    this.ended = ending;
    const { kind, thenable } = metadataOf(this.proxy);
    this.state.metadata = thenable === undefined ? { kind } : { kind, thenable };
    this.state.target = undefined;
    this.state.bound = undefined;
  }

  borrowError(attempted: string, reason: string): BorrowError {
    const { key, store } = this.slot.source;
    return new BorrowError(key, store.name, attempted, reason);
  }
}

function referenceFactory(ref: Reference): Factory<object> {
  const read = (): object => {
    ref.assertUsable();
    const owner = ref.slot.owner;
    if (owner !== undefined && owner !== ref) return resolveNow(owner.state);
    return ref.slot.source();
  };
  const resolveAsync = async (): Promise<object> => {
    ref.assertUsable();
    const owner = ref.slot.owner;
    let value: object;
    try {
      value = owner !== undefined && owner !== ref ? await resolveLater(owner.state) : await ref.slot.source.resolveAsync();
    } finally {
      // It may have ended while the read was in flight (the read then fails, or finds it): its target must stay unset, and the ending is the error to report.
      ref.assertUsable();
    }
    return value;
  };
  const factory = Object.assign(read, { resolveAsync, toJSON: () => send(ref) });
  // update() changes the key, and getKey() and error messages must follow.
  Object.defineProperty(factory, 'key', { get: () => ref.slot.source.key, enumerable: true });
  return factory;
}

function newSlot(source: StoreFactory<object>): Slot {
  return { source, owner: undefined, shared: new Set(), mutable: undefined, eviction: undefined, leak: { store: source.store, key: source.key } };
}

function newOwner(source: StoreFactory<object>, target: object | undefined): Reference {
  const slot = newSlot(source);
  const owner = new Reference('owned', slot, target);
  slot.owner = owner;
  leaks.register(owner.proxy, slot.leak, owner);
  return owner;
}

/** A reading source that never evicts, whatever the proxy it is taken from did. */
function sourceFor(store: StoreHandle, key: Key, metadata: StoreFactory<object>['metadata']): StoreFactory<object> {
  return storeFactory<object>(store, key, { evict: false, metadata });
}

function describeArgument(value: unknown): string {
  const state = probeState(value);
  if (state === undefined) return 'a value that is not a proxy';
  const ref = references.get(state);
  return ref === undefined ? 'a plain proxy' : WITH_ARTICLE[ref.kind];
}

function referenceOf(value: unknown, caller: string, kinds: readonly OwnershipKind[]): Reference {
  const state = probeState(value);
  const ref = state === undefined ? undefined : references.get(state);
  if (ref === undefined || !kinds.includes(ref.kind)) {
    throw new OwnershipError(`${caller}() takes ${kinds.map((kind) => WITH_ARTICLE[kind]).join(' or ')}, got ${describeArgument(value)}`);
  }
  return ref;
}

/** What forbids disposing, moving or updating the owner, or undefined when nothing does. */
function liveBorrows(slot: Slot): string | undefined {
  const n = slot.shared.size;
  if (slot.mutable === undefined && n === 0) return undefined;
  const live = slot.mutable !== undefined ? 'a mutable borrow is live' : `${n} shared borrow${n === 1 ? ' is' : 's are'} live`;
  const sent = slot.mutable !== undefined ? slot.mutable.tasks > 0 : [...slot.shared].some((ref) => ref.tasks > 0);
  return sent ? `${live} (a sent borrow counts until its receiver is done: executors call endTaskBorrows() when the task settles; after encodeProxies() of your own, call endTaskBorrows(whatYouEncoded))` : live;
}

function assertNotBorrowed(owner: Reference, attempted: string): void {
  const live = liveBorrows(owner.slot);
  if (live !== undefined) throw owner.borrowError(attempted, live);
}

export interface OwnedProxyOptions {
  readonly populateTarget?: boolean;
}

/** Owners come only from async calls, which cannot hand back a proxy of a thenable (see refuseThenableResult). */
const NO_THENABLE_OWNER = 'an OwnedProxy of a thenable cannot be handed out; keep a plain proxy (store.proxyBatch([obj])) and evict its key yourself';

/** Store `obj` and return its single owner (what `Store.ownedProxy` does). */
export async function ownedProxy<T extends Proxiable>(store: StoreHandle, obj: T, options: OwnedProxyOptions = {}): Promise<OwnedProxy<T>> {
  // Refuses primitives (null included) before anything is stored.
  if (!isObjectLike(obj)) throw new NonProxiableTypeError(typeOfValue(obj));
  const metadata = metadataOf(obj);
  refuseThenableResult(metadata.thenable, 'ownedProxy', NO_THENABLE_OWNER);
  const key = await store.put(obj);
  const populate = options.populateTarget ?? store.populateTarget;
  return newOwner(sourceFor(store, key, metadata), populate ? obj : undefined).proxy as OwnedProxy<T>;
}

/** A shared, read-only borrow. Refused while a mutable borrow is live. */
export function borrow<T>(p: OwnedProxy<T>): RefProxy<T> {
  const owner = referenceOf(p, 'borrow', ['owned']);
  owner.assertUsable();
  if (owner.slot.mutable !== undefined) throw owner.borrowError('borrow', 'a mutable borrow is live');
  const ref = new Reference('ref', owner.slot, owner.state.target);
  owner.slot.shared.add(ref);
  return ref.proxy as RefProxy<T>;
}

/** The exclusive borrow. Refused while any other borrow is live. */
export function mutBorrow<T>(p: OwnedProxy<T>): RefMutProxy<T> {
  const owner = referenceOf(p, 'mutBorrow', ['owned']);
  owner.assertUsable();
  const live = liveBorrows(owner.slot);
  if (live !== undefined) throw owner.borrowError('mutably borrow', live);
  const ref = new Reference('ref-mut', owner.slot, owner.state.target);
  owner.slot.mutable = ref;
  return ref.proxy as RefMutProxy<T>;
}

function detach(ref: Reference): void {
  ref.slot.shared.delete(ref);
  if (ref.slot.mutable === ref) ref.slot.mutable = undefined;
}

function releaseReference(ref: Reference): void {
  ref.end('released');
  // A borrow a task still holds keeps counting until the task ends.
  if (ref.tasks === 0) detach(ref);
}

/** End a borrow (also what `using` does at scope end). Releasing twice is harmless. */
export function release<T>(p: RefProxy<T> | RefMutProxy<T>): void {
  releaseReference(referenceOf(p, 'release', ['ref', 'ref-mut']));
}

/**
 * Once the receiver of sent borrows is done with them: every borrow in `args`
 * (arrays, plain objects, Maps, Sets, at any depth) ends, unless another
 * unfinished use still holds it. Encoding a borrow (a task call, or
 * `encodeProxies` for a message of your own) counts it as held by the
 * receiver, so its owner cannot be disposed, moved or updated until then.
 * Executors call this when a task settles; after sending borrows yourself,
 * call it with what you encoded once the receiver says it is done. Borrows
 * not sent anywhere end too.
 */
export function endTaskBorrows(args: unknown): void {
  const isBorrow = (value: unknown): value is object => {
    const state = probeState(value);
    const kind = state === undefined ? undefined : references.get(state)?.kind;
    return kind === 'ref' || kind === 'ref-mut';
  };
  for (const p of collectLeaves(args, isBorrow)) {
    const ref = references.get(probeState(p) as ProxyState) as Reference;
    const sent = ref.tasks > 0;
    if (ref.tasks > 0) ref.tasks--;
    if (ref.tasks > 0) continue;
    ref.end('task-ended');
    detach(ref);
    if (sent && ref.kind === 'ref-mut') forgetOwnersCopy(ref.slot);
  }
}

/**
 * After a sent mutable borrow ends: its receiver may have written the object
 * back under the same key (`update`), so the owner's object in hand may be an
 * old version. The owner reads the key again on its next use. Where the
 * connector cannot overwrite the key, a receiver elsewhere cannot update
 * (only the owner can give the object a new key), so the owner's copy stands.
 */
function forgetOwnersCopy(slot: Slot): void {
  const { owner, source } = slot;
  if (owner === undefined || owner.ended !== undefined || owner.state.target === undefined) return;
  const { store, key } = source;
  if (store.connector.set === undefined || !(store.connector.canSet?.(key) ?? true)) return;
  owner.state.target = undefined;
  owner.state.bound = undefined;
  store.releaseViews(key);
}

/** Evicts the object. Refused while borrows live; disposing again waits for the same eviction. */
export async function dispose<T>(p: OwnedProxy<T>): Promise<void> {
  return disposeOwner(referenceOf(p, 'dispose', ['owned']));
}

function disposeOwner(owner: Reference): Promise<void> {
  const { slot } = owner;
  if (owner.ended === 'disposed' && slot.eviction !== undefined) return slot.eviction;
  owner.assertUsable();
  assertNotBorrowed(owner, 'dispose the OwnedProxy of');
  owner.end('disposed');
  leaks.unregister(owner);
  return (slot.eviction = slot.source.store.evict(slot.source.key));
}

/** Scope end drops nothing for a moved owner, as in Rust; `using` cannot wait, so a failed eviction is a warning. */
function dropAtScopeEnd(owner: Reference): void {
  if (owner.ended === 'moved' || owner.ended === 'disposed') return;
  disposeOwner(owner).catch((error: unknown) => {
    process.emitWarning(`disposing ${owner.name} failed: ${messageOf(error)}`, {
      type: 'ProxyStoreWarning',
      code: 'PROXYSTORE_OWNED_EVICT_FAILED',
    });
  });
}

function dropAtScopeEndAsync(owner: Reference): Promise<void> {
  return owner.ended === 'moved' ? Promise.resolve() : disposeOwner(owner);
}

/** A new owner of a copy: stored under its own key, read back on first use, so it never shares an object with `p`. */
export async function clone<T>(p: OwnedProxy<T> | RefProxy<T> | RefMutProxy<T>): Promise<OwnedProxy<T>> {
  const ref = referenceOf(p, 'clone', ['owned', 'ref', 'ref-mut']);
  ref.assertUsable();
  refuseThenableResult(ref.slot.source.metadata.thenable, 'clone', NO_THENABLE_OWNER);
  const target = await resolveLater(ref.state);
  const { store, metadata } = ref.slot.source;
  const key = await store.put(target);
  return newOwner(sourceFor(store, key, metadata), undefined).proxy as OwnedProxy<T>;
}

/**
 * An owner for `p`. A plain store proxy hands its object over (same key) and
 * must not be used again: boundaries refuse it, but its traps are the core's
 * and cannot. A borrow becomes an owner of a copy (as `clone`) and ends.
 */
export async function intoOwned<T>(p: Proxy<T> | RefProxy<T> | RefMutProxy<T>): Promise<OwnedProxy<T>> {
  const state = probeState(p);
  const ref = state === undefined ? undefined : references.get(state);
  if (ref !== undefined) {
    if (ref.kind === 'owned') throw new OwnershipError(`intoOwned() takes a plain proxy or a borrow, got an OwnedProxy of key ${describeKey(ref.slot.source.key)}: it is owned already`);
    const owned = await clone(p as RefProxy<T>);
    releaseReference(ref);
    return owned;
  }
  if (state === undefined || !isStoreFactory(state.factory)) {
    throw new OwnershipError(`intoOwned() takes a proxy made by a Store or a borrow, got ${state === undefined ? 'a value that is not a proxy' : 'a proxy with a custom factory'}`);
  }
  const { store, key, metadata } = state.factory;
  refuseThenableResult(metadata.thenable, 'intoOwned', NO_THENABLE_OWNER);
  if (surrendered.has(state)) throw new InvalidReferenceError(key, store.name, 'proxy', 'it was turned into an OwnedProxy by intoOwned() already');
  surrendered.add(state);
  return newOwner(sourceFor(store, key, metadata), state.target).proxy as OwnedProxy<T>;
}

/**
 * Write the changed object back to the store, e.g. after mutating it through
 * a RefMutProxy. Where the connector can overwrite the key (`Connector.set`:
 * memory, file, Redis, multi; not shared memory, whose `canSet` allows only
 * a future's keys), the new version replaces the old under the
 * same key, so every holder of the key, in any process, reads it. Elsewhere
 * the new version gets a new key (the owner and its borrows follow it) and
 * the old one is evicted. Nothing is written when the object was never read
 * here, since it cannot have changed.
 */
export async function update<T>(p: OwnedProxy<T> | RefMutProxy<T>): Promise<void> {
  const ref = referenceOf(p, 'update', ['owned', 'ref', 'ref-mut']);
  ref.assertUsable();
  if (ref.kind === 'ref') throw ref.borrowError('update', 'a RefProxy is read-only: update through the OwnedProxy or a RefMutProxy');
  if (ref.kind === 'owned') assertNotBorrowed(ref, 'update');
  const { slot } = ref;
  const { owner } = slot;
  const source = slot.source;
  const { connector } = source.store;
  if (connector.set !== undefined && (connector.canSet?.(source.key) ?? true)) {
    // A borrow in another process holds the value it changed in its own state; here it is the owner's.
    const target = (owner ?? ref).state.target;
    if (target === undefined) return;
    await source.store.set(source.key, target);
    if (owner?.ended !== undefined) {
      // Disposed or moved while the new version was being written: the write must not bring back what dispose evicted.
      await source.store.evict(source.key);
      owner.assertUsable();
    }
    return;
  }
  if (owner === undefined) {
    throw ref.borrowError('update', 'its owner is in another process, and only the owner can give the object its new key (connectors cannot overwrite one)');
  }
  const target = owner.state.target;
  if (target === undefined) return;
  const old = slot.source;
  const key = await old.store.put(target);
  if (owner.ended !== undefined) {
    // Disposed or moved while the new version was being written: nobody would own it.
    await old.store.evict(key);
    owner.assertUsable();
  }
  slot.source = sourceFor(old.store, key, old.metadata);
  slot.leak.key = key;
  await old.store.evict(old.key);
}

/**
 * What a reference sends is committed (owner moved, borrow counted as held by
 * a task) only once the whole message is encoded, so a failed encode moves
 * nothing. Outside one (JSON.stringify), each commits at once.
 */
let pending: Set<Reference> | undefined;

function send(ref: Reference): OwnershipDescriptor {
  ref.assertUsable();
  if (ref.kind === 'owned') assertNotBorrowed(ref, 'move the OwnedProxy of');
  if (pending === undefined) commitSend(ref);
  else if (!pending.has(ref)) pending.add(ref);
  else if (ref.kind !== 'ref') {
    throw new OwnershipError(`the ${ref.name} of key ${describeKey(ref.slot.source.key)} appears twice in one message: it can be moved only once`);
  }
  return signDescriptor({ ...ref.slot.source.descriptor(), ownership: ref.kind });
}

function commitSend(ref: Reference): void {
  if (ref.kind === 'owned') {
    ref.end('moved');
    leaks.unregister(ref);
    return;
  }
  ref.tasks++;
  // A mutable borrow is exclusive: the task has it now.
  if (ref.kind === 'ref-mut') ref.end('sent');
}

/** Hook for encodeProxies: runs the encode as one all-or-nothing send. */
export function sendingReferences<R>(encode: () => R): R {
  const outer = pending;
  const mine = new Set<Reference>();
  pending = mine;
  let result: R;
  try {
    result = encode();
  } finally {
    pending = outer;
  }
  for (const ref of mine) commitSend(ref);
  return result;
}

/**
 * Hook for descriptorOf: the descriptor of an ownership proxy (sending it),
 * undefined for a plain proxy, an error for one given to intoOwned().
 */
export function referenceDescriptor(p: object): OwnershipDescriptor | undefined {
  const state = probeState(p);
  if (state === undefined) return undefined;
  const ref = references.get(state);
  if (ref !== undefined) return send(ref);
  assertNotSurrendered(state);
  return undefined;
}

function assertNotSurrendered(state: ProxyState): void {
  if (surrendered.has(state) && isStoreFactory(state.factory)) {
    throw new InvalidReferenceError(state.factory.key, state.factory.store.name, 'proxy', 'it was turned into an OwnedProxy by intoOwned()');
  }
}

// JSON.stringify of a plain proxy asks its store factory, beneath this module.
provideSendCheck((p) => {
  const state = probeState(p);
  if (state !== undefined) assertNotSurrendered(state);
});

/** Whether sending `p` is an ownership matter (`referenceDescriptor` has a say): an ownership proxy, or one given to intoOwned(). Changes nothing. */
export function sendsAsReference(p: object): boolean {
  const state = probeState(p);
  return state !== undefined && (references.has(state) || surrendered.has(state));
}

/**
 * Hook for proxyFromDescriptor: the receiving end of a send. An owner arrives
 * as the new owner; a borrow as a borrow whose owner is elsewhere. Undefined
 * for descriptors without ownership.
 */
export function receiveReference(descriptor: ProxyDescriptor, store: StoreHandle): object | undefined {
  const { ownership } = descriptor as ProxyDescriptor & { readonly ownership?: unknown };
  if (ownership === undefined) return undefined;
  if (ownership !== 'owned' && ownership !== 'ref' && ownership !== 'ref-mut') {
    throw new DescriptorError(`invalid proxy descriptor: ownership must be 'owned', 'ref' or 'ref-mut', got ${describeKey(ownership)}`);
  }
  const source = sourceFor(store, descriptor.key, descriptor.metadata);
  if (ownership === 'owned') return newOwner(source, undefined).proxy;
  return new Reference(ownership, newSlot(source), undefined).proxy;
}
