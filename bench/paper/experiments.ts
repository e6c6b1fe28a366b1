/**
 * The paper's three experiments (Figs. 3, 4 and 5), each measured by value
 * and by proxy in the same run, the ways taking turns (timeMany) so that
 * drift in machine load hits every way alike.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { AppLine, AppRuns, AppTimes } from './app-process.js';
import { byHand, byProxy, byValue, keepInFlight, payload, type Case } from './cases.js';
import { batchCost, choleskyCost, taskCost } from './eta.js';
import { startEngine, type ConnectorName, type Engine, type EngineName, type Lane } from './engines.js';
import { formatBytes, summarize, type Summary } from './stats.js';
import { timeMany } from '../timing.js';

export interface RoundTripPlan {
  readonly sizes: readonly number[];
  readonly reps: (bytes: number) => number;
}

export interface ThroughputPlan {
  readonly workers: readonly number[];
  readonly tasks: number;
  /** Each task consumes and produces this many bytes (the paper: 1 MB). */
  readonly taskBytes: number;
  readonly reps: number;
}

export interface AppPlan {
  readonly size: number;
  readonly tile: number;
  readonly workers: number;
  readonly reps: number;
}

export interface Plan {
  readonly engine: EngineName;
  /** Calls of each way on every fresh engine before anything is timed (see warmEngine); 0 for none. */
  readonly warmCalls: number;
  readonly connectors: readonly ConnectorName[];
  readonly redis?: string;
  readonly roundTrip?: RoundTripPlan;
  readonly throughput?: ThroughputPlan;
  readonly app?: AppPlan;
}

/** The first calls a fresh engine made, before V8 had optimized them: what a short-lived pool pays. */
export interface ColdStart {
  readonly bytes: number;
  readonly calls: number;
  /** Milliseconds per round trip. */
  readonly value: Summary;
  readonly lanes: readonly { readonly connector: ConnectorName; readonly proxy: Summary; readonly hand: Summary }[];
}

export interface RoundTripRow {
  readonly bytes: number;
  /** Each connector's lane, timed in a pass of its own alongside by value. */
  readonly lanes: readonly RoundTripLane[];
}

/** Milliseconds per round trip of each way, in one pass. */
interface RoundTripLane {
  readonly connector: ConnectorName;
  readonly value: Summary;
  readonly proxy: Summary;
  readonly hand: Summary;
}

export interface ThroughputRow {
  readonly workers: number;
  /** Each connector's lane, timed in a pass of its own alongside by value. */
  readonly lanes: readonly ThroughputLane[];
}

/** Tasks per second of each way, in one pass. */
interface ThroughputLane {
  readonly connector: ConnectorName;
  readonly value: Summary;
  readonly proxy: Summary;
}

export interface AppResult {
  readonly name: 'tiled Cholesky';
  readonly size: number;
  readonly tile: number;
  readonly workers: number;
  readonly tasks: number;
  /** The example picks its own store: shared memory on piscina, Redis on BullMQ. */
  readonly connector: ConnectorName;
  /** Milliseconds per factorization, workers already started. */
  readonly value: Summary;
  readonly proxy: Summary;
  /** Both ways gave the same factor, bit for bit. */
  readonly identical: boolean;
}

/** Reported after every measured call with its expected cost (see main-eta.ts), so a progress bar can follow time; a warm-up reports its calls at once. */
export type Tick = (phase: string, cost: number, calls?: number) => void;

/** Round trips are timed with one worker: a single task at a time, as in the paper's Fig. 3. */
export const ROUND_TRIP_WORKERS = 1;

/**
 * Below 1 MB a round trip is mostly the code that runs per call, and V8
 * optimizes it only after hundreds of calls; the proxy path runs far more
 * code than a clone, so a couple of rounds measured its first, unoptimized
 * calls (on this machine a 1 kB round trip by proxy fell from 758 to 339 µs
 * of CPU over its first 9,000 calls, by value from 251 to 101). Every way
 * gets the same rounds, interleaved as the measured ones are.
 */
const SMALL_PAYLOAD_WARMUP = 300;

/**
 * A round trip's ways take this many turns each, of a tenth of their calls
 * (timeMany). Turns of one call made each way pay for the others' garbage:
 * by value leaves four copies of the payload per call to collect, by proxy
 * and by hand on shared memory none (the pool's memory is reused). On this machine (5 December
 * 2026, 100 kB, two runs of 1,001 calls of each way) by value took 0.204–0.225
 * ms with turns of one call and 0.168–0.178 with turns of 100, by proxy
 * 0.194–0.222 and 0.127–0.132, by hand 0.167–0.184 and 0.089–0.131.
 */
const ROUND_TRIP_TURNS = 10;

/** Warm-up rounds per measurement; the largest payloads are costly enough that one must do. */
function warmupFor(bytes: number): number {
  if (bytes < 1e6) return SMALL_PAYLOAD_WARMUP;
  return bytes >= 1e8 ? 1 : 2;
}

