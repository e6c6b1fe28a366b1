import type { AnyFunction } from '../../src/types.js';
import { NonProxiableTypeError, ProxyResolveError, describeKey, messageOf } from '../errors.js';
import { rejection } from '../support/promises.js';
import type { Factory, ProxyMetadata } from './factory.js';
import { describeValue, isObjectLike, typeOfValue } from './metadata.js';

/**
 * A key only the `get` trap answers, with the state, when the proxy itself is
 * the receiver: the public API finds a proxy's state through it.
 */
export const PROBE: unique symbol = Symbol('ts-proxystore.probe');

export interface BoundMethod {
  readonly source: AnyFunction;
  readonly bound: AnyFunction;
}

export class ProxyState {
  pending: Promise<object> | undefined = undefined;
  /** Prototype methods bound to the target, so `p.get === p.get` and no rebinding on every read. */
  bound: Map<PropertyKey, BoundMethod> | undefined = undefined;
  /** Set right after construction; lets traps tell the proxy from other receivers. */
  proxy: object | undefined = undefined;

  constructor(
    readonly factory: Factory<object>,
    /** undefined until resolved: targets are objects, so it doubles as the resolved flag. */
    public target: object | undefined,
    /** undefined only for populated proxies, computed from the target on demand. */
    public metadata: ProxyMetadata | undefined,
  ) {}
}

/** Lets a constructor stamp private fields onto an object it did not create. */
class Stamp {
  constructor(target: object) {
    return target;
  }
}

/**
 * Per-proxy state lives in a private field of the placeholder: invisible to
 * ownKeys, has and descriptors (so no Proxy invariant ever sees it), kept when
 * the placeholder is frozen, and read without a WeakMap lookup.
 */
class StateSlot extends Stamp {
  readonly #state: ProxyState;

  constructor(placeholder: object, state: ProxyState) {
    super(placeholder);
    this.#state = state;
  }

  static read(placeholder: object): ProxyState {
    return (placeholder as StateSlot).#state;
  }
}

export function attachState(placeholder: object, state: ProxyState): void {
  new StateSlot(placeholder, state);
}

export function stateOf(placeholder: object): ProxyState {
  return StateSlot.read(placeholder);
}

/** The state of one of our proxies, or undefined for anything else (including revoked proxies). */
export function probeState(value: unknown): ProxyState | undefined {
  if (!isObjectLike(value)) return undefined;
  try {
    const state = (value as { [PROBE]?: unknown })[PROBE];
    // Someone else's proxy may answer every key with something.
    return state instanceof ProxyState ? state : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What is known of an object without resolving anything: one of our proxies
 * answers with its own metadata (a populated proxy's is worked out from its
 * target, once); any other object with its kind, constructor name, thenability
 * and registered class name. The one reader of metadata: getMetadata, the
 * stores and the inspect hook all ask it.
 */
export function metadataOf(value: object): ProxyMetadata {
  if (!isObjectLike(value)) throw new NonProxiableTypeError(typeOfValue(value));
  const state = probeState(value);
  if (state === undefined) return describeValue(value);
  return (state.metadata ??= describeValue(state.target as object));
}

function resolveError(factory: Factory<object>, error: unknown): ProxyResolveError {
  if (error instanceof ProxyResolveError) return error;
  const key = factory.key === undefined ? '' : ` of key ${describeKey(factory.key)}`;
  const reason = messageOf(error);
  return new ProxyResolveError(`could not resolve the proxy${key}: ${reason}`, { cause: error });
}

/** Keeps the first target: an async resolution that loses a race to a sync one must not swap identities. */
function settle(state: ProxyState, value: unknown): object {
  if (state.target !== undefined) return state.target;
  if (!isObjectLike(value)) throw resolveError(state.factory, new NonProxiableTypeError(typeOfValue(value)));
  state.target = value;
  return value;
}

/** The target, calling the factory first if there is none yet; failures are not cached, so the next access tries again. */
export function resolveNow(state: ProxyState): object {
  if (state.target !== undefined) return state.target;
  // Called unbound: `state.factory()` would hand the state to the factory as `this`.
  const { factory } = state;
  let value: unknown;
  try {
    value = factory();
  } catch (error) {
    throw resolveError(factory, error);
  }
  return settle(state, value);
}

function load(factory: Factory<object>): Promise<unknown> {
  let loading: unknown;
  try {
    loading = factory.resolveAsync === undefined ? factory() : factory.resolveAsync();
  } catch (error) {
    return rejection(error);
  }
  // A promise from resolveAsync is used as it is: fulfilling a new one with it would cost a job and a `then` more.
  return Promise.resolve(loading);
}

export function resolveLater(state: ProxyState): Promise<object> {
  if (state.target !== undefined) return Promise.resolve(state.target);
  // Callbacks run after `pending` is assigned, so clearing it here cannot be undone by the assignment.
  return (state.pending ??= load(state.factory).then(
    (value) => {
      state.pending = undefined;
      return settle(state, value);
    },
    (error: unknown) => {
      state.pending = undefined;
      throw resolveError(state.factory, error);
    },
  ));
}
