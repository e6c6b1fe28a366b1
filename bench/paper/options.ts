/**
 * The command line, and the plan it amounts to. Defaults are sized for a
 * 2-core machine: a full run takes a few minutes, `--quick` under one.
 */
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { UNREACHABLE, type ConnectorName, type EngineName } from './engines.js';
import type { Plan } from './experiments.js';
import { parseBytes } from './stats.js';

const EXPERIMENTS = ['roundtrip', 'throughput', 'app'] as const;
type Experiment = (typeof EXPERIMENTS)[number];
const CONNECTORS = ['shared-memory', 'file', 'memory', 'redis', 'peer'] as const satisfies readonly ConnectorName[];

interface Defaults {
  readonly sizes: readonly number[];
  /** Per engine, round-trip repetitions from 1 MB to below 100 MB; the largest payloads take few, they cost seconds each over BullMQ. */
  readonly roundTripReps: Readonly<Record<EngineName, number>>;
  /** Per engine, below 1 MB, where a call costs a fraction of a millisecond on piscina. */
  readonly smallPayloadReps: Readonly<Record<EngineName, number>>;
  readonly bigPayloadReps: number;
  readonly workers: readonly number[];
  /** Per engine: a BullMQ task by value takes about 20 ms, a piscina one about 1 ms. */
  readonly tasks: Readonly<Record<EngineName, number>>;
  readonly throughputReps: number;
  readonly appSize: number;
  readonly appTile: number;
  readonly appReps: Readonly<Record<EngineName, number>>;
  /** Calls of each way on every fresh engine before timing (experiments.ts, warmEngine). */
  readonly warmCalls: number;
}

const FULL: Defaults = {
  sizes: [1e3, 1e4, 1e5, 1e6, 1e7, 1e8],
  // 31, not 15: a few calls of every way take 5–10 ms when a collection lands in them, and with 15 they moved a 1 MB median by half.
  // 101 on piscina, where a 10 MB round trip by proxy or by hand sat in one of two modes (about 2.4 and 3.9 ms) for a few dozen calls at a time,
  // and 31 calls of each way put the two in different modes (+40% by proxy over by hand in one run of 5 December 2026, level in the next).
  roundTripReps: { piscina: 101, bullmq: 31 },
  // A 100 kB call by value sits in one of two modes, about 0.16 and 0.25 ms on piscina, as its garbage and fresh pages catch up with it: medians of
  // 31 calls swung between them from run to run (by value ÷ by proxy 0.67–1.03x). A median of 1,001 spans more of both, though by value's
  // still ranged from 0.141 to 0.229 ms from one run to the next (5 December 2026).
  smallPayloadReps: { piscina: 1_001, bullmq: 31 },
  bigPayloadReps: 3,
  workers: [1, 2, 4],
  // The paper ran 10,000. On piscina 200 (0.2 s) ended before by value's garbage collection caught up: 769–1,066 tasks/s by value with one
  // worker in four runs of 200, 533 over 1,000, which is the rate it sustains.
  tasks: { piscina: 1_000, bullmq: 200 },
  throughputReps: 3,
  // 128×128 tiles are 128 kB, above the default proxy threshold; 1024 gives the 120 tasks of an 8×8 tile grid.
  appSize: 1024,
  appTile: 128,
  // On piscina by proxy and by value run the factorization within a few percent of each other, and one run from the next varies by
  // ±5%: medians of 5 gave 0.94x, 1.00x, 1.03x and 1.07x in four runs of 5 December 2026, while six side-by-side runs of 8 to 16 gave
  // 1.00–1.03x. 15 keep the verdict from flipping on one slow run.
  appReps: { piscina: 15, bullmq: 5 },
  warmCalls: 5_000,
};

