/**
 * Store and executor figures as OpenTelemetry metrics, for apps that already
 * export metrics. The app passes its own meter (`metrics.getMeter(...)` from
 * `@opentelemetry/api`); this package depends on no OpenTelemetry package, so
 * the meter is typed by the few methods used here.
 */
import type { Store } from '../store/store.js';
import type { ExecutorStats } from '../executors/task-stats.js';

type Attributes = Record<string, string>;

/** What `@opentelemetry/api`'s `Observable` is to us: a handle to report values against. */
export type ObservableLike = object;

export interface ObservableResultLike {
  observe(observable: ObservableLike, value: number, attributes?: Attributes): void;
}

/** The part of `@opentelemetry/api`'s `Meter` used here; a real Meter fits it. */
export interface MeterLike {
  createObservableCounter(name: string, options?: { description?: string; unit?: string }): ObservableLike;
  createObservableGauge(name: string, options?: { description?: string; unit?: string }): ObservableLike;
  addBatchObservableCallback(callback: (result: ObservableResultLike) => void, observables: ObservableLike[]): void;
  removeBatchObservableCallback(callback: (result: ObservableResultLike) => void, observables: ObservableLike[]): void;
}

export interface MeterSources {
  readonly stores?: readonly Store[];
  /** By the name reported as the `executor` attribute. */
  readonly executors?: Readonly<Record<string, { stats(): ExecutorStats }>>;
}

/**
 * Reports, at each collection: per store and operation, how many ran, their
 * bytes and their total time (with `metrics: true`), cache hits, misses and
 * objects (always); per executor and task, calls done and failed, calls in
 * flight, and bytes moved by value and by proxy, for arguments and results.
 * Returns a function that stops reporting.
 */
export function observeWithMeter(meter: MeterLike, sources: MeterSources): () => void {
  const stores = sources.stores ?? [];
  const executors = Object.entries(sources.executors ?? {});
  const operations = meter.createObservableCounter('proxystore.store.operations', { description: 'Store operations, by store and operation' });
  const bytes = meter.createObservableCounter('proxystore.store.bytes', { description: 'Bytes moved by store operations', unit: 'By' });
  const time = meter.createObservableCounter('proxystore.store.time', { description: 'Time spent in store operations', unit: 'ms' });
  const lookups = meter.createObservableCounter('proxystore.cache.lookups', { description: 'Store cache lookups, by result (hit or miss)' });
  const cached = meter.createObservableGauge('proxystore.cache.objects', { description: 'Objects in a store cache' });
  const tasks = meter.createObservableCounter('proxystore.executor.tasks', { description: 'Settled task calls, by outcome (done or failed)' });
  const inFlight = meter.createObservableGauge('proxystore.executor.in_flight', { description: 'Task calls not yet settled' });
  const moved = meter.createObservableCounter('proxystore.executor.bytes', {
    description: 'Bytes task calls moved, by part (args or result) and way (value: in the messages; proxy: through a store), as the workers estimated them',
    unit: 'By',
  });
  const observables = [operations, bytes, time, lookups, cached, tasks, inFlight, moved];

  const callback = (result: ObservableResultLike): void => {
    for (const store of stores) {
      const stats = store.stats();
      const storeAttributes = { store: store.name, connector: stats.connector };
      result.observe(lookups, stats.cache.hits, { ...storeAttributes, result: 'hit' });
      result.observe(lookups, stats.cache.misses, { ...storeAttributes, result: 'miss' });
      result.observe(cached, stats.cache.objects, storeAttributes);
      for (const [operation, figures] of Object.entries(stats.metrics ?? {})) {
        const attributes = { ...storeAttributes, operation };
        result.observe(operations, figures.count, attributes);
        result.observe(bytes, figures.totalBytes, attributes);
        result.observe(time, figures.totalMs, attributes);
      }
    }
    for (const [executor, executorStats] of executors) {
      for (const [task, figures] of Object.entries(executorStats.stats())) {
        result.observe(tasks, figures.done, { executor, task, outcome: 'done' });
        result.observe(tasks, figures.failed, { executor, task, outcome: 'failed' });
        result.observe(inFlight, figures.inFlight, { executor, task });
        const { argsByValue, argsByProxy, resultByValue, resultByProxy } = figures.bytes;
        result.observe(moved, argsByValue, { executor, task, part: 'args', way: 'value' });
        result.observe(moved, argsByProxy, { executor, task, part: 'args', way: 'proxy' });
        result.observe(moved, resultByValue, { executor, task, part: 'result', way: 'value' });
        result.observe(moved, resultByProxy, { executor, task, part: 'result', way: 'proxy' });
      }
    }
  };
  meter.addBatchObservableCallback(callback, observables);
  return () => meter.removeBatchObservableCallback(callback, observables);
}
