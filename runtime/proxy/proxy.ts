/**
 * Lazy, transparent proxies. A proxy holds a factory and resolves its target on
 * the first operation that needs it; until then, metadata answers `typeof`,
 * `Array.isArray`, `instanceof`, `await` and printing.
 */
import type { ProxiedPart, Proxy as ProxyOf, ProxyOr, Unproxied } from '../../src/types.js';
import type { Key } from '../connectors/connector.js';
import { ConfigError, InvalidArgumentError, NonProxiableTypeError } from '../errors.js';
import type { Factory, ProxyMetadata } from './factory.js';
import { handler } from './handler.js';
import { isObjectLike, kindOf, typeOfValue } from './metadata.js';
import { newPlaceholder } from './placeholder.js';
import { ProxyState, metadataOf, probeState, resolveLater, resolveNow } from './state.js';


export interface ProxyOptions<T> {
  /** The target already in hand: the proxy starts resolved and never calls the factory for local use. */
  target?: T;
  /** What the proxy may answer before resolving; without it an unpopulated proxy assumes a plain object. */
  metadata?: ProxyMetadata;
}

const UNKNOWN_OBJECT: ProxyMetadata = { kind: 'object' };

export function proxy<T extends object>(factory: Factory<T>, options?: ProxyOptions<T>): ProxyOf<T> {
  // Checked now: a proxy of something that is not a factory would only fail at its first use, far from this call.
  if (typeof factory !== 'function') throw new ConfigError(`proxy() takes a factory function that produces the target, got a value of type ${typeOfValue(factory)}`);
  const target = options?.target;
  if (target !== undefined && !isObjectLike(target)) throw new NonProxiableTypeError(typeOfValue(target));
  const metadata = options?.metadata ?? (target === undefined ? UNKNOWN_OBJECT : undefined);
  const state = new ProxyState(factory, target, metadata);
  const kind = metadata?.kind ?? kindOf(target as object);
  const result = new globalThis.Proxy(newPlaceholder(kind, state), handler);
  state.proxy = result;
  return result as ProxyOf<T>;
}

/**
 * Narrows a `ProxyOr<T>` to `Proxy<T>` (also for a generic `T`, which the second
 * signature's conditional type would leave unresolved), and any other union to
 * its proxies.
 */
export function isProxy<T extends object>(value: ProxyOr<T>): value is ProxyOf<T>;
export function isProxy<T>(value: T): value is ProxiedPart<T>;
export function isProxy(value: unknown): boolean {
  return probeState(value) !== undefined;
}

function stateFor(value: unknown, caller: string): ProxyState {
  const state = probeState(value);
  if (state === undefined) throw new InvalidArgumentError('p', `${caller}() expects a proxy made by proxy(), got a value of type ${typeOfValue(value)} that is not one`);
  return state;
}

export function isResolved(p: object): boolean {
  return stateFor(p, 'isResolved').target !== undefined;
}

function targetFor<T>(p: ProxyOf<T>, caller: string): T {
  return resolveNow(stateFor(p, caller)) as T;
}

/** Resolves now if needed (blocking on the factory) and returns the real target. */
export function resolve<T>(p: ProxyOf<T>): Unproxied<T> {
  return targetFor(p, 'resolve') as Unproxied<T>;
}

/**
 * Resolves without blocking when the factory has `resolveAsync`. Concurrent
 * calls share one in-flight resolution; afterwards the proxy is resolved for
 * synchronous use too.
 */
export function resolveAsync<T>(p: ProxyOf<T>): Promise<Unproxied<T>> {
  return resolveLater(stateFor(p, 'resolveAsync')) as Promise<Unproxied<T>>;
}

/**
 * The real target, e.g. to hand to code that rejects proxies (structuredClone,
 * postMessage). A value that is not a proxy comes back as it is, so values
 * typed `ProxyOr<T>` (an executor's results) need no `isProxy` check first.
 */
export function extract<T>(p: ProxyOr<T>): Unproxied<T> {
  const state = probeState(p);
  return (state === undefined ? p : resolveNow(state)) as Unproxied<T>;
}

export function getFactory<T>(p: ProxyOf<T>): Factory<T> {
  return stateFor(p, 'getFactory').factory as Factory<T>;
}

/**
 * The factory of a proxy, undefined for any other value: one look where
 * `isProxy` then `getFactory` take two. Each look at a proxy goes through its
 * `get` trap, and the library looks at every result proxy several times a call.
 */
export function factoryOf(value: unknown): Factory<unknown> | undefined {
  return probeState(value)?.factory;
}

export function getKey(p: object): Key | undefined {
  return stateFor(p, 'getKey').factory.key;
}

/** What the proxy knows about its target without resolving it; refuses values that are not proxies. */
export function getMetadata(p: object): ProxyMetadata {
  stateFor(p, 'getMetadata');
  return metadataOf(p);
}

export { metadataOf };
