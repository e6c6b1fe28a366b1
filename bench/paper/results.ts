/** What one run of the benchmark produced, as written to bench/results/<engine>.json. */
import type { ConnectorName, EngineName } from './engines.js';
import type { AppResult, ColdStart, RoundTripRow, ThroughputRow } from './experiments.js';
import type { Summary } from './stats.js';

export type GoalStatus = 'met' | 'not met' | 'not measured';

export interface GoalResult {
  readonly engine: EngineName;
  readonly goal: string;
  readonly status: GoalStatus;
  readonly detail: string;
}

export interface BenchResults {
  readonly tool: 'ts-proxystore bench';
  /** 2 since throughput timed each connector in a pass of its own, by value in each lane. */
  readonly format: 2;
  readonly engine: EngineName;
  readonly quick: boolean;
  /** The command-line arguments of the run, to reproduce it. */
  readonly args: readonly string[];
  readonly date: string;
  readonly environment: {
    readonly node: string;
    readonly platform: string;
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryGB: number;
    /** 1-minute load average when the run started and when it ended: other work on the machine shows up here first. */
    readonly loadAverage: readonly [start: number, end: number];
  };
  readonly connectors: readonly ConnectorName[];
  /** Connectors asked for that the engine cannot use, with the reason. */
  readonly skipped: readonly { readonly connector: ConnectorName; readonly reason: string }[];
  /** Where the Redis server came from, when one was used. */
  readonly redis?: 'started for this run' | 'given with --redis';
  readonly roundTrip?: { readonly workers: number; readonly unit: 'ms'; readonly rows: readonly RoundTripRow[]; readonly cold?: ColdStart };
  readonly throughput?: { readonly taskBytes: number; readonly tasks: number; readonly unit: 'tasks/s'; readonly rows: readonly ThroughputRow[] };
  readonly app?: AppResult & { readonly unit: 'ms' };
  readonly goals: readonly GoalResult[];
}

/** The lane of `row` that used `connector`; undefined when that connector was not measured. */
export function laneOf<L extends { readonly connector: ConnectorName }>(row: { readonly lanes: readonly L[] }, connector: string): L | undefined {
  return row.lanes.find((l) => l.connector === connector);
}

/** The gain by proxy in time (ms): by value ÷ by proxy, above 1 when the proxy is faster. */
export function speedup(value: Summary, proxy: Summary): number {
  return value.median / proxy.median;
}

/** The gain by proxy in throughput (tasks/s): by proxy ÷ by value, above 1 when the proxy is faster. */
export function throughputGain(value: Summary, proxy: Summary): number {
  return proxy.median / value.median;
}