/** Warm-up rounds per throughput measurement. */
const THROUGHPUT_WARMUP = 1;

/**
 * A fresh engine runs the library's code unoptimized for its first thousands
 * of calls, and the proxy path far longer than a clone: medians of 500 calls
 * of 1 kB on one fresh piscina worker (4 December 2026) fell by proxy from
 * 524 to about 210 µs over its first 5,000 calls, by hand from 245 to 135 and
 * by value from 141 to about 100. A pool that serves many calls spends its
 * life in that steady state, so every fresh engine first makes `warmCalls`
 * calls of each way (carrying WARM_BYTES, which runs the same code as any
 * payload), each way for at most WARM_MS: a slow lane (files, BullMQ) stops
 * at the time limit rather than holding the run up. Each payload still gets
 * its own warm-up rounds (warmupFor) for its own memory.
 */
const WARM_BYTES = 1_000;
const WARM_MS = 2_500;
/** The first calls of a fresh engine whose median is reported apart (ColdStart). */
const COLD_CALLS = 300;

/** Expected cost of warming one way on one engine: the bar's share for it. */
function warmCost(plan: Plan): number {
  return Math.min(plan.warmCalls * taskCost(plan.engine, WARM_BYTES), WARM_MS);
}

/**
 * Calls each of `ways` `calls` times (or for WARM_MS), `inFlight` at a time so
 * that every worker warms; returns the milliseconds of each way's first
 * COLD_CALLS calls (timed only when one at a time).
 */
async function warmEngine(ways: readonly Case[], calls: number, inFlight: number, tick: Tick, cost: number): Promise<number[][]> {
  const cold: number[][] = [];
  for (const way of ways) {
    const times: number[] = [];
    const until = performance.now() + WARM_MS;
    let started = 0;
    const loop = async (): Promise<void> => {
      while (started < calls * inFlight && performance.now() < until) {
        const call = started++;
        const t0 = performance.now();
        await way();
        if (inFlight === 1 && call < COLD_CALLS) times.push(performance.now() - t0);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, loop));
    tick('warming up', cost, 0);
    cold.push(times);
  }
  return cold;
}

/** Measured calls the experiments will make, and their expected cost in all: the progress bar's totals. */
export function plannedWork(plan: Plan): { calls: number; cost: number } {
  const lanes = plan.connectors.length;
  let calls = 0;
  let cost = 0;
  const warm = warmCost(plan);
  if (plan.roundTrip !== undefined) cost += (1 + 2 * lanes) * warm;
  cost += (plan.throughput?.workers.length ?? 0) * (1 + lanes) * warm;
  const add = (n: number, each: number): void => {
    calls += n;
    cost += n * each;
  };
  for (const bytes of plan.roundTrip?.sizes ?? []) add(3 * lanes * ((plan.roundTrip as RoundTripPlan).reps(bytes) + warmupFor(bytes)), taskCost(plan.engine, bytes));
  const { throughput, app } = plan;
  for (const workers of throughput?.workers ?? []) add(2 * lanes * (throughput!.reps + THROUGHPUT_WARMUP), batchCost(plan.engine, throughput!.taskBytes, throughput!.tasks, workers));
  if (app !== undefined) add(2 * app.reps, choleskyCost(plan.engine, app.size, app.tile, app.workers));
  return { calls, cost };
}

/** The ways of a round trip, in the order `byWay` reads their times: by value, then by proxy and by hand of each of `lanes`. */
function roundTripWays(engine: Engine, lanes: readonly Lane[], input: Uint8Array, bytes: number): Case[] {
  return [byValue(engine, input, bytes), ...lanes.flatMap((lane) => [byProxy(lane, input, bytes), byHand(engine, lane, input, bytes)])];
}

/** Summaries of the times of `roundTripWays`, by way and lane. */
function byWay(engine: Engine, times: readonly number[][]): Pick<ColdStart, 'value' | 'lanes'> {
  return {
    value: summarize(times[0] as number[]),
    lanes: engine.lanes.map((lane, i) => ({ connector: lane.connector, proxy: summarize(times[1 + 2 * i] as number[]), hand: summarize(times[2 + 2 * i] as number[]) })),
  };
}

/** The ways of the throughput experiment: by value, then by proxy of each of `lanes`. */
function throughputWays(engine: Engine, lanes: readonly Lane[], input: Uint8Array, bytes: number): Case[] {
  return [byValue(engine, input, bytes), ...lanes.map((lane) => byProxy(lane, input, bytes))];
}

function ticking(run: Case, tick: Tick, phase: string, cost: number): Case {
  return async () => {
    await run();
    tick(phase, cost);
  };
}

