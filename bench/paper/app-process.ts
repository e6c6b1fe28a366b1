/**
 * The bench's tiled Cholesky runs, in a process of their own: `measureApp`
 * starts this module with the runs' options as JSON and reads back one JSON
 * line per run (`AppLine`), the last with every run's time.
 *
 * Why a process of its own: the round trips before it leave the process's
 * malloc serving new arrays from memory already touched (glibc raises its
 * mmap threshold when big blocks are freed, and worker threads reuse the
 * arenas of terminated ones). Measured on the dev VM, 10 factorizations of
 * each way: by value faulted in about 14,000 pages per factorization in a
 * fresh process and 2,500 after the round trips, by proxy 4,000–6,500 either
 * way, and value ÷ proxy fell from 1.01–1.03x to 0.97–1.00x. An application
 * that factorizes matrices starts as this process does.
 */
import { runExample, type ExampleResult } from '../../examples/tiled-cholesky/run.js';

export interface AppRuns {
  readonly engine: 'piscina' | 'bullmq';
  readonly size: number;
  readonly tile: number;
  readonly workers: number;
  readonly reps: number;
  readonly redis?: string;
}

export interface AppTimes {
  /** Milliseconds per factorization, by way, in the order run. */
  readonly value: number[];
  readonly proxy: number[];
  readonly tasks: number;
  /** Both ways gave the same factor, bit for bit, in every repetition. */
  readonly identical: boolean;
}

/** What this process writes, a line each: after every run, its way; at the end, every time. */
export type AppLine = { readonly ran: 'value' | 'proxy' } | { readonly times: AppTimes };

function say(line: AppLine): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function runBothWays(runs: AppRuns): Promise<AppTimes> {
  const { reps, ...common } = runs;
  const times: Pick<AppTimes, 'value' | 'proxy'> = { value: [], proxy: [] };
  let tasks = 0;
  let identical = true;
  for (let rep = 0; rep < reps; rep++) {
    // Each run starts and stops its own workers; only the factorization itself is timed.
    // Each way goes first in every other repetition, so that neither always runs in the wake of the other (its garbage, its workers' teardown).
    const order = rep % 2 === 0 ? (['value', 'proxy'] as const) : (['proxy', 'value'] as const);
    const results: Partial<Record<'value' | 'proxy', ExampleResult>> = {};
    for (const mode of order) {
      const result = await runExample({ ...common, mode });
      results[mode] = result;
      times[mode].push(result.ms);
      say({ ran: mode });
    }
    const { value, proxy } = results as Record<'value' | 'proxy', ExampleResult>;
    tasks = value.tasks;
    identical &&= Buffer.from(value.result.buffer).equals(Buffer.from(proxy.result.buffer));
  }
  return { ...times, tasks, identical };
}

say({ times: await runBothWays(JSON.parse(process.argv[2] ?? '') as AppRuns) });
