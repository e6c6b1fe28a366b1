/**
 * Per-task figures an executor keeps about its own calls: how many started,
 * are in flight, succeeded and failed, and how long they took, as a
 * histogram, so a dashboard can show where time goes without storing every call.
 */
import type { TaskTiming } from './task-wire.js';

/** Upper bounds (ms) of the duration histogram's buckets; the last bucket takes everything slower. */
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

export interface TaskStats {
  readonly calls: number;
  readonly inFlight: number;
  readonly done: number;
  readonly failed: number;
  /** Sum of the settled calls' durations, from the call to its outcome. */
  readonly totalMs: number;
  /** Settled calls per bucket of `DURATION_BUCKETS_MS`, plus one for slower ones. */
  readonly durations: readonly number[];
  /** The workers' own split of the time: the rest of `totalMs` went to messaging and queueing. */
  readonly worker: WorkerTime;
}

export type ExecutorStats = Readonly<Record<string, TaskStats>>;

interface Tally {
  calls: number;
  done: number;
  failed: number;
  totalMs: number;
  durations: number[];
  worker: { calls: number; inputMs: number; taskMs: number; outputMs: number };
}


export class TaskTally {
  readonly #tasks = new Map<string, Tally>();

  /** Counts a call of `task` from now; the function it returns counts its outcome. */
  started(task: string): (ok: boolean, timing?: TaskTiming) => void {
    let tally = this.#tasks.get(task);
    if (tally === undefined) {
      tally = {
        calls: 0,
        done: 0,
        failed: 0,
        totalMs: 0,
        durations: new Array<number>(DURATION_BUCKETS_MS.length + 1).fill(0),
        worker: { calls: 0, inputMs: 0, taskMs: 0, outputMs: 0 },
      };
      this.#tasks.set(task, tally);
    }
    const counted = tally;
    counted.calls += 1;
    const t0 = performance.now();
    return (ok, timing) => {
      const ms = performance.now() - t0;
      if (timing !== undefined) {
        counted.worker.calls += 1;
        counted.worker.inputMs += timing.inputMs;
        counted.worker.taskMs += timing.taskMs;
        counted.worker.outputMs += timing.outputMs;
      }
      if (ok) counted.done += 1;
      else counted.failed += 1;
      counted.totalMs += ms;
      const bucket = DURATION_BUCKETS_MS.findIndex((bound) => ms <= bound);
      (counted.durations[bucket === -1 ? DURATION_BUCKETS_MS.length : bucket] as number) += 1;
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
        worker: { ...t.worker },
      };
    }
    return out;
  }
}