export async function measureRoundTrip(plan: Plan, roundTrip: RoundTripPlan, tick: Tick): Promise<{ rows: RoundTripRow[]; cold?: ColdStart }> {
  await using engine = await startEngine({ name: plan.engine, workers: ROUND_TRIP_WORKERS, connectors: plan.connectors, ...redisOf(plan) });
  const cold = plan.warmCalls === 0 ? undefined : await coldStart(plan, engine, tick);
  const rows: RoundTripRow[] = [];
  for (const bytes of roundTrip.sizes) {
    const input = payload(bytes);
    const phase = `round trip ${formatBytes(bytes)}`;
    const lanes: RoundTripLane[] = [];
    // A lane's pass of its own: another connector's calls in between (a file lane's I/O) slowed every way of it, by proxy most.
    for (const lane of engine.lanes) {
      const times = await timeMany(
        roundTripWays(engine, [lane], input, bytes).map((c) => ticking(c, tick, phase, taskCost(plan.engine, bytes))),
        roundTrip.reps(bytes),
        warmupFor(bytes),
        Math.ceil(roundTrip.reps(bytes) / ROUND_TRIP_TURNS),
      );
      const [value, proxy, hand] = times.map((t) => summarize(t)) as [Summary, Summary, Summary];
      lanes.push({ connector: lane.connector, value, proxy, hand });
    }
    rows.push({ bytes, lanes });
  }
  return { rows, ...(cold === undefined ? {} : { cold }) };
}

/** Warms `engine` by every way of the round trip, and what its first calls took. */
async function coldStart(plan: Plan, engine: Engine, tick: Tick): Promise<ColdStart> {
  const times = await warmEngine(roundTripWays(engine, engine.lanes, payload(WARM_BYTES), WARM_BYTES), plan.warmCalls, 1, tick, warmCost(plan));
  return { bytes: WARM_BYTES, calls: Math.min(...times.map((t) => t.length)), ...byWay(engine, times) };
}

export async function measureThroughput(plan: Plan, throughput: ThroughputPlan, tick: Tick): Promise<ThroughputRow[]> {
  const rows: ThroughputRow[] = [];
  const input = payload(throughput.taskBytes);
  for (const workers of throughput.workers) {
    await using engine = await startEngine({ name: plan.engine, workers, connectors: plan.connectors, ...redisOf(plan) });
    const phase = `throughput, ${workers} worker${workers === 1 ? '' : 's'}`;
    if (plan.warmCalls > 0) await warmEngine(throughputWays(engine, engine.lanes, payload(WARM_BYTES), WARM_BYTES), plan.warmCalls, workers, tick, warmCost(plan));
    const lanes: ThroughputLane[] = [];
    // A lane's pass of its own, as for round trips: with the file lane's turns in the same pass, by proxy on shared memory ran 5,400–6,500 tasks/s with 2 and 4 workers, alone 6,900–8,600 (5 December 2026).
    for (const lane of engine.lanes) {
      const times = await timeMany(
        throughputWays(engine, [lane], input, throughput.taskBytes).map((one) => ticking(keepInFlight(one, throughput.tasks, workers), tick, phase, batchCost(plan.engine, throughput.taskBytes, throughput.tasks, workers))),
        throughput.reps,
        THROUGHPUT_WARMUP,
      );
      const [value, proxy] = times.map((ms) => summarize(ms.map((t) => throughput.tasks / (t / 1000)))) as [Summary, Summary];
      lanes.push({ connector: lane.connector, value, proxy });
    }
    rows.push({ workers, lanes });
  }
  return rows;
}

/** The tiled Cholesky, `app.reps` runs of each way, in a process of its own (see app-process.ts). */
export async function measureApp(plan: Plan, app: AppPlan, tick: Tick): Promise<AppResult> {
  const runs: AppRuns = { engine: plan.engine, size: app.size, tile: app.tile, workers: app.workers, reps: app.reps, ...redisOf(plan) };
  const cost = choleskyCost(plan.engine, app.size, app.tile, app.workers);
  const child = spawn(process.execPath, [fileURLToPath(new URL('./app-process.js', import.meta.url)), JSON.stringify(runs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  let times: AppTimes | undefined;
  for await (const text of createInterface({ input: child.stdout })) {
    // Whatever else reaches this stream is the child's to say, not ours to parse.
    if (!text.startsWith('{')) {
      process.stderr.write(`${text}\n`);
      continue;
    }
    const line = JSON.parse(text) as AppLine;
    if ('times' in line) times = line.times;
    else tick('tiled Cholesky', cost);
  }
  const [code, signal] = await exited;
  if (times === undefined || code !== 0) throw new Error(`the tiled Cholesky process failed (${signal ?? `exit code ${code}`}); its errors are above`);
  const connector = plan.engine === 'piscina' ? 'shared-memory' : 'redis';
  return { name: 'tiled Cholesky', size: app.size, tile: app.tile, workers: app.workers, tasks: times.tasks, connector, value: summarize(times.value), proxy: summarize(times.proxy), identical: times.identical };
}

function redisOf(plan: Plan): { redis?: string } {
  return plan.redis === undefined ? {} : { redis: plan.redis };
}
