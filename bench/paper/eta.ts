/**
 * What each measured call is expected to cost, so that the progress bar's ETA
 * follows time rather than the number of calls. Counting calls made the ETA
 * wrong by 20x on BullMQ: the many 1 kB round trips take milliseconds, the few
 * 100 MB ones seconds each, so a bar that treats them alike runs far ahead of
 * the clock. Only the ratios between calls matter (the bar measures its own
 * rate); the figures are by-value costs measured on a 2-core machine
 * (docs/benchmarks.md, /work/shared/NOTES.md).
 */
import type { EngineName } from './engines.js';

interface CostModel {
  /** Per task, whatever it carries. */
  readonly fixedMs: number;
  /** Per MB carried in and out. */
  readonly msPerMB: number;
  /** Starting and stopping the workers of one application run. */
  readonly startMs: number;
}

const MODELS: Readonly<Record<EngineName, CostModel>> = {
  // piscina round trip by value: 1 kB 0.085 ms, 1 MB 0.53 ms, 10 MB ~10 ms.
  piscina: { fixedMs: 0.1, msPerMB: 1, startMs: 300 },
  // BullMQ + Redis, payload inline: 1 kB 2.6 ms, 1 MB 27.7 ms, 10 MB ~300 ms; workers are processes.
  bullmq: { fixedMs: 2.5, msPerMB: 30, startMs: 1_500 },
};

/** One task carrying `bytes` in and out. */
export function taskCost(engine: EngineName, bytes: number): number {
  const model = MODELS[engine];
  return model.fixedMs + (model.msPerMB * bytes) / 1e6;
}

/** `tasks` tasks of `bytes` each, kept in flight on `workers` workers. */
export function batchCost(engine: EngineName, bytes: number, tasks: number, workers: number): number {
  return (tasks * taskCost(engine, bytes)) / workers;
}

/** One tiled Cholesky run: its workers start, then about nt³/6 tile tasks of three tiles each. */
export function choleskyCost(engine: EngineName, size: number, tile: number, workers: number): number {
  const tiles = size / tile;
  const tasks = (tiles * (tiles + 1) * (tiles + 2)) / 6;
  return MODELS[engine].startMs + batchCost(engine, 3 * tile * tile * 8, tasks, workers);
}
