import type { AnyFunction } from '../../src/types.js';
import { knownPrototype } from './metadata.js';
import { PROBE, resolveNow, stateOf, type BoundMethod, type ProxyState } from './state.js';

type Constructor = new (...args: unknown[]) => object;

function realTarget(placeholder: object): object {
  return resolveNow(stateOf(placeholder));
}

function boundMethod(state: ProxyState, key: PropertyKey, method: AnyFunction, target: object): AnyFunction {
  const cache = (state.bound ??= new Map<PropertyKey, BoundMethod>());
  const cached = cache.get(key);
  if (cached?.source === method) return cached.bound;
  const bound = method.bind(target);
  cache.set(key, { source: method, bound });
  return bound;
}

/**
 * Makes the placeholder own exactly the target's properties, prototype and
 * (non-)extensibility: once the target stops being extensible, the Proxy
 * invariants compare every answer against the placeholder. Taking the target's
 * prototype drops the placeholder's inspect hook, so util.inspect then prints
 * this copy of the target's properties.
 */
function adoptShape(placeholder: object, target: object): void {
  for (const key of Reflect.ownKeys(placeholder)) {
    if (!Object.hasOwn(target, key)) Reflect.deleteProperty(placeholder, key);
  }
  for (const key of Reflect.ownKeys(target)) {
    const descriptor = Reflect.getOwnPropertyDescriptor(target, key);
    if (descriptor !== undefined) Reflect.defineProperty(placeholder, key, descriptor);
  }
  Reflect.setPrototypeOf(placeholder, Reflect.getPrototypeOf(target));
  Reflect.preventExtensions(placeholder);
}

/**
 * The invariants only let a trap report a non-configurable property that the
 * placeholder owns just as non-configurably (and as non-writable, if so), and
 * forbid any mismatch once the placeholder is non-extensible: copy those.
 */
function mirror(placeholder: object, key: PropertyKey, descriptor: PropertyDescriptor | undefined): void {
  if (descriptor?.configurable !== false && Reflect.isExtensible(placeholder)) return;
  if (descriptor === undefined) Reflect.deleteProperty(placeholder, key);
  else Reflect.defineProperty(placeholder, key, descriptor);
}

/**
 * The one handler shared by every proxy (a fresh handler per proxy doubles the
 * creation cost). Traps act on the real target with the target as receiver:
 * built-ins with internal slots and classes with #private members reject the proxy.
 */
export const handler: ProxyHandler<object> = {
  get(placeholder, key, receiver: unknown): unknown {
    const state = stateOf(placeholder);
    if (key === PROBE) return receiver === state.proxy ? state : undefined;
    // JSON of a proxy is its reference, never its target (as pickling a proxy is in ProxyStore).
    if (key === 'toJSON' && state.factory.toJSON !== undefined) return state.factory.toJSON;
    let target = state.target;
    if (target === undefined) {
      // Lets `await p` and async functions returning p go by without fetching anything.
      if (key === 'then' && state.metadata?.thenable === false) return undefined;
      target = resolveNow(state);
    }
    const value: unknown = Reflect.get(target, key);
    // Inherited methods are bound so internal slots and #private members see the real target;
    // own functions are data, and `constructor` must keep its identity for `p.constructor === C`.
    if (typeof value !== 'function' || key === 'constructor' || Object.hasOwn(target, key)) return value;
    return boundMethod(state, key, value as AnyFunction, target);
  },

  set(placeholder, key, value: unknown, receiver: unknown): boolean {
    const state = stateOf(placeholder);
    const target = resolveNow(state);
    if (receiver !== state.proxy) {
      // p is somebody's prototype: the property belongs on that object.
      return Reflect.set(target, key, value, receiver);
    }
    if (!Reflect.set(target, key, value)) return false;
    // A non-extensible placeholder is what util.inspect prints: keep its values current.
    if (!Reflect.isExtensible(placeholder)) mirror(placeholder, key, Reflect.getOwnPropertyDescriptor(target, key));
    return true;
  },

  has: (placeholder, key) => Reflect.has(realTarget(placeholder), key),

  deleteProperty(placeholder, key): boolean {
    const target = realTarget(placeholder);
    if (!Reflect.deleteProperty(target, key)) return false;
    mirror(placeholder, key, undefined);
    return true;
  },

  ownKeys(placeholder): (string | symbol)[] {
    const target = realTarget(placeholder);
    // Someone holding the target may have deleted keys the placeholder still mirrors.
    if (!Reflect.isExtensible(placeholder)) adoptShape(placeholder, target);
    return Reflect.ownKeys(target);
  },

  getOwnPropertyDescriptor(placeholder, key): PropertyDescriptor | undefined {
    const descriptor = Reflect.getOwnPropertyDescriptor(realTarget(placeholder), key);
    mirror(placeholder, key, descriptor);
    return descriptor;
  },

  defineProperty(placeholder, key, descriptor): boolean {
    const target = realTarget(placeholder);
    if (!Reflect.defineProperty(target, key, descriptor)) return false;
    mirror(placeholder, key, Reflect.getOwnPropertyDescriptor(target, key));
    return true;
  },

  getPrototypeOf(placeholder): object | null {
    const state = stateOf(placeholder);
    if (state.target !== undefined) return Reflect.getPrototypeOf(state.target);
    return knownPrototype(state.metadata) ?? Reflect.getPrototypeOf(resolveNow(state));
  },

  setPrototypeOf: (placeholder, prototype) => Reflect.setPrototypeOf(realTarget(placeholder), prototype),

  isExtensible(placeholder): boolean {
    const target = realTarget(placeholder);
    if (Reflect.isExtensible(target)) return true;
    // The target may have been frozen before it was proxied, or behind the proxy's back.
    if (Reflect.isExtensible(placeholder)) adoptShape(placeholder, target);
    return false;
  },

  preventExtensions(placeholder): boolean {
    const target = realTarget(placeholder);
    if (!Reflect.preventExtensions(target)) return false;
    adoptShape(placeholder, target);
    return true;
  },

  apply: (placeholder, thisArg: unknown, args: unknown[]): unknown =>
    Reflect.apply(realTarget(placeholder) as AnyFunction, thisArg, args),

  construct(placeholder, args: unknown[], newTarget): object {
    const state = stateOf(placeholder);
    const target = resolveNow(state) as Constructor;
    // `new p()` passes the proxy as new.target; classes comparing new.target expect themselves.
    return Reflect.construct(target, args, (newTarget === state.proxy ? target : newTarget) as Constructor);
  },
};
