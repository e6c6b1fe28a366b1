/**
 * Names for classes whose instances must keep their prototype through the
 * default serializer. V8's structured serialization only carries data, so the
 * encoding records a name per instance and the receiving process, which has
 * registered the same classes, maps that name back to a prototype. The registry
 * is per process (per worker thread, too): each side registers its classes.
 */
import { ConfigError } from '../errors.js';

/** Any class, including abstract ones and ones whose constructor takes arguments. */
export type RegisterableClass = abstract new (...args: never[]) => object;

const prototypeByName = new Map<string, object>();
const nameByPrototype = new Map<object, string>();

/**
 * Make instances of `ctor` (and of its unregistered subclasses) come back as
 * `ctor` instances. Only own enumerable data travels; private `#fields` do not.
 * Registering the same class under the same name again is a no-op.
 */
export function registerClass(ctor: RegisterableClass, name: string = ctor.name): void {
  // The name travels in every encoding of an instance, and the receiver looks it up as a string: anything else would fail every later decode.
  if (typeof name !== 'string') {
    throw new ConfigError(`registerClass: the name must be a string, got ${typeof name}`);
  }
  if (name === '') {
    throw new ConfigError('registerClass: an anonymous class needs an explicit name');
  }
  const prototype = prototypeOf(ctor);
  const holder = prototypeByName.get(name);
  if (holder === prototype) {
    return;
  }
  if (holder !== undefined) {
    throw new ConfigError(`registerClass: the name '${name}' is taken by another class; pass a different name`);
  }
  // One name per class keeps classNameOf unambiguous.
  const existingName = nameByPrototype.get(prototype);
  if (existingName !== undefined) {
    throw new ConfigError(`registerClass: class ${ctor.name} is already registered as '${existingName}'`);
  }
  prototypeByName.set(name, prototype);
  nameByPrototype.set(prototype, name);
}

/** Forget a class, by its registered name or by the class itself; unknown ones are ignored. */
export function unregisterClass(nameOrCtor: string | RegisterableClass): void {
  const name = typeof nameOrCtor === 'string' ? nameOrCtor : nameByPrototype.get(prototypeOf(nameOrCtor));
  if (name === undefined) {
    return;
  }
  const prototype = prototypeByName.get(name);
  prototypeByName.delete(name);
  if (prototype !== undefined) {
    nameByPrototype.delete(prototype);
  }
}

/** The registered name of the nearest registered class on `value`'s prototype chain. */
export function classNameOf(value: object): string | undefined {
  for (let p = Object.getPrototypeOf(value) as object | null; p !== null; p = Object.getPrototypeOf(p) as object | null) {
    const name = nameByPrototype.get(p);
    if (name !== undefined) {
      return name;
    }
  }
  return undefined;
}

export function prototypeForClass(name: string): object | undefined {
  return prototypeByName.get(name);
}

/** Lets the serializer skip walking object graphs while nothing is registered. */
export function hasRegisteredClasses(): boolean {
  return prototypeByName.size > 0;
}

function prototypeOf(ctor: RegisterableClass): object {
  const prototype: unknown = ctor.prototype;
  if (typeof prototype !== 'object' || prototype === null) {
    throw new ConfigError(`registerClass: ${ctor.name || 'the class'} has no prototype object`);
  }
  return prototype;
}
