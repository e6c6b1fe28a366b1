import { LRUCache } from 'lru-cache';
import type { Key } from '../connectors/connector.js';
import { keyId } from '../errors.js';

/** Per-operation timing and byte counts for a store; only collected when the store is made with `metrics: true`. */
export interface OperationMetrics {
  readonly count: number;
  readonly totalMs: number;
  readonly meanMs: number;
  readonly totalBytes: number;
  readonly meanBytes: number;
}

export type MetricsSnapshot = Readonly<Record<string, OperationMetrics>>;

interface Tally {
  count: number;
  totalMs: number;
  totalBytes: number;
}

/**
 * Keys whose figures are kept apart, most recently touched first. Bounded so a
 * long-running store that puts millions of objects keeps a fixed amount of
 * metrics, like its cache; the totals still count every operation.
 */
const KEYS_TRACKED = 10_000;

export class Metrics {
  readonly #tallies = new Map<string, Tally>();
  readonly #perKey = new LRUCache<string, Map<string, Tally>>({ max: KEYS_TRACKED });

  record(operation: string, ms: number, bytes = 0, key?: Key): void {
    add(this.#tallies, operation, ms, bytes);
    if (key === undefined) return;
    const id = keyId(key);
    let tallies = this.#perKey.get(id);
    if (tallies === undefined) this.#perKey.set(id, (tallies = new Map()));
    add(tallies, operation, ms, bytes);
  }

  /** Totals over every operation, or, given a key, that key's own figures (empty once it dropped out of the tracked keys). */
  snapshot(key?: Key): MetricsSnapshot {
    const tallies = key === undefined ? this.#tallies : this.#perKey.get(keyId(key));
    const out: Record<string, OperationMetrics> = {};
    for (const [operation, t] of tallies ?? []) {
      out[operation] = {
        count: t.count,
        totalMs: t.totalMs,
        meanMs: t.totalMs / t.count,
        totalBytes: t.totalBytes,
        meanBytes: t.totalBytes / t.count,
      };
    }
    return out;
  }

  reset(): void {
    this.#tallies.clear();
    this.#perKey.clear();
  }
}

function add(tallies: Map<string, Tally>, operation: string, ms: number, bytes: number): void {
  let tally = tallies.get(operation);
  if (tally === undefined) tallies.set(operation, (tally = { count: 0, totalMs: 0, totalBytes: 0 }));
  tally.count += 1;
  tally.totalMs += ms;
  tally.totalBytes += bytes;
}

/**
 * Each store's metrics, for the layers that time work on a store's behalf
 * without being the store (a proxy resolving through its factory). A WeakMap
 * here rather than a method on Store keeps those layers below the store.
 */
const owners = new WeakMap<object, Metrics>();

export function attachMetrics(owner: object, metrics: Metrics): void {
  owners.set(owner, metrics);
}

export function metricsOf(owner: object): Metrics | undefined {
  return owners.get(owner);
}
