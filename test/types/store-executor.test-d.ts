import { describe, expectTypeOf, test } from 'vitest';
import { StoreExecutor, extract, isProxy, type Proxy, type ProxyOr } from '../../src/index.js';
import type { Model } from './model.js';

interface Tasks {
  scale(values: Float64Array, by: number): Float64Array;
  train(data: Float64Array): Promise<Model>;
  count(values: Float64Array): number;
  find(name: string): Model | undefined;
}

declare const executor: StoreExecutor<Tasks>;
declare const values: Float64Array;

describe('StoreExecutor results are typed as what comes back at run time', () => {
  test('an object result may be a proxy: ProxyOr<T>, which extract takes', async () => {
    const scaled = await executor.submit('scale', values, 2);
    expectTypeOf(scaled).toEqualTypeOf<ProxyOr<Float64Array>>();
    expectTypeOf(extract(scaled)).toEqualTypeOf<Float64Array>();
    expectTypeOf(scaled.length).toEqualTypeOf<number>();
    if (isProxy(scaled)) expectTypeOf(scaled).toEqualTypeOf<Proxy<Float64Array>>();
    const model = await executor.run('train', [values]);
    expectTypeOf(model).toEqualTypeOf<ProxyOr<Model>>();
    expectTypeOf(extract(model)).toEqualTypeOf<Model>();
  });

  test('primitives always come by value; an optional object stays optional', async () => {
    expectTypeOf(await executor.submit('count', values)).toEqualTypeOf<number>();
    expectTypeOf(await executor.submit('find', 'resnet')).toEqualTypeOf<ProxyOr<Model> | undefined>();
    expectTypeOf(await executor.map('count', [[values]])).toEqualTypeOf<number[]>();
    expectTypeOf(await executor.map('scale', [[values, 1]])).toEqualTypeOf<ProxyOr<Float64Array>[]>();
  });

  test('a proxy argument is accepted wherever the task takes the value', () => {
    void executor.submit('scale', {} as Proxy<Float64Array>, 2);
    // @ts-expect-error the task takes a number
    void executor.submit('scale', values, 'two');
  });
});