const QUICK: Defaults = {
  sizes: [1e3, 1e5, 1e6, 1e7],
  roundTripReps: { piscina: 5, bullmq: 5 },
  smallPayloadReps: { piscina: 5, bullmq: 5 },
  bigPayloadReps: 2,
  workers: [1, 2],
  tasks: { piscina: 50, bullmq: 50 },
  throughputReps: 3,
  appSize: 512,
  appTile: 128,
  appReps: { piscina: 1, bullmq: 1 },
  warmCalls: 1_000,
};

/**
 * A run's results are not the committed ones (bench/results/, which
 * docs/benchmarks.md shows): they go to a directory git ignores, unless
 * `--out` says otherwise (`--out bench/results` to update the committed set).
 */
export const DEFAULT_OUT = path.join('bench', 'results', 'latest');

export interface Settings {
  readonly plan: Plan;
  readonly quick: boolean;
  readonly out: string;
  /** Start a redis-server for this run (none given with --redis, and the plan needs one). */
  readonly startRedis: boolean;
  /** Serve the live dashboard on this loopback port while the bench runs (0: any free port). */
  readonly dashboard: number | undefined;
  readonly skipped: readonly { readonly connector: ConnectorName; readonly reason: string }[];
}

interface RawOptions {
  engine: EngineName;
  connector?: string;
  redis?: string;
  sizes?: number[];
  workers?: number[];
  tasks?: number;
  reps?: number;
  appSize?: number;
  appTile?: number;
  warmCalls?: number;
  experiments?: Experiment[];
  quick?: boolean;
  out?: string;
  dashboard?: number | true;
}

function positiveInteger(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError('expected a positive integer');
  return value;
}

function nonNegativeInteger(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new InvalidArgumentError('expected a whole number');
  return value;
}

