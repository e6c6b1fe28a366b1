import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { Key } from '../runtime/connectors/connector.js';
import { InvalidArgumentError, NonProxiableTypeError, ProxyResolveError } from '../runtime/errors.js';
import type { Factory } from '../runtime/proxy/factory.js';
import {
  extract,
  getFactory,
  getKey,
  getMetadata,
  isProxy,
  isResolved,
  metadataOf,
  proxy,
  resolve,
  resolveAsync,
} from '../runtime/proxy/proxy.js';
import { thrown } from '../runtime/testing/outcomes.js';

interface Counted<T> extends Factory<T> {
  calls: number;
}

function counted<T>(make: () => T, key?: Key): Counted<T> {
  const factory = Object.assign(
    () => {
      factory.calls++;
      return make();
    },
    { calls: 0, key },
  );
  return factory;
}

describe('just-in-time resolution', () => {
  it('does not call the factory until a trap needs the target, then calls it once', () => {
    const factory = counted(() => ({ a: 1, b: 2 }));
    const p = proxy(factory);
    expect(factory.calls).toBe(0);
    expect(isResolved(p)).toBe(false);
    expect(p.a).toBe(1);
    expect(p.b).toBe(2);
    expect('a' in p).toBe(true);
    expect(Object.keys(p)).toEqual(['a', 'b']);
    expect(factory.calls).toBe(1);
    expect(isResolved(p)).toBe(true);
  });

  it('calls the factory without a receiver, so it cannot see the proxy internals', () => {
    const p = proxy(function (this: unknown) {
      return { receiver: this };
    });
    expect(Object.keys(p)).toEqual(['receiver']);
    expect(p.receiver).toBeUndefined();
  });

  it('never calls the factory of a populated proxy', () => {
    const target = { a: 1 };
    const factory = counted(() => ({ a: 2 }));
    const p = proxy(factory, { target });
    expect(isResolved(p)).toBe(true);
    expect(p.a).toBe(1);
    expect(extract(p)).toBe(target);
    expect(factory.calls).toBe(0);
  });

  it('wraps a factory error in ProxyResolveError naming the key, with the error as cause', () => {
    const failure = new Error('connection refused');
    const p = proxy<{ a: number }>(counted(() => { throw failure; }, 'abc'));
    const error = thrown(() => p.a);
    expect(error).toBeInstanceOf(ProxyResolveError);
    expect((error as Error).message).toContain('"abc"');
    expect((error as Error).message).toContain('connection refused');
    expect((error as Error).cause).toBe(failure);
  });

  it('rethrows a ProxyResolveError from the factory as it is', () => {
    const inner = new ProxyResolveError('inner proxy failed');
    const p = proxy<{ a: number }>(() => { throw inner; });
    expect(thrown(() => p.a)).toBe(inner);
  });

  it('does not cache a failed resolution: the next access calls the factory again', () => {
    let fail = true;
    const factory = counted(() => {
      if (fail) throw new Error('not yet');
      return { a: 1 };
    });
    const p = proxy(factory);
    expect(() => p.a).toThrow(ProxyResolveError);
    expect(isResolved(p)).toBe(false);
    fail = false;
    expect(p.a).toBe(1);
    expect(factory.calls).toBe(2);
  });

  it('reports a factory that returns a primitive as a ProxyResolveError caused by NonProxiableTypeError', () => {
    const p = proxy(() => 42 as unknown as object);
    const error = thrown(() => resolve(p));
    expect(error).toBeInstanceOf(ProxyResolveError);
    expect((error as Error).cause).toBeInstanceOf(NonProxiableTypeError);
  });

  it('refuses a primitive target', () => {
    expect(() => proxy(() => ({}), { target: 'text' as unknown as object })).toThrow(NonProxiableTypeError);
  });
});

