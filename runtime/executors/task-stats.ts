/**
 * Per-task figures an executor keeps about its own calls: how many started,
 * are in flight, succeeded and failed, how long they took and how much of
 * that went to moving data, as histograms, and the bytes they moved by value
 * and by proxy, so a dashboard can show where time and data go without
 * storing every call.
 */
import type { TaskBytes, TaskTiming } from './task-wire.js';

/** Upper bounds (ms) of the duration histograms' buckets; the last bucket takes everything slower. */
export const DURATION_BUCKETS_MS: readonly number[] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000];

/** What the workers reported of the calls that succeeded, summed. */
export interface WorkerTime {
  /** Calls that reported: workers of older versions do not. */
  readonly calls: number;
  /** Decoding each call and fetching its input proxies. */
  readonly inputMs: number;
  readonly taskMs: number;
  /** Storing proxied results and encoding replies. */
  readonly outputMs: number;
}

/**
 * What the calls that succeeded moved, summed, as their workers estimated it
 * (binary data and strings exactly, other values by a bounded estimate). By
 * value: in the call and reply messages, where a proxy counts as its
 * descriptor. By proxy: the objects behind the input proxies the tasks read,
 * and the results stored for the caller (or into a future) instead of sent.
 */
export interface TaskBytesStats extends TaskBytes {
  /** Calls that reported: workers of older versions do not. */
  readonly calls: number;
}

export interface TaskStats {
  readonly calls: number;
  readonly inFlight: number;
  readonly done: number;
  readonly failed: number;
  /** Sum of the settled calls' durations, from the call to its outcome. */
  readonly totalMs: number;
  /** Settled calls per bucket of `DURATION_BUCKETS_MS`, plus one for slower ones. */
  readonly durations: readonly number[];
  /**
   * Calls whose worker reported its timing, per bucket of `DURATION_BUCKETS_MS`
   * (plus one) by their time in transfer: the whole call less the task itself,
   * so messaging, queueing, fetching inputs and storing the result.
   */
  readonly transfers: readonly number[];
  /** The workers' own split of the time: the rest of `totalMs` went to messaging and queueing. */
  readonly worker: WorkerTime;
  readonly bytes: TaskBytesStats;
}

export type ExecutorStats = Readonly<Record<string, TaskStats>>;

interface Tally {
  calls: number;
  done: number;
  failed: number;
  totalMs: number;
  durations: number[];
  transfers: number[];
  worker: { calls: number; inputMs: number; taskMs: number; outputMs: number };
  bytes: { calls: number; argsByValue: number; argsByProxy: number; resultByValue: number; resultByProxy: number };
}

export class TaskTally {
  readonly #tasks = new Map<string, Tally>();

  /** Counts a call of `task` from now; the function it returns counts its outcome. */
  started(task: string): (ok: boolean, timing?: TaskTiming, bytes?: TaskBytes) => void {
    let tally = this.#tasks.get(task);
    if (tally === undefined) {
      tally = {
        calls: 0,
        done: 0,
        failed: 0,
        totalMs: 0,
        durations: emptyHistogram(),
        transfers: emptyHistogram(),
        worker: { calls: 0, inputMs: 0, taskMs: 0, outputMs: 0 },
        bytes: { calls: 0, argsByValue: 0, argsByProxy: 0, resultByValue: 0, resultByProxy: 0 },
      };
      this.#tasks.set(task, tally);
    }
    const counted = tally;
    counted.calls += 1;
    const t0 = performance.now();
    return (ok, timing, bytes) => {
      const ms = performance.now() - t0;
      if (timing !== undefined) {
        counted.worker.calls += 1;
        counted.worker.inputMs += timing.inputMs;
        counted.worker.taskMs += timing.taskMs;
        counted.worker.outputMs += timing.outputMs;
        // Clocks of two threads or machines: a worker's task time may slightly exceed the caller's whole call.
        countIn(counted.transfers, Math.max(0, ms - timing.taskMs));
      }
      if (bytes !== undefined) {
        counted.bytes.calls += 1;
        counted.bytes.argsByValue += bytes.argsByValue;
        counted.bytes.argsByProxy += bytes.argsByProxy;
        counted.bytes.resultByValue += bytes.resultByValue;
        counted.bytes.resultByProxy += bytes.resultByProxy;
      }
      if (ok) counted.done += 1;
      else counted.failed += 1;
      counted.totalMs += ms;
      countIn(counted.durations, ms);
    };
  }

  snapshot(): ExecutorStats {
    const out: Record<string, TaskStats> = {};
    for (const [task, t] of this.#tasks) {
      out[task] = {
        calls: t.calls,
        inFlight: t.calls - t.done - t.failed,
        done: t.done,
        failed: t.failed,
        totalMs: t.totalMs,
        durations: [...t.durations],
        transfers: [...t.transfers],
        worker: { ...t.worker },
        bytes: { ...t.bytes },
      };
    }
    return out;
  }
}

function emptyHistogram(): number[] {
  return new Array<number>(DURATION_BUCKETS_MS.length + 1).fill(0);
}

function countIn(histogram: number[], ms: number): void {
  const bucket = DURATION_BUCKETS_MS.findIndex((bound) => ms <= bound);
  (histogram[bucket === -1 ? DURATION_BUCKETS_MS.length : bucket] as number) += 1;
}
