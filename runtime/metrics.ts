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

export class Metrics {
  readonly #tallies = new Map<string, Tally>();

  record(operation: string, ms: number, bytes = 0): void {
    let tally = this.#tallies.get(operation);
    if (tally === undefined) {
      tally = { count: 0, totalMs: 0, totalBytes: 0 };
      this.#tallies.set(operation, tally);
    }
    tally.count += 1;
    tally.totalMs += ms;
    tally.totalBytes += bytes;
  }

  snapshot(): MetricsSnapshot {
    const out: Record<string, OperationMetrics> = {};
    for (const [operation, t] of this.#tallies) {
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
  }
}