function list<T>(parse: (item: string) => T): (text: string) => T[] {
  return (text) => {
    try {
      return text.split(',').map((item) => parse(item.trim()));
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  };
}

function experiment(text: string): Experiment {
  if (!(EXPERIMENTS as readonly string[]).includes(text)) throw new Error(`unknown experiment '${text}' (choose from ${EXPERIMENTS.join(', ')})`);
  return text as Experiment;
}

function command(): Command {
  return new Command('bench')
    .description("Reproduces the paper's experiments (Figs. 3–5) by value, by proxy and by hand, side by side, and checks the performance goals.")
    .addOption(new Option('--engine <engine>', 'where tasks run').choices(['piscina', 'bullmq']).default('piscina'))
    .option(
      '--connector <names>',
      `store(s) for by proxy and by hand: ${CONNECTORS.join(', ')} or all, comma-separated (default: shared-memory,file on piscina; redis on bullmq)`,
    )
    .option('--redis <url>', 'a Redis server to use (default: start a local redis-server on a free port when one is needed)')
    .option('--sizes <list>', 'round-trip payloads, e.g. 1kB,10kB,1MB (kB/MB decimal, KiB/MiB binary)', list(parseBytes))
    .option('--workers <list>', 'worker counts for the throughput experiment', list(positiveInteger))
    .option('--tasks <n>', 'tasks per throughput measurement (default: 1000 on piscina, 200 on BullMQ; 50 with --quick)', positiveInteger)
    .option('--reps <n>', 'repetitions of every measurement (default: round trips on piscina 1,001 below 1 MB and 101 from 1 MB, on BullMQ 31, both 3 at 100 MB and above; 3 throughput; application 15 on piscina, 5 on BullMQ)', positiveInteger)
    .option('--app-size <n>', 'Cholesky matrix side', positiveInteger)
    .option('--app-tile <n>', 'Cholesky tile side; must divide --app-size', positiveInteger)
    .option('--warm-calls <n>', 'calls of each way on every fresh pool before timing, 2.5 s at most per way (default: 5000, 1000 with --quick; 0: none)', nonNegativeInteger)
    .option('--experiments <list>', `which to run: ${EXPERIMENTS.join(',')}`, list(experiment))
    .option('--quick', 'fewer sizes, repetitions and tasks, a smaller matrix: under a minute')
    .option('--dashboard [port]', 'serve the live dashboard on 127.0.0.1 while the bench runs (default: any free port)', (text: string) => {
      const port = Number(text);
      if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new InvalidArgumentError('expected a port number');
      return port;
    })
    .option('--out <dir>', `where results and charts go (default: ${DEFAULT_OUT}, which git ignores; --out bench/results replaces the committed ones)`);
}

function isConnector(name: string): name is ConnectorName {
  return (CONNECTORS as readonly string[]).includes(name);
}

function connectorsFor(engine: EngineName, text: string | undefined): { connectors: ConnectorName[]; skipped: Settings['skipped'] } {
  const asked: ConnectorName[] =
    text === undefined
      ? engine === 'piscina'
        ? ['shared-memory', 'file']
        : ['redis']
      : text.split(',').flatMap((name) => {
          const trimmed = name.trim();
          if (trimmed === 'all') return [...CONNECTORS];
          if (!isConnector(trimmed)) throw new InvalidArgumentError(`unknown connector '${trimmed}' (choose from ${CONNECTORS.join(', ')}, all)`);
          return [trimmed];
        });
  const unique = [...new Set(asked)];
  const skipped = unique.flatMap((connector) => {
    const reason = UNREACHABLE[engine][connector];
    return reason === undefined ? [] : [{ connector, reason }];
  });
  return { connectors: unique.filter((c) => UNREACHABLE[engine][c] === undefined), skipped };
}

function settingsFrom(raw: RawOptions): Settings {
  const quick = raw.quick === true;
  const d = quick ? QUICK : FULL;
  const { connectors, skipped } = connectorsFor(raw.engine, raw.connector);
  if (connectors.length === 0) throw new InvalidArgumentError(`no connector left that ${raw.engine} can use: ${skipped.map((s) => `${s.connector}: ${s.reason}`).join('; ')}`);
  const experiments = new Set(raw.experiments ?? EXPERIMENTS);
  const appSize = raw.appSize ?? d.appSize;
  const appTile = raw.appTile ?? d.appTile;
  if (experiments.has('app') && appSize % appTile !== 0) throw new InvalidArgumentError(`--app-tile (${appTile}) must divide --app-size (${appSize})`);
  const plan: Plan = {
    engine: raw.engine,
    connectors,
    warmCalls: raw.warmCalls ?? d.warmCalls,
    ...(raw.redis === undefined ? {} : { redis: raw.redis }),
    ...(experiments.has('roundtrip')
      ? { roundTrip: { sizes: [...(raw.sizes ?? d.sizes)].sort((a, b) => a - b), reps: (bytes: number) => raw.reps ?? roundTripReps(d, raw.engine, bytes) } }
      : {}),
    ...(experiments.has('throughput')
      ? { throughput: { workers: [...(raw.workers ?? d.workers)].sort((a, b) => a - b), tasks: raw.tasks ?? d.tasks[raw.engine], taskBytes: 1e6, reps: raw.reps ?? d.throughputReps } }
      : {}),
    ...(experiments.has('app') ? { app: { size: appSize, tile: appTile, workers: 2, reps: raw.reps ?? d.appReps[raw.engine] } } : {}),
  };
  const needsRedis = raw.engine === 'bullmq' || connectors.includes('redis');
  const dashboard = raw.dashboard === undefined ? undefined : raw.dashboard === true ? 0 : raw.dashboard;
  return { plan, quick, out: raw.out ?? DEFAULT_OUT, startRedis: needsRedis && raw.redis === undefined, dashboard, skipped };
}

function roundTripReps(d: Defaults, engine: EngineName, bytes: number): number {
  if (bytes >= 1e8) return d.bigPayloadReps;
  return bytes < 1e6 ? d.smallPayloadReps[engine] : d.roundTripReps[engine];
}

export function parseSettings(argv: readonly string[]): Settings {
  const program = command();
  program.parse(argv);
  try {
    return settingsFrom(program.opts<RawOptions>());
  } catch (error) {
    if (error instanceof InvalidArgumentError) program.error(`error: ${error.message}`);
    throw error;
  }
}
