import { describe, expectTypeOf, test } from 'vitest';
import { extract, isProxy, resolve, resolveAsync, type Proxy, type ProxyBrand, type ProxyOr, type Unproxied } from '../../src/index.js';
import type { Animal, Dog, Model, Scorer, Table } from './model.js';

declare const model: Proxy<Model>;

describe('Proxy<T> keeps every member of T', () => {
  test('properties, getters and readonly', () => {
    expectTypeOf(model.name).toEqualTypeOf<string>();
    expectTypeOf(model.size).toEqualTypeOf<number>();
    expectTypeOf(model.weights).toEqualTypeOf<number[]>();
    model.weights = [1];
    // @ts-expect-error readonly in Model, readonly through the proxy
    model.name = 'renamed';
    // @ts-expect-error a getter without a setter
    model.size = 3;
  });

  test('generic methods stay generic, overloads stay overloaded', () => {
    expectTypeOf(model.map((w) => w > 0)).toEqualTypeOf<boolean[]>();
    expectTypeOf(model.map((w) => String(w))).toEqualTypeOf<string[]>();
    expectTypeOf<Proxy<Model>['map']>().toEqualTypeOf<Model['map']>();
    expectTypeOf(model.parse('1')).toEqualTypeOf<number>();
    expectTypeOf(model.parse(1)).toEqualTypeOf<string>();
  });

  test('call, construct and index signatures', () => {
    const scorer = {} as Proxy<Scorer>;
    expectTypeOf(scorer('text')).toEqualTypeOf<number>();
    expectTypeOf(scorer.scale).toEqualTypeOf<number>();
    const ctor = {} as Proxy<typeof Model>;
    expectTypeOf(new ctor('m')).toEqualTypeOf<Model>();
    expectTypeOf<Proxy<typeof Model>['same']>().toEqualTypeOf<typeof Model.same>();
    const table = {} as Proxy<Table>;
    expectTypeOf(table['any key']).toEqualTypeOf<number | undefined>();
    const list = {} as Proxy<number[]>;
    expectTypeOf(list[0]).toEqualTypeOf<number | undefined>();
    expectTypeOf(list.push(1)).toEqualTypeOf<number>();
    expectTypeOf([...list]).toEqualTypeOf<number[]>();
  });

  test('usable wherever T is read; a plain T is not a proxy', () => {
    expectTypeOf<Proxy<Model>>().toExtend<Model>();
    expectTypeOf(Model_same(model, model)).toEqualTypeOf<boolean>();
    expectTypeOf<Model>().not.toExtend<Proxy<Model>>();
    expectTypeOf<Proxy<Model>>().toExtend<ProxyBrand<Model>>();
  });

  test('covariant in T', () => {
    expectTypeOf<Proxy<Dog>>().toExtend<Proxy<Animal>>();
    expectTypeOf<Proxy<Animal>>().not.toExtend<Proxy<Dog>>();
    expectTypeOf<Proxy<Dog>>().not.toExtend<Proxy<Model>>();
  });

  test('unknown members are errors', () => {
    // @ts-expect-error Model has no `nope`
    void model.nope;
  });
});

declare function Model_same(a: Model, b: Model): boolean;

describe('ProxyOr<T> and isProxy', () => {
  test('accepts the value or its proxy', () => {
    expectTypeOf<Model>().toExtend<ProxyOr<Model>>();
    expectTypeOf<Proxy<Model>>().toExtend<ProxyOr<Model>>();
    expectTypeOf<Proxy<Animal>>().not.toExtend<ProxyOr<Model>>();
  });

  test('narrows ProxyOr<T> both ways', () => {
    const x = {} as ProxyOr<Model>;
    if (isProxy(x)) expectTypeOf(x).toEqualTypeOf<Proxy<Model>>();
    else expectTypeOf(x).toEqualTypeOf<Model>();
  });

  test('narrows unions, dropping primitives', () => {
    const x = {} as Model | Proxy<Dog> | number | undefined;
    if (isProxy(x)) expectTypeOf(x).toEqualTypeOf<Proxy<Model> | Proxy<Dog>>();
    else expectTypeOf(x).toEqualTypeOf<Model | number | undefined>();
  });

  test('a plain T becomes Proxy<T>; unknown becomes Proxy<unknown>', () => {
    const plain = {} as Model;
    if (isProxy(plain)) expectTypeOf(plain).toEqualTypeOf<Proxy<Model>>();
    const value: unknown = plain;
    if (isProxy(value)) expectTypeOf(value).toEqualTypeOf<Proxy<unknown>>();
  });

  test('narrows inside generic code', () => {
    // expect-type cannot compare types that still hold a type parameter, so the narrowed type is assigned instead.
    function touch<T extends object>(x: ProxyOr<T>): Unproxied<T> | T {
      if (isProxy(x)) {
        const asProxy: Proxy<T> = x;
        return extract(asProxy);
      }
      return x;
    }
    expectTypeOf(touch(model)).toEqualTypeOf<Model>();
    expectTypeOf(touch({} as Model)).toEqualTypeOf<Model>();
  });
});

