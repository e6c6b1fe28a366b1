import { InvalidArgumentError } from '../errors.js';
import { classNameOf, prototypeForClass } from '../support/class-registry.js';
import type { ProxyMetadata } from './factory.js';

/** Built-ins whose prototype is the same in every realm of this runtime, so the name alone identifies it. */
const BUILTIN_NAMES = [
  'Object', 'Array', 'Map', 'Set', 'WeakMap', 'WeakSet', 'Date', 'RegExp', 'Promise',
  'ArrayBuffer', 'SharedArrayBuffer', 'DataView',
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array',
  'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
  'Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError', 'AggregateError',
];

const builtinPrototypes = new Map<string, object>();
for (const name of BUILTIN_NAMES) {
  const ctor: unknown = Reflect.get(globalThis, name);
  if (typeof ctor === 'function') builtinPrototypes.set(name, ctor.prototype as object);
}

/**
 * The target's prototype as far as metadata tells, or undefined when only the
 * target itself can tell. A className is authoritative: when the registry does
 * not know it, the typeName (often the same class name) is not trusted either.
 */
export function knownPrototype(metadata: ProxyMetadata | undefined): object | undefined {
  if (metadata === undefined) return undefined;
  if (metadata.className !== undefined) return prototypeForClass(metadata.className);
  return metadata.typeName === undefined ? undefined : builtinPrototypes.get(metadata.typeName);
}

export function kindOf(value: object): ProxyMetadata['kind'] {
  if (Array.isArray(value)) return 'array';
  return typeof value === 'function' ? 'function' : 'object';
}

/** `typeof` of a value, except that null is called 'null' (as error messages want). */
export function typeOfValue(value: unknown): string {
  return value === null ? 'null' : typeof value;
}

export function isObjectLike(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

function constructorName(value: object): string | undefined {
  const prototype = Reflect.getPrototypeOf(value);
  const ctor: unknown = prototype === null ? undefined : Reflect.get(prototype, 'constructor');
  return typeof ctor === 'function' && ctor.name !== '' ? ctor.name : undefined;
}

/** Metadata of a value in hand, with its registered class name so `instanceof` needs no read in another process. */
export function describeValue(value: object): ProxyMetadata {
  const kind = kindOf(value);
  const thenable = typeof Reflect.get(value, 'then') === 'function';
  const typeName = constructorName(value);
  const className = classNameOf(value);
  return { kind, ...(typeName === undefined ? {} : { typeName }), ...(className === undefined ? {} : { className }), thenable };
}

/**
 * An async call cannot hand back the one proxy of a thenable target: the
 * promise it returns would call the proxy's `then`, which is the target's,
 * and fulfil with whatever that yields. Such calls refuse the target instead
 * (`instead` says what works).
 */
export function refuseThenableResult(thenable: boolean | undefined, call: string, instead: string): void {
  if (thenable === true) {
    throw new InvalidArgumentError('obj', `${call}: the object has a then method, so the promise ${call} returns would call it instead of giving back its proxy: ${instead}`);
  }
}
