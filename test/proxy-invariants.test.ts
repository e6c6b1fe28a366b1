import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { ProxyMetadata } from '../runtime/proxy/factory.js';
import { extract, metadataOf, proxy } from '../runtime/proxy/proxy.js';
import type { Proxy as ProxyOf } from '../src/types.js';

function lazy<T extends object>(value: T, metadata: ProxyMetadata = metadataOf(value)): ProxyOf<T> {
  return proxy(() => value, { metadata });
}

describe('every trap forwards to the target', () => {
  it('defineProperty and getOwnPropertyDescriptor', () => {
    const target: Record<string, unknown> = {};
    const p = lazy(target);
    Object.defineProperty(p, 'fixed', { value: 1, enumerable: true });
    expect(Object.getOwnPropertyDescriptor(target, 'fixed')).toEqual({ value: 1, writable: false, enumerable: true, configurable: false });
    expect(Object.getOwnPropertyDescriptor(p, 'fixed')).toEqual({ value: 1, writable: false, enumerable: true, configurable: false });
    expect(Object.getOwnPropertyDescriptor(p, 'missing')).toBeUndefined();
    expect(Reflect.defineProperty(p, 'fixed', { value: 2 })).toBe(false);
    expect(Reflect.deleteProperty(p, 'fixed')).toBe(false);
  });

  it('getPrototypeOf and setPrototypeOf', () => {
    const target = {};
    const p = lazy(target);
    const prototype = { greet: () => 'hi' };
    expect(Object.setPrototypeOf(p, prototype)).toBe(p);
    expect(Object.getPrototypeOf(target)).toBe(prototype);
    expect(Object.getPrototypeOf(p)).toBe(prototype);
    expect((p as unknown as typeof prototype).greet()).toBe('hi');
  });

  it('preventExtensions and isExtensible', () => {
    const target = { a: 1 };
    const p = lazy(target);
    expect(Object.isExtensible(p)).toBe(true);
    Object.preventExtensions(p);
    expect(Object.isExtensible(target)).toBe(false);
    expect(Object.isExtensible(p)).toBe(false);
    expect(Reflect.set(p, 'b', 2)).toBe(false);
    expect(Object.keys(p)).toEqual(['a']);
    expect(delete (p as Partial<typeof target>).a).toBe(true);
    expect(Object.keys(p)).toEqual([]);
  });

  it('reports a property deleted behind the proxy of a non-extensible target', () => {
    const target: { a?: number; b: number } = { a: 1, b: 2 };
    const p = lazy(target);
    Object.preventExtensions(p);
    delete extract(p).a;
    expect(Object.keys(p)).toEqual(['b']);
    expect(Object.getOwnPropertyDescriptor(p, 'a')).toBeUndefined();
  });

  it('apply and construct', () => {
    class Pair {
      constructor(readonly left: number, readonly right: number) {}
    }
    const P = lazy(Pair);
    expect(Reflect.construct(P, [1, 2])).toEqual(new Pair(1, 2));
    const sum = lazy((a: number, b: number) => a + b);
    expect(Reflect.apply(sum, undefined, [1, 2])).toBe(3);
  });

  it('writes to the inheriting object when the proxy is a prototype', () => {
    const target: { a?: number } = {};
    const child = Object.create(lazy(target)) as { a?: number };
    child.a = 1;
    expect(Object.hasOwn(child, 'a')).toBe(true);
    expect(target.a).toBeUndefined();
  });
});

describe('freezing and sealing keep the Proxy invariants', () => {
  it('freezes a plain object', () => {
    const target = { a: 1, nested: { b: 2 } };
    const p = lazy(target);
    expect(Object.isFrozen(p)).toBe(false);
    expect(Object.freeze(p)).toBe(p);
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(target)).toBe(true);
    expect(Reflect.set(p, 'a', 5)).toBe(false);
    expect(p.a).toBe(1);
    expect(Object.keys(p)).toEqual(['a', 'nested']);
    expect(Object.getOwnPropertyDescriptor(p, 'a')).toEqual({ value: 1, writable: false, enumerable: true, configurable: false });
  });

  it('keeps a frozen proxy usable: get, has, methods, prototype', () => {
    const p = lazy(new Map([['a', 1]]));
    Object.freeze(p);
    expect(p.get('a')).toBe(1);
    expect('size' in p).toBe(true);
    expect(p instanceof Map).toBe(true);
  });

  it('freezes an array', () => {
    const target = [1, 2];
    const p = lazy(target);
    Object.freeze(p);
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(target)).toBe(true);
    expect(Array.isArray(p)).toBe(true);
    expect(Reflect.ownKeys(p)).toEqual(['0', '1', 'length']);
    expect(() => p.push(3)).toThrow(TypeError);
  });

  it('freezes a function and a class', () => {
    const fn = lazy(() => 1);
    Object.freeze(fn);
    expect(Object.isFrozen(fn)).toBe(true);
    expect(fn()).toBe(1);
    class Thing {}
    const cls = lazy(Thing);
    Object.freeze(cls);
    expect(Object.isFrozen(cls)).toBe(true);
    expect(new cls()).toBeInstanceOf(Thing);
  });

  it('seals an object', () => {
    const target = { a: 1 };
    const p = lazy(target);
    Object.seal(p);
    expect(Object.isSealed(p)).toBe(true);
    p.a = 2;
    expect(target.a).toBe(2);
    expect(Object.getOwnPropertyDescriptor(p, 'a')).toEqual({ value: 2, writable: true, enumerable: true, configurable: false });
  });

  it('answers for a target frozen before it was proxied', () => {
    const target = Object.freeze({ a: 1 });
    const populated = proxy(() => target, { target });
    expect(Object.getOwnPropertyDescriptor(populated, 'a')?.writable).toBe(false);
    expect(Object.isFrozen(populated)).toBe(true);
    expect(Object.isFrozen(lazy(target))).toBe(true);
    expect(Object.keys(lazy(target))).toEqual(['a']);
  });
});

describe('placeholders are consistent with any target', () => {
  it('reports a class prototype, which is non-writable and non-configurable', () => {
    class Thing {}
    const p = lazy(Thing);
    expect(Object.getOwnPropertyDescriptor(p, 'prototype')).toEqual({ value: Thing.prototype, writable: false, enumerable: false, configurable: false });
    expect(p.prototype).toBe(Thing.prototype);
  });

  it('reports no prototype for an arrow function or a method', () => {
    const arrow = lazy(() => 1);
    expect(Object.getOwnPropertyNames(arrow).sort()).toEqual(['length', 'name']);
    expect('prototype' in arrow).toBe(false);
    const method = lazy({ m(this: void) {} }.m);
    expect(Reflect.ownKeys(method)).not.toContain('prototype');
  });

  it('reports the non-configurable length of an array', () => {
    const p = lazy([1, 2, 3]);
    expect(Object.getOwnPropertyDescriptor(p, 'length')).toEqual({ value: 3, writable: true, enumerable: false, configurable: false });
    p.length = 1;
    expect(Object.getOwnPropertyDescriptor(p, 'length')?.value).toBe(1);
  });
});

describe('printing a non-extensible proxy', () => {
  it('prints the current properties of a sealed target', () => {
    const p = lazy({ a: 1, list: [1] });
    Object.seal(p);
    p.a = 2;
    expect(inspect(p)).toBe(inspect({ a: 2, list: [1] }));
  });
});
