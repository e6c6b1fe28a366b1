import { describeKey } from '../errors.js';
import type { ProxyMetadata } from './factory.js';
import { PROBE, attachState, metadataOf, stateOf, type ProxyState } from './state.js';

/** Node's util.inspect looks this up on the proxy's target without firing traps. */
const INSPECT = Symbol.for('nodejs.util.inspect.custom');

type Inspect = (value: unknown, options?: object) => string;

/**
 * `this` is usually the proxy (Node passes it), so the state comes through the
 * `get` trap's PROBE answer; with `showProxy` (`util.format('%o', p)`) Node
 * inspects the proxy's target instead, i.e. this placeholder, which holds the state itself.
 */
function inspectProxy(this: { [PROBE]?: ProxyState }, _depth: number, options: object, inspect: Inspect): string {
  const state = this[PROBE] ?? stateOf(this);
  const metadata = metadataOf(state.proxy as object);
  const name = `Proxy<${metadata.typeName ?? metadata.kind}>`;
  if (state.target !== undefined) return `${name} ${inspect(state.target, options)}`;
  const key = state.factory.key === undefined ? '' : `, key ${describeKey(state.factory.key)}`;
  return `${name} [unresolved${key}]`;
}

const inspectSlot: PropertyDescriptor = { value: inspectProxy, configurable: true, writable: true };

const objectPrototype: object = Object.create(Object.prototype, { [INSPECT]: inspectSlot }) as object;

/** Arrays must be real arrays so `Array.isArray(p)` is true; a subclass carries the inspect hook. */
class ArrayPlaceholder extends Array<unknown> {}
Object.defineProperty(ArrayPlaceholder.prototype, INSPECT, inspectSlot);

/**
 * Bound functions are constructible (so the proxy gets [[Construct]]) yet own
 * no `prototype`, which `function () {}` owns non-configurably: that would force
 * every function proxy to report a `prototype` even for arrow-function targets.
 * A bound function inherits its target's [[Prototype]], which carries the hook.
 */
function functionBase(): void {}
Object.setPrototypeOf(functionBase, Object.create(Function.prototype, { [INSPECT]: inspectSlot }) as object);

const makers: Record<ProxyMetadata['kind'], () => object> = {
  object: () => Object.create(objectPrototype) as object,
  array: () => new ArrayPlaceholder(),
  function: () => functionBase.bind(null),
};

export function newPlaceholder(kind: ProxyMetadata['kind'], state: ProxyState): object {
  const placeholder = makers[kind]();
  attachState(placeholder, state);
  return placeholder;
}
