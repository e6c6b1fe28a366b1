import { describe, expectTypeOf, test } from 'vitest';
import {
  decodeProxies,
  encodeProxies,
  extract,
  getOrCreateStore,
  getStore,
  type ContextLifetime,
  type Encoded,
  type Key,
  type Proxy,
  type Store,
  type StoreFactory,
  type StoreHandle,
} from '../../src/index.js';
import { resultArray } from '../../runtime/executors/piscina.js';
import type { Dog, Model } from './model.js';

declare const store: Store;
declare const key: Key;
declare const keys: Key[];
declare const plain: Model;
declare const maybe: Model | undefined;

describe('store.proxy', () => {
  test('gives Proxy<T> of what it was given', async () => {
    expectTypeOf(await store.proxy({} as Model)).toEqualTypeOf<Proxy<Model>>();
    expectTypeOf(await store.proxy([1, 2])).toEqualTypeOf<Proxy<number[]>>();
    expectTypeOf(await store.proxy(new Float64Array(2))).toEqualTypeOf<Proxy<Float64Array<ArrayBuffer>>>();
    expectTypeOf(await store.proxy((x: number) => x * 2)).toEqualTypeOf<Proxy<(x: number) => number>>();
    const p = await store.proxy({ weights: [1, 2], name: 'm' });
    expectTypeOf(p.weights).toEqualTypeOf<number[]>();
    expectTypeOf(extract(p)).toEqualTypeOf<{ weights: number[]; name: string }>();
  });

  test('refuses primitives', () => {
    // @ts-expect-error a number is not proxiable
    void store.proxy(5);
    // @ts-expect-error nor is a string
    void store.proxy('text');
    // @ts-expect-error nor null
    void store.proxy(null);
    // @ts-expect-error nor a union that may be a primitive
    void store.proxy(maybe);
  });

  test('proxyBatch keeps each element type, tuples as tuples', async () => {
    expectTypeOf(await store.proxyBatch([] as Model[])).toEqualTypeOf<Proxy<Model>[]>();
    expectTypeOf(await store.proxyBatch([] as readonly Model[])).toEqualTypeOf<Proxy<Model>[]>();
    const [m, d] = await store.proxyBatch([{} as Model, {} as Dog]);
    expectTypeOf(m).toEqualTypeOf<Proxy<Model>>();
    expectTypeOf(d).toEqualTypeOf<Proxy<Dog>>();
    // @ts-expect-error primitives are refused here too
    void store.proxyBatch([plain, 5]);
  });
});

describe('reading by key', () => {
  test('get and getBatch give what the caller states, or unknown', async () => {
    expectTypeOf(await store.get<Model>(key)).toEqualTypeOf<Model | undefined>();
    expectTypeOf(await store.get(key)).toEqualTypeOf<unknown>();
    expectTypeOf(await store.getBatch<Model>(keys)).toEqualTypeOf<(Model | undefined)[]>();
    expectTypeOf(store.getSync<Dog>(key)).toEqualTypeOf<Dog | undefined>();
  });

  test('proxyFromKey requires T', () => {
    expectTypeOf(store.proxyFromKey<Model>(key)).toEqualTypeOf<Proxy<Model>>();
    expectTypeOf(store.proxyFromKey<number[]>(key, { metadata: { kind: 'array' } })).toEqualTypeOf<Proxy<number[]>>();
    // @ts-expect-error nothing says what the key holds: T must be stated
    store.proxyFromKey(key);
    // @ts-expect-error nor can T be a primitive
    store.proxyFromKey<number>(key);
  });
});

describe('encodeProxies / decodeProxies', () => {
  test('round trip the shape', async () => {
    const value = { model: await store.proxy({} as Model), list: [await store.proxy({} as Dog)], n: 1 };
    type Value = typeof value;
    const encoded = encodeProxies(value);
    expectTypeOf(encoded).toEqualTypeOf<Encoded<Value>>();
    expectTypeOf(structuredClone(encoded)).toEqualTypeOf<Encoded<Value>>();
    const decoded = decodeProxies(structuredClone(encoded));
    expectTypeOf(decoded).toEqualTypeOf<{ model: Proxy<Model>; list: Proxy<Dog>[]; n: number }>();
  });

  test('an encoded value is opaque until decoded', () => {
    const encoded = encodeProxies({ model: {} as Proxy<Model> });
    // @ts-expect-error the descriptor is not a Model
    void encoded.model;
    expectTypeOf<Encoded<{ a: Proxy<Dog> }>>().not.toExtend<Encoded<{ a: Proxy<Model> }>>();
  });

  test('values from elsewhere decode to unknown', () => {
    expectTypeOf(decodeProxies(JSON.parse('{}') as unknown)).toEqualTypeOf<unknown>();
  });
});

describe('store.allocate and resultArray', () => {
  test('give back the typed array of the constructor passed', () => {
    expectTypeOf(store.allocate(Float64Array, 3)).toEqualTypeOf<Float64Array>();
    expectTypeOf(store.allocate(Uint8Array, 3)).toEqualTypeOf<Uint8Array>();
    expectTypeOf(resultArray(BigInt64Array, 3)).toEqualTypeOf<BigInt64Array>();
  });

  test('refuse what is not a typed array constructor', () => {
    // @ts-expect-error DataView has no elements to allocate
    store.allocate(DataView, 3);
    // @ts-expect-error an Array is not binary data
    store.allocate(Array, 3);
  });
});

describe('StoreHandle, the narrow face of a store', () => {
  test('a Store is one, and the lower layers hand out only that much', () => {
    expectTypeOf<Store>().toExtend<StoreHandle>();
    expectTypeOf<ContextLifetime['store']>().toEqualTypeOf<StoreHandle>();
    expectTypeOf<StoreFactory<Model>['store']>().toEqualTypeOf<StoreHandle>();
    expectTypeOf<StoreHandle>().not.toHaveProperty('proxy');
  });

  test('the registry\'s public lookups still give the class', () => {
    expectTypeOf(getStore('name')).toEqualTypeOf<Store | undefined>();
    expectTypeOf(getOrCreateStore(store.config())).toEqualTypeOf<Store>();
  });
});