describe('resolve, extract and resolveAsync', () => {
  it('resolve and extract return the real target, resolving once', () => {
    const target = { a: 1 };
    const factory = counted(() => target);
    const p = proxy(factory);
    expect(resolve(p)).toBe(target);
    expect(extract(p)).toBe(target);
    expect(factory.calls).toBe(1);
  });

  it('resolveAsync turns a resolveAsync that throws at once into a rejection, asking it once; a later try asks again', async () => {
    let asked = 0;
    const factory = Object.assign(counted(() => ({ a: 1 })), {
      resolveAsync: (): Promise<object> => {
        asked++;
        throw new Error('no reader');
      },
    });
    const p = proxy(factory);
    const first = resolveAsync(p);
    await expect(first).rejects.toBeInstanceOf(ProxyResolveError);
    await expect(first).rejects.toThrow(/no reader/);
    expect(asked).toBe(1);
    await expect(resolveAsync(p)).rejects.toThrow(/no reader/);
    expect([asked, factory.calls]).toEqual([2, 0]);
  });

  it('resolveAsync uses factory.resolveAsync and never calls the blocking factory', async () => {
    const target = { a: 1 };
    const factory = Object.assign(counted(() => target), {
      resolveAsync: () => Promise.resolve(target),
    });
    const p = proxy(factory);
    await expect(resolveAsync(p)).resolves.toBe(target);
    expect(isResolved(p)).toBe(true);
    expect(p.a).toBe(1);
    expect(factory.calls).toBe(0);
  });

  it('shares one in-flight resolution between concurrent calls', async () => {
    let asyncCalls = 0;
    const factory = Object.assign(() => ({ a: 0 }), {
      resolveAsync: async () => {
        asyncCalls++;
        await new Promise((done) => setTimeout(done, 5));
        return { a: 1 };
      },
    });
    const p = proxy(factory);
    const first = resolveAsync(p);
    const second = resolveAsync(p);
    expect(second).toBe(first);
    const [a, b] = await Promise.all([first, second]);
    expect(a).toBe(b);
    expect(asyncCalls).toBe(1);
  });

  it('falls back to calling the factory when it has no resolveAsync', async () => {
    const factory = counted(() => ({ a: 1 }));
    const p = proxy(factory);
    expect((await resolveAsync(p)).a).toBe(1);
    expect(factory.calls).toBe(1);
  });

  it('rejects with ProxyResolveError and retries on the next call', async () => {
    let fail = true;
    const factory = Object.assign(() => ({ a: 0 }), {
      resolveAsync: () => (fail ? Promise.reject(new Error('offline')) : Promise.resolve({ a: 1 })),
      key: 'k1',
    });
    const p = proxy(factory);
    await expect(resolveAsync(p)).rejects.toThrow(ProxyResolveError);
    await expect(resolveAsync(p)).rejects.toThrow(/"k1".*offline/);
    fail = false;
    await expect(resolveAsync(p)).resolves.toEqual({ a: 1 });
  });

  it('turns a synchronous throw of a factory without resolveAsync into a rejection that is not cached', async () => {
    let fail = true;
    const p = proxy(() => {
      if (fail) throw new Error('sync failure');
      return { a: 1 };
    });
    const pending = resolveAsync(p);
    await expect(pending).rejects.toThrow(ProxyResolveError);
    fail = false;
    await expect(resolveAsync(p)).resolves.toEqual({ a: 1 });
  });

  it('keeps the target of a synchronous resolution that finished first', async () => {
    const factory = Object.assign(() => ({ from: 'sync' }), {
      resolveAsync: () => Promise.resolve({ from: 'async' }),
    });
    const p = proxy(factory);
    const pending = resolveAsync(p);
    const syncTarget = resolve(p);
    expect(await pending).toBe(syncTarget);
    expect(p.from).toBe('sync');
  });
});

describe('introspection', () => {
  it('isProxy tells our proxies from everything else without resolving', () => {
    const factory = counted(() => ({}));
    const p = proxy(factory);
    expect(isProxy(p)).toBe(true);
    for (const other of [{}, [], () => 1, null, undefined, 3, 'x', new globalThis.Proxy({}, {}), new globalThis.Proxy({}, { get: () => 'any key' }), Object.create(p) as object]) {
      expect(isProxy(other)).toBe(false);
    }
    const revocable = globalThis.Proxy.revocable({}, {});
    revocable.revoke();
    expect(isProxy(revocable.proxy)).toBe(false);
    expect(factory.calls).toBe(0);
  });

  it('getFactory, getKey and getMetadata answer without resolving', () => {
    const factory = counted(() => new Float64Array(4), 'abc');
    const metadata = { kind: 'object', typeName: 'Float64Array', thenable: false } as const;
    const p = proxy(factory, { metadata });
    expect(getFactory(p)).toBe(factory);
    expect(getKey(p)).toBe('abc');
    expect(getMetadata(p)).toBe(metadata);
    expect(factory.calls).toBe(0);
  });

  it('assumes a plain object when an unpopulated proxy has no metadata', () => {
    expect(getMetadata(proxy(() => ({})))).toEqual({ kind: 'object' });
  });

  it('describes a populated proxy from its target', () => {
    expect(getMetadata(proxy(() => new Map(), { target: new Map() }))).toEqual({ kind: 'object', typeName: 'Map', thenable: false });
  });

  it('metadataOf computes kind, typeName and thenable from a value', () => {
    class Model {}
    expect(metadataOf(new Model())).toEqual({ kind: 'object', typeName: 'Model', thenable: false });
    expect(metadataOf([1])).toEqual({ kind: 'array', typeName: 'Array', thenable: false });
    expect(metadataOf(() => 1)).toEqual({ kind: 'function', typeName: 'Function', thenable: false });
    expect(metadataOf(Promise.resolve(1))).toEqual({ kind: 'object', typeName: 'Promise', thenable: true });
    expect(metadataOf(Object.create(null) as object)).toEqual({ kind: 'object', thenable: false });
  });

  it('metadataOf refuses primitives, which cannot be proxied', () => {
    expect(() => metadataOf(5 as unknown as object)).toThrow(NonProxiableTypeError);
    expect(() => metadataOf(null as unknown as object)).toThrow(/null/);
  });

  it('metadataOf of a proxy is its metadata, without resolving', () => {
    const factory = counted(() => [1]);
    const metadata = { kind: 'array', typeName: 'Array', thenable: false } as const;
    expect(metadataOf(proxy(factory, { metadata }))).toBe(metadata);
    expect(factory.calls).toBe(0);
  });

  it('throws an InvalidArgumentError naming the problem for values that are not proxies', () => {
    const plain = { a: 1 } as never;
    expect(() => resolve(plain)).toThrow(/resolve\(\) expects a proxy/);
    expect(() => getFactory(plain)).toThrow(InvalidArgumentError);
    expect(() => getKey(plain)).toThrow(InvalidArgumentError);
    expect(() => getMetadata(plain)).toThrow(InvalidArgumentError);
    expect(() => isResolved(plain)).toThrow(/isResolved\(\) expects a proxy/);
    expect(() => resolveAsync(plain)).toThrow(InvalidArgumentError);
  });
});

