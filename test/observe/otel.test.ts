import type { Meter } from '@opentelemetry/api';
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { MemoryConnector } from '../../runtime/connectors/memory.js';
import { PiscinaExecutor } from '../../runtime/executors/piscina.js';
import { observeWithMeter, type MeterLike } from '../../runtime/observe/otel.js';
import { Store } from '../../runtime/store/store.js';
import { taskPool, type FixtureTasks } from '../executors/helpers.js';

/** Collects on demand, as an exporter's reader would on its schedule. */
class OnDemandReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

/** name → list of [attributes, value] from one collection. */
function points(collected: ResourceMetrics): Map<string, [Record<string, unknown>, number][]> {
  const out = new Map<string, [Record<string, unknown>, number][]>();
  for (const scope of collected.scopeMetrics) {
    for (const metric of scope.metrics) {
      out.set(
        metric.descriptor.name,
        metric.dataPoints.map((point) => [point.attributes, point.value as number]),
      );
    }
  }
  return out;
}

const closing: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closing.splice(0)) await close();
});

describe('observeWithMeter, with the OpenTelemetry metrics SDK', () => {
  it('a real Meter fits MeterLike', () => {
    expectTypeOf<Meter>().toExtend<MeterLike>();
  });

  it('reports store operations, bytes, cache lookups and executor tasks at each collection, until stopped', async () => {
    const reader = new OnDemandReader();
    const provider = new MeterProvider({ readers: [reader] });
    const store = new Store('otel-store', new MemoryConnector(), { metrics: true });
    const pool = taskPool();
    const executor = new PiscinaExecutor<FixtureTasks>(pool);
    closing.push(() => provider.shutdown(), () => store.close({ clear: true }), () => executor.shutdown().then(() => pool.destroy()));

    const stop = observeWithMeter(provider.getMeter('test'), { stores: [store], executors: { pool: executor } });
    const key = await store.put(new Float64Array(1000));
    await store.get(key);
    await store.get(key);
    expect(await executor.run('sum', [new Float64Array([1, 2, 3])])).toBe(6);
    await expect(executor.run('throws', ['boom'])).rejects.toThrow('boom');

    const first = points((await reader.collect()).resourceMetrics);
    const operations = first.get('proxystore.store.operations') ?? [];
    expect(operations).toContainEqual([{ store: 'otel-store', connector: 'memory', operation: 'put' }, 1]);
    expect(operations).toContainEqual([{ store: 'otel-store', connector: 'memory', operation: 'get' }, 2]);
    const put = (first.get('proxystore.store.bytes') ?? []).find(([attributes]) => attributes['operation'] === 'put');
    expect(put?.[1]).toBeGreaterThanOrEqual(8000);
    expect(first.get('proxystore.cache.lookups')).toContainEqual([{ store: 'otel-store', connector: 'memory', result: 'hit' }, 1]);
    expect(first.get('proxystore.executor.tasks')).toContainEqual([{ executor: 'pool', task: 'sum', outcome: 'done' }, 1]);
    expect(first.get('proxystore.executor.tasks')).toContainEqual([{ executor: 'pool', task: 'throws', outcome: 'failed' }, 1]);
    // The call sent [Float64Array(3)] by value (1 for the list, 24 for the array) and got back a number (8).
    const moved = first.get('proxystore.executor.bytes') ?? [];
    expect(moved).toContainEqual([{ executor: 'pool', task: 'sum', part: 'args', way: 'value' }, 25]);
    expect(moved).toContainEqual([{ executor: 'pool', task: 'sum', part: 'args', way: 'proxy' }, 0]);
    expect(moved).toContainEqual([{ executor: 'pool', task: 'sum', part: 'result', way: 'value' }, 8]);

    // Stopped: a later get is no longer reported (the SDK keeps a cumulative series at its last value).
    stop();
    await store.get(key);
    expect(store.metrics()?.['get']?.count).toBe(3);
    const after = points((await reader.collect()).resourceMetrics);
    expect(after.get('proxystore.store.operations')).not.toContainEqual([{ store: 'otel-store', connector: 'memory', operation: 'get' }, 3]);
  });
});
