import { afterEach, describe, expect, it } from 'vitest';
import type { ProxyMetadata } from '../runtime/proxy/factory.js';
import { extract, isResolved, metadataOf, proxy } from '../runtime/proxy/proxy.js';
import { registerClass, unregisterClass } from '../runtime/support/class-registry.js';

/** An unpopulated proxy of `value` with the metadata a descriptor would carry, counting resolutions. */
function lazy<T extends object>(value: T, metadata: ProxyMetadata = metadataOf(value)) {
  const factory = Object.assign(
    () => {
      factory.calls++;
      return value;
    },
    { calls: 0 },
  );
  return { p: proxy(factory, { metadata }), factory };
}

describe('plain objects', () => {
  it('forwards get, set, has and delete to the target', () => {
    const target: { a: number; b?: number; c?: number } = { a: 1, b: 2 };
    const { p } = lazy(target);
    expect(p.a).toBe(1);
    p.c = 3;
    expect(target.c).toBe(3);
    expect('c' in p).toBe(true);
    expect(delete p.b).toBe(true);
    expect('b' in target).toBe(false);
    expect(Reflect.has(p, 'b')).toBe(false);
  });

  it('lists keys, spreads and enumerates like the target', () => {
    const target = { a: 1, b: { nested: true } };
    const { p } = lazy(target);
    expect(Object.keys(p)).toEqual(['a', 'b']);
    expect({ ...p }).toEqual(target);
    const seen: string[] = [];
    for (const key in p) seen.push(key);
    expect(seen).toEqual(['a', 'b']);
    expect(JSON.stringify(extract(p))).toBe(JSON.stringify(target));
    expect(JSON.stringify(p)).toBe(JSON.stringify(target));
  });

  it('hides its state slot from every reflective view', () => {
    const { p } = lazy({ a: 1 });
    expect(Reflect.ownKeys(p)).toEqual(['a']);
    expect(Object.getOwnPropertySymbols(p)).toEqual([]);
    expect(Object.getOwnPropertyDescriptors(p)).toEqual(Object.getOwnPropertyDescriptors({ a: 1 }));
  });

  it('returns own function properties as they are', () => {
    const callback = () => 'own';
    const { p } = lazy({ callback });
    expect(p.callback).toBe(callback);
  });
});

describe('arrays', () => {
  it('is an array with the target length, iterable and mappable', () => {
    const { p, factory } = lazy([1, 2, 3]);
    expect(Array.isArray(p)).toBe(true);
    expect(factory.calls).toBe(0);
    expect(p.length).toBe(3);
    expect([...p]).toEqual([1, 2, 3]);
    const seen: number[] = [];
    for (const item of p) seen.push(item);
    expect(seen).toEqual([1, 2, 3]);
    expect(p.map((x) => x * 2)).toEqual([2, 4, 6]);
    expect(p.filter((x) => x > 1)).toEqual([2, 3]);
    expect(factory.calls).toBe(1);
  });

  it('writes through to the target', () => {
    const target = [1];
    const { p } = lazy(target);
    p.push(2);
    p[2] = 3;
    expect(target).toEqual([1, 2, 3]);
    expect(p.length).toBe(3);
    expect(Object.keys(p)).toEqual(['0', '1', '2']);
  });
});

describe('functions and classes', () => {
  it('calls a function target', () => {
    const { p, factory } = lazy((x: number) => x + 1);
    expect(typeof p).toBe('function');
    expect(factory.calls).toBe(0);
    expect(p(1)).toBe(2);
    expect(p.call(undefined, 2)).toBe(3);
  });

  it('constructs a class target, with the class as new.target', () => {
    class Point {
      readonly madeBy: unknown;
      constructor(readonly x: number) {
        this.madeBy = new.target;
      }
    }
    const { p } = lazy(Point);
    const point = new p(4);
    expect(point).toBeInstanceOf(Point);
    expect(point.x).toBe(4);
    expect(point.madeBy).toBe(Point);
  });

  it('constructs an old-style constructor function', () => {
    function Legacy(this: { tag: string }) {
      this.tag = 'legacy';
    }
    const { p } = lazy(Legacy);
    expect(new (p as unknown as new () => { tag: string })().tag).toBe('legacy');
  });
});