describe('placeholder chosen by metadata', () => {
  it('answers typeof and Array.isArray without resolving', () => {
    const factory = counted(() => [1]);
    const array = proxy(factory, { metadata: { kind: 'array' } });
    const fn = proxy(counted(() => () => 1), { metadata: { kind: 'function' } });
    const object = proxy(factory);
    expect(Array.isArray(array)).toBe(true);
    expect(typeof array).toBe('object');
    expect(typeof fn).toBe('function');
    expect(Array.isArray(object)).toBe(false);
    expect(typeof object).toBe('object');
    expect(factory.calls).toBe(0);
  });

  it('takes the kind of a populated proxy from its target', () => {
    expect(Array.isArray(proxy(() => [1], { target: [1] }))).toBe(true);
    expect(typeof proxy(() => () => 1, { target: () => 1 })).toBe('function');
  });
});

describe('await', () => {
  // Promise.resolve(x) and `await x` take the same path: both read `x.then`.
  it('returns the proxy itself for a non-thenable target', async () => {
    const p = proxy(() => ({ a: 1 }));
    expect(await Promise.resolve(p)).toBe(p);
  });

  it('does not resolve when metadata says the target is not thenable', async () => {
    const factory = counted(() => ({ a: 1 }));
    const p = proxy(factory, { metadata: { kind: 'object', thenable: false } });
    expect(Reflect.get(p, 'then')).toBeUndefined();
    expect(await Promise.resolve().then(() => p)).toBe(p);
    expect(factory.calls).toBe(0);
  });

  it('awaits a Promise target', async () => {
    const p = proxy(() => Promise.resolve(5), { metadata: { kind: 'object', typeName: 'Promise', thenable: true } });
    expect(await p).toBe(5);
  });

  it('awaits a populated Promise target', async () => {
    const target = Promise.resolve('done');
    expect(await proxy(() => target, { target })).toBe('done');
  });
});

describe('printing', () => {
  it('prints an unresolved proxy from metadata without resolving it', () => {
    const factory = counted(() => new Float64Array(2), 'abc');
    const p = proxy(factory, { metadata: { kind: 'object', typeName: 'Float64Array', thenable: false } });
    expect(inspect(p)).toBe('Proxy<Float64Array> [unresolved, key "abc"]');
    expect(inspect({ nested: p })).toContain('Proxy<Float64Array> [unresolved, key "abc"]');
    expect(factory.calls).toBe(0);
  });

  it('prints the kind when the type is unknown and omits an absent key', () => {
    expect(inspect(proxy(() => [], { metadata: { kind: 'array' } }))).toBe('Proxy<array> [unresolved]');
    expect(inspect(proxy(() => () => 1, { metadata: { kind: 'function' } }))).toBe('Proxy<function> [unresolved]');
  });

  it('prints a resolved proxy as its target', () => {
    const map = new Map([['a', 1]]);
    expect(inspect(proxy(() => map, { target: map }))).toBe(`Proxy<Map> ${inspect(map)}`);
    const p = proxy(() => [1, 2], { metadata: { kind: 'array', typeName: 'Array' } });
    resolve(p);
    expect(inspect(p)).toBe('Proxy<Array> [ 1, 2 ]');
  });
});

it('cannot be structured-cloned (encodeProxies handles crossing threads)', () => {
  const p = proxy(() => ({ a: 1 }), { target: { a: 1 } });
  expect(() => structuredClone(p)).toThrow(/could not be cloned/);
});