describe('extract and resolve', () => {
  test('give the target type', () => {
    expectTypeOf(extract(model)).toEqualTypeOf<Model>();
    expectTypeOf(resolve(model)).toEqualTypeOf<Model>();
    expectTypeOf(resolveAsync(model)).toEqualTypeOf<Promise<Model>>();
    expectTypeOf(extract({} as Proxy<number[]>)).toEqualTypeOf<number[]>();
  });

  test('strip proxies nested in the target', () => {
    const nested = {} as Proxy<{ inner: Proxy<Model>; list: Proxy<Dog>[] }>;
    expectTypeOf(extract(nested)).toEqualTypeOf<{ inner: Model; list: Dog[] }>();
  });

  test('resolve refuses values that are not proxies; extract passes them through', () => {
    // @ts-expect-error a plain Model is not a proxy
    resolve({} as Model);
    // @ts-expect-error nor is a primitive
    resolve(5);
    expectTypeOf(extract({} as Model)).toEqualTypeOf<Model>();
    expectTypeOf(extract({} as ProxyOr<Model>)).toEqualTypeOf<Model>();
  });
});

describe('Unproxied<T>', () => {
  interface A {
    a: number;
  }
  interface B {
    b: string;
  }

  test('unwraps proxies', () => {
    expectTypeOf<Unproxied<Proxy<A>>>().toEqualTypeOf<A>();
    expectTypeOf<Unproxied<ProxyOr<A>>>().toEqualTypeOf<A>();
    expectTypeOf<Unproxied<Proxy<A> | B | null>>().toEqualTypeOf<A | B | null>();
  });

  test('through arrays and tuples, keeping readonly and optional elements', () => {
    expectTypeOf<Unproxied<Proxy<A>[]>>().toEqualTypeOf<A[]>();
    expectTypeOf<Unproxied<readonly Proxy<A>[]>>().toEqualTypeOf<readonly A[]>();
    expectTypeOf<Unproxied<[Proxy<A>, B, number]>>().toEqualTypeOf<[A, B, number]>();
    expectTypeOf<Unproxied<readonly [Proxy<A>, Proxy<B>?]>>().toEqualTypeOf<readonly [A, B?]>();
    expectTypeOf<Unproxied<[first: Proxy<A>, ...rest: Proxy<B>[]]>>().toEqualTypeOf<[A, ...B[]]>();
  });

  test('through objects, keeping modifiers', () => {
    type In = { a: Proxy<A>; readonly b?: { c: Proxy<B>[] }; d: string };
    expectTypeOf<Unproxied<In>>().toEqualTypeOf<{ a: A; readonly b?: { c: B[] }; d: string }>();
  });

  test('through Promises, Maps and Sets', () => {
    expectTypeOf<Unproxied<Promise<Proxy<A>>>>().toEqualTypeOf<Promise<A>>();
    expectTypeOf<Unproxied<Promise<{ x: Proxy<A>[] }>>>().toEqualTypeOf<Promise<{ x: A[] }>>();
    expectTypeOf<Unproxied<Map<Proxy<B>, Proxy<A>>>>().toEqualTypeOf<Map<B, A>>();
    expectTypeOf<Unproxied<ReadonlyMap<string, Proxy<A>>>>().toEqualTypeOf<ReadonlyMap<string, A>>();
    expectTypeOf<Unproxied<Set<Proxy<A>>>>().toEqualTypeOf<Set<A>>();
    expectTypeOf<Unproxied<ReadonlySet<Proxy<A>>>>().toEqualTypeOf<ReadonlySet<A>>();
  });

  test('leaves types without proxies as they are', () => {
    expectTypeOf<Unproxied<Model>>().toEqualTypeOf<Model>();
    expectTypeOf<Unproxied<Model[]>>().toEqualTypeOf<Model[]>();
    expectTypeOf<Unproxied<Date>>().toEqualTypeOf<Date>();
    expectTypeOf<Unproxied<Float64Array>>().toEqualTypeOf<Float64Array>();
    expectTypeOf<Unproxied<string>>().toEqualTypeOf<string>();
    expectTypeOf<Unproxied<(x: Proxy<A>) => void>>().toEqualTypeOf<(x: Proxy<A>) => void>();
    expectTypeOf<Unproxied<unknown>>().toEqualTypeOf<unknown>();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    expectTypeOf<Unproxied<any>>().toBeAny();
    // An `any` member must not read as "may hold a proxy": mapping the class would drop its private field.
    class Loose {
      #id = 0;
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      extra: any = this.#id;
    }
    expectTypeOf<Unproxied<Loose>>().toEqualTypeOf<Loose>();
  });

  test('terminates on recursive types', () => {
    interface Node {
      value: Proxy<A>;
      next: Node | null;
    }
    expectTypeOf<Unproxied<Node>['value']>().toEqualTypeOf<A>();
    expectTypeOf<NonNullable<Unproxied<Node>['next']>['value']>().toEqualTypeOf<A>();
  });

  test('is a supertype of its argument (sound for what extract returns)', () => {
    expectTypeOf<{ a: Proxy<A>[] }>().toExtend<Unproxied<{ a: Proxy<A>[] }>>();
  });
});