describe('instanceof', () => {
  class Model {
    weights = [0.5];
  }

  afterEach(() => unregisterClass('app.Model'));

  it('answers for a populated proxy without calling the factory', () => {
    const factory = Object.assign(() => new Model(), { calls: 0 });
    const p = proxy(factory, { target: new Model() });
    expect(p instanceof Model).toBe(true);
    expect(p.constructor).toBe(Model);
  });

  it('answers from className through the class registry without resolving', () => {
    registerClass(Model, 'app.Model');
    const { p, factory } = lazy(new Model(), { kind: 'object', typeName: 'Model', className: 'app.Model', thenable: false });
    expect(p instanceof Model).toBe(true);
    expect(Object.getPrototypeOf(p)).toBe(Model.prototype);
    expect(factory.calls).toBe(0);
  });

  it('answers from a built-in typeName without resolving', () => {
    for (const value of [new Map(), new Set(), new Date(), /x/, new ArrayBuffer(1), new Float32Array(1), Promise.resolve(), new TypeError('t')]) {
      const { p, factory } = lazy(value);
      expect(p instanceof value.constructor).toBe(true);
      expect(factory.calls).toBe(0);
    }
  });

  it('resolves when neither className nor typeName identifies the prototype', () => {
    const { p, factory } = lazy(new Model());
    expect(p instanceof Model).toBe(true);
    expect(factory.calls).toBe(1);
  });

  it('does not trust a typeName when the registry does not know the className', () => {
    const { p, factory } = lazy(new Model(), { kind: 'object', typeName: 'Map', className: 'app.Unknown' });
    expect(p instanceof Map).toBe(false);
    expect(p instanceof Model).toBe(true);
    expect(factory.calls).toBe(1);
  });
});

describe('built-ins with internal slots', () => {
  it('Map: methods, size and iteration reach the real map; bound methods are cached', () => {
    const { p } = lazy(new Map([['a', 1]]));
    expect(p.get('a')).toBe(1);
    p.set('b', 2);
    expect(p.size).toBe(2);
    expect([...p.keys()]).toEqual(['a', 'b']);
    expect([...p]).toEqual([['a', 1], ['b', 2]]);
    expect(Reflect.get(p, 'get')).toBe(Reflect.get(p, 'get'));
  });

  it('Set', () => {
    const { p } = lazy(new Set([1]));
    p.add(2);
    expect(p.has(2)).toBe(true);
    expect(p.size).toBe(2);
    expect([...p]).toEqual([1, 2]);
  });

  it('Date', () => {
    const date = new Date(Date.UTC(2024, 0, 2));
    const { p } = lazy(date);
    expect(p.getTime()).toBe(date.getTime());
    expect(p.toISOString()).toBe('2024-01-02T00:00:00.000Z');
    expect(JSON.stringify({ p })).toBe(JSON.stringify({ p: date }));
  });

  it('typed arrays: index read/write, length, subarray, map', () => {
    const target = new Float64Array([1, 2, 3]);
    const { p } = lazy(target);
    expect(p[1]).toBe(2);
    p[0] = 10;
    expect(target[0]).toBe(10);
    expect(p.length).toBe(3);
    expect(Array.from(p.subarray(1))).toEqual([2, 3]);
    expect(p.map((x) => x * 2)).toEqual(new Float64Array([20, 4, 6]));
  });

  it('ArrayBuffer: byteLength and slice', () => {
    const { p } = lazy(new Uint8Array([1, 2, 3, 4]).buffer);
    expect(p.byteLength).toBe(4);
    expect(new Uint8Array(p.slice(1, 3))).toEqual(new Uint8Array([2, 3]));
  });

  it('RegExp: test, exec and source', () => {
    const { p } = lazy(/b(\d)/g);
    expect(p.source).toBe('b(\\d)');
    expect(p.test('ab1')).toBe(true);
    p.lastIndex = 0;
    expect(p.exec('xb7')?.[1]).toBe('7');
    expect('a1b2'.replace(p, '_')).toBe('a1_');
  });

  it('classes with #private fields, methods and getters', () => {
    class Account {
      #balance = 0;
      get balance(): number {
        return this.#balance;
      }
      set balance(value: number) {
        this.#balance = value;
      }
      deposit(amount: number): number {
        this.#log(amount);
        return (this.#balance += amount);
      }
      #log(amount: number): void {
        if (amount < 0) throw new RangeError('negative');
      }
      static isAccount(value: object): boolean {
        return #balance in value;
      }
    }
    const { p } = lazy(new Account());
    expect(p.deposit(5)).toBe(5);
    expect(p.balance).toBe(5);
    p.balance = 9;
    expect(p.deposit(1)).toBe(10);
    expect(Account.isAccount(extract(p))).toBe(true);
    expect(isResolved(p)).toBe(true);
  });
});
