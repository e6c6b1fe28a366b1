/* eslint-disable @typescript-eslint/no-unsafe-call -- the @ts-expect-error lines call methods a read-only view lacks */
import { describe, expectTypeOf, test } from 'vitest';
import { extract, isProxy, type OwnedProxy, type Proxy, type RefMutProxy, type RefProxy } from '../../src/index.js';
import type { Model } from './model.js';

interface Doc {
  title: string;
  tags: string[];
  meta: { created: Date; counts: Map<string, number> };
}

declare function mutate(doc: Doc): void;
declare function sum(values: number[]): number;
declare function sumAny(values: readonly number[]): number;

describe('OwnedProxy and RefMutProxy', () => {
  test('read and write like Proxy<T>', () => {
    const owned = {} as OwnedProxy<Doc>;
    owned.title = 'new';
    owned.tags.push('x');
    mutate(owned);
    const borrowed = {} as RefMutProxy<number[]>;
    borrowed.push(1);
    borrowed[0] = 2;
    expectTypeOf(sum(borrowed)).toEqualTypeOf<number>();
  });

  test('are proxies, but a plain proxy is neither', () => {
    expectTypeOf<OwnedProxy<Doc>>().toExtend<Proxy<Doc>>();
    expectTypeOf<RefMutProxy<Doc>>().toExtend<Proxy<Doc>>();
    expectTypeOf<Proxy<Doc>>().not.toExtend<OwnedProxy<Doc>>();
    expectTypeOf<Proxy<Doc>>().not.toExtend<RefMutProxy<Doc>>();
    expectTypeOf(extract({} as OwnedProxy<Doc>)).toEqualTypeOf<Doc>();
  });

  test('the kinds do not convert into each other implicitly', () => {
    expectTypeOf<OwnedProxy<Doc>>().not.toExtend<RefMutProxy<Doc>>();
    expectTypeOf<OwnedProxy<Doc>>().not.toExtend<RefProxy<Doc>>();
    expectTypeOf<RefMutProxy<Doc>>().not.toExtend<OwnedProxy<Doc>>();
    expectTypeOf<RefMutProxy<Doc>>().not.toExtend<RefProxy<Doc>>();
    expectTypeOf<RefProxy<Doc>>().not.toExtend<OwnedProxy<Doc>>();
    expectTypeOf<RefProxy<Doc>>().not.toExtend<RefMutProxy<Doc>>();
  });
});

describe('RefProxy is a read-only view', () => {
  const doc = {} as RefProxy<Doc>;

  test('reads everything', () => {
    expectTypeOf(doc.title).toEqualTypeOf<string>();
    expectTypeOf(doc.tags[0]).toEqualTypeOf<string | undefined>();
    expectTypeOf(doc.tags.map((t) => t.length)).toEqualTypeOf<number[]>();
    expectTypeOf(doc.meta.created.getTime()).toEqualTypeOf<number>();
    expectTypeOf(doc.meta.counts.get('a')).toEqualTypeOf<number | undefined>();
    expectTypeOf(sumAny({} as RefProxy<number[]>)).toEqualTypeOf<number>();
  });

  test('refuses assignment at any depth', () => {
    // @ts-expect-error read-only property
    doc.title = 'new';
    // @ts-expect-error read-only nested property
    doc.meta.created = new Date();
    // @ts-expect-error read-only array element
    doc.tags[0] = 'x';
  });

  test('has no mutating methods on arrays, Maps, Sets, typed arrays and Dates', () => {
    // @ts-expect-error arrays become readonly arrays
    doc.tags.push('x');
    // @ts-expect-error splice mutates
    doc.tags.splice(0, 1);
    // @ts-expect-error sort mutates in place
    doc.tags.sort();
    // @ts-expect-error Maps become ReadonlyMaps
    doc.meta.counts.set('a', 1);
    // @ts-expect-error delete mutates
    doc.meta.counts.delete('a');
    // @ts-expect-error clear mutates
    doc.meta.counts.clear();
    const set = {} as RefProxy<Set<string>>;
    expectTypeOf(set.has('a')).toEqualTypeOf<boolean>();
    // @ts-expect-error Sets become ReadonlySets
    set.add('a');
    const floats = {} as RefProxy<Float64Array>;
    expectTypeOf(floats[0]).toEqualTypeOf<number | undefined>();
    expectTypeOf(floats.subarray(1)).toEqualTypeOf<Float64Array<ArrayBufferLike>>();
    // @ts-expect-error typed arrays lose fill/set/sort/reverse/copyWithin
    floats.fill(0);
    // @ts-expect-error set writes into the array
    floats.set([1]);
    // @ts-expect-error and index assignment
    floats[0] = 1;
    // @ts-expect-error Dates lose their setters
    doc.meta.created.setFullYear(2000);
  });

  test('cannot be passed where a mutable array, Map or Set is required', () => {
    // @ts-expect-error readonly number[] is not number[]
    sum({} as RefProxy<number[]>);
    expectTypeOf<RefProxy<number[]>>().not.toExtend<number[]>();
    expectTypeOf<RefProxy<Map<string, number>>>().not.toExtend<Map<string, number>>();
    expectTypeOf<RefProxy<Set<string>>>().not.toExtend<Set<string>>();
    expectTypeOf<RefProxy<Float64Array>>().not.toExtend<Float64Array>();
    // @ts-expect-error a nested array makes the whole object incompatible
    mutate(doc);
  });

  test('limit: a plain object with only scalar properties still fits a mutable parameter', () => {
    // TypeScript ignores `readonly` in assignability; this pins the documented limit.
    expectTypeOf<RefProxy<{ a: number }>>().toExtend<{ a: number }>();
  });

  test('keeps the view through extract and isProxy', () => {
    expectTypeOf(extract({} as RefProxy<number[]>)).toEqualTypeOf<readonly number[]>();
    const either = {} as RefProxy<Model> | Model;
    if (isProxy(either)) expectTypeOf(either.weights).toEqualTypeOf<readonly number[]>();
  });
});
