/**
 * The performance goals of issues 9 and 18, judged on medians. Every goal is always
 * listed: one that needs the other engine, or a size this run left out, says
 * "not measured" rather than disappearing.
 */
import type { ConnectorName, EngineName } from './engines.js';
import type { RoundTripRow, ThroughputRow } from './experiments.js';
import { laneOf, speedup, throughputGain, type BenchResults, type GoalResult, type GoalStatus } from './results.js';
import { formatBytes, formatTimes } from './stats.js';

type Measured = Pick<BenchResults, 'engine' | 'roundTrip' | 'throughput' | 'app'>;

/** Below this StoreExecutor's default policy sends arguments by value, so the proxy machinery is judged from here up. */
const MACHINERY_FROM_BYTES = 100_000;
const MACHINERY_LIMIT = 1.2;

/**
 * Dask + ProxyStore 0.6.5 with its Redis connector, proxies in and out, round
 * trip medians in ms measured on this machine (issue 19): the Python peer the
 * peer connector is held against.
 */
const PYTHON_PEER_MS: Readonly<Record<number, number>> = { 1e6: 23.8, 1e7: 89.9 };

/**
 * The Python peer measured on this machine: Dask 2022.12 + ProxyStore 0.6.5, 2
 * worker processes, round trip of a no-op task, median ms (see
 * docs/benchmarks.md). By value, and by proxy both ways through ProxyStore's
 * file connector, its faster way at both sizes and the counterpart of this lane.
 */
const PYTHON_PEER = [
  { bytes: 1e6, value: 18.4, proxyStore: 15.0 },
  { bytes: 1e7, value: 62.7, proxyStore: 48.3 },
] as const;
const PEER_FACTOR = 10;

interface Check {
  readonly label: string;
  readonly ok: boolean;
}

function judge(engine: EngineName, goal: string, measuredEngine: EngineName, checks: readonly Check[]): GoalResult {
  if (engine !== measuredEngine) return { engine, goal, status: 'not measured', detail: `run with --engine ${engine}` };
  if (checks.length === 0) return { engine, goal, status: 'not measured', detail: 'the sizes, connectors or experiments it needs were not part of this run' };
  const status: GoalStatus = checks.every((c) => c.ok) ? 'met' : 'not met';
  return { engine, goal, status, detail: checks.map((c) => `${c.label}${c.ok ? '' : ' ✗'}`).join(', ') };
}

/** By value ÷ by proxy, for one connector at each size that `pick` keeps. */
function speedups(rows: readonly RoundTripRow[] | undefined, connector: ConnectorName, pick: (bytes: number) => boolean): { bytes: number; ratio: number }[] {
  return (rows ?? []).flatMap((row) => {
    const lane = laneOf(row, connector);
    return lane === undefined || !pick(row.bytes) ? [] : [{ bytes: row.bytes, ratio: speedup(lane.value, lane.proxy) }];
  });
}

function throughputGains(rows: readonly ThroughputRow[] | undefined, connector: ConnectorName): { workers: number; ratio: number }[] {
  return (rows ?? []).flatMap((row) => {
    const lane = laneOf(row, connector);
    return lane === undefined ? [] : [{ workers: row.workers, ratio: throughputGain(lane.value, lane.proxy) }];
  });
}

/** `lane`'s median at `bytes` over `other`'s, where both were measured. */
function laneRatio(rows: readonly RoundTripRow[] | undefined, bytes: number, lane: (row: RoundTripRow) => number | undefined, other: (row: RoundTripRow) => number | undefined): number | undefined {
  const row = rows?.find((r) => r.bytes === bytes);
  const [a, b] = row === undefined ? [] : [lane(row), other(row)];
  return a === undefined || b === undefined ? undefined : a / b;
}

/** The peer connector's goals (issue 19), all against lanes of the same BullMQ run. */
function peerGoals(engine: EngineName, rows: readonly RoundTripRow[] | undefined, oneMegabyteTasks: readonly ThroughputRow[] | undefined): GoalResult[] {
  const tenMB = laneRatio(rows, 1e7, (row) => laneOf(row, 'peer')?.proxy.median, (row) => laneOf(row, 'redis')?.hand.median);
  const fourWorkers = oneMegabyteTasks?.find((row) => row.workers === 4);
  const peerRate = fourWorkers === undefined ? undefined : laneOf(fourWorkers, 'peer')?.proxy.median;
  const redisRate = fourWorkers === undefined ? undefined : laneOf(fourWorkers, 'redis')?.proxy.median;
  const python = (rows ?? []).flatMap((row) => {
    const peer = laneOf(row, 'peer');
    const theirs = PYTHON_PEER_MS[row.bytes];
    return peer === undefined || theirs === undefined ? [] : [{ bytes: row.bytes, ratio: theirs / peer.proxy.median }];
  });
  return [
    judge('bullmq', 'BullMQ + peer: 10 MB round trip by proxy ≤ 0.6x keys moved by hand through Redis', engine, tenMB === undefined ? [] : [{ label: formatTimes(tenMB), ok: tenMB <= 0.6 }]),
    judge(
      'bullmq',
      'BullMQ + peer: by proxy ≥ 8x faster round trip than by value at 1 MB and 10 MB',
      engine,
      speedups(rows, 'peer', (b) => b === 1e6 || b === 1e7).map(({ bytes, ratio }) => ({ label: `${formatBytes(bytes)} ${formatTimes(ratio)}`, ok: ratio >= 8 })),
    ),
    judge(
      'bullmq',
      'BullMQ + peer: throughput of 1 MB tasks with 4 workers ≥ 1.5x the Redis connector',
      engine,
      peerRate === undefined || redisRate === undefined ? [] : [{ label: formatTimes(peerRate / redisRate), ok: peerRate / redisRate >= 1.5 }],
    ),
    judge(
      'bullmq',
      'BullMQ + peer: ≥ 3x faster than Dask + ProxyStore 0.6.5 (Redis, proxies in and out: 1 MB 23.8 ms, 10 MB 89.9 ms)',
      engine,
      python.map(({ bytes, ratio }) => ({ label: `${formatBytes(bytes)} ${formatTimes(ratio)}`, ok: ratio >= 3 })),
    ),
  ];
}

function connectorsOf(rows: readonly RoundTripRow[] | undefined): ConnectorName[] {
  return rows?.[0]?.lanes.map((lane) => lane.connector) ?? [];
}

export function judgeGoals(results: Measured): GoalResult[] {
  const rows = results.roundTrip?.rows;
  const engine = results.engine;
  const oneMegabyteTasks = results.throughput?.taskBytes === 1e6 ? results.throughput.rows : undefined;
  return [
    judge(
      'bullmq',
      'BullMQ + Redis: by proxy ≥ 5x faster round trip than by value at 1 MB and 10 MB',
      engine,
      speedups(rows, 'redis', (b) => b === 1e6 || b === 1e7).map(({ bytes, ratio }) => ({ label: `${formatBytes(bytes)} ${formatTimes(ratio)}`, ok: ratio >= 5 })),
    ),
    judge(
      'bullmq',
      'BullMQ + Redis: throughput at 1 MB ≥ 4x by value',
      engine,
      throughputGains(oneMegabyteTasks, 'redis').map(({ workers, ratio }) => ({ label: `${workers} worker${workers === 1 ? '' : 's'} ${formatTimes(ratio)}`, ok: ratio >= 4 })),
    ),
    judge(
      'piscina',
      'piscina: by proxy never slower than by value beyond 1 MB (every connector)',
      engine,
      connectorsOf(rows).flatMap((connector) =>
        speedups(rows, connector, (b) => b > 1e6).map(({ bytes, ratio }) => ({ label: `${connector} ${formatBytes(bytes)} ${formatTimes(ratio)}`, ok: ratio >= 1 })),
      ),
    ),
    judge(
      'piscina',
      'piscina + shared memory: by proxy ≥ 2x faster than by value at 1 MB and 10 MB',
      engine,
      speedups(rows, 'shared-memory', (b) => b === 1e6 || b === 1e7).map(({ bytes, ratio }) => ({ label: `${formatBytes(bytes)} ${formatTimes(ratio)}`, ok: ratio >= 2 })),
    ),
    judge(
      'piscina',
      'piscina + shared memory: by proxy never slower than by value from 100 kB, and within 2x of it at 1 kB',
      engine,
      speedups(rows, 'shared-memory', (b) => b >= 1e5 || b === 1e3).map(({ bytes, ratio }) => ({
        label: `${formatBytes(bytes)} ${formatTimes(ratio)}`,
        ok: ratio >= (bytes >= 1e5 ? 1 : 0.5),
      })),
    ),
    judge(
      'piscina',
      'piscina + shared memory: throughput of 1 MB tasks ≥ 1.5x by value with 1, 2 and 4 workers',
      engine,
      throughputGains(oneMegabyteTasks, 'shared-memory').map(({ workers, ratio }) => ({
        label: `${workers} worker${workers === 1 ? '' : 's'} ${formatTimes(ratio)}`,
        ok: ratio >= 1.5,
      })),
    ),
    judge(
      'piscina',
      'piscina: tiled Cholesky end to end by proxy at least as fast as by value',
      engine,
      results.app === undefined ? [] : [{ label: formatTimes(speedup(results.app.value, results.app.proxy)), ok: results.app.proxy.median <= results.app.value.median }],
    ),
    judge(
      'piscina',
      `piscina + shared memory: by proxy ≥ ${PEER_FACTOR}x faster than Dask + ProxyStore (file connector, proxies both ways, same machine) at 1 MB and 10 MB`,
      engine,
      (rows ?? []).flatMap((row) => {
        const peer = PYTHON_PEER.find((p) => p.bytes === row.bytes);
        const lane = laneOf(row, 'shared-memory');
        if (peer === undefined || lane === undefined) return [];
        const ratio = Math.min(peer.value, peer.proxyStore) / lane.proxy.median;
        return [{ label: `${formatBytes(row.bytes)} ${formatTimes(ratio)} (peer ${peer.proxyStore} ms)`, ok: ratio >= PEER_FACTOR }];
      }),
    ),
    ...machineryGoals(engine, rows),
    ...peerGoals(engine, rows, oneMegabyteTasks),
  ];
}

/** The machinery goal, judged per connector: the shared-memory pool's, Redis' and the file connector's overheads differ in kind. */
function machineryGoals(engine: EngineName, rows: readonly RoundTripRow[] | undefined): GoalResult[] {
  const goal = (connector?: ConnectorName): string =>
    `proxy machinery ≤ 20% over moving the same bytes by hand with the same connector${connector === undefined ? '' : ` (${connector})`}, payloads ≥ ${formatBytes(MACHINERY_FROM_BYTES)}`;
  const connectors = connectorsOf(rows);
  if (connectors.length === 0) return [judge(engine, goal(), engine, [])];
  return connectors.map((connector) =>
    judge(
      engine,
      goal(connector),
      engine,
      (rows ?? []).flatMap((row) => {
        const lane = laneOf(row, connector);
        if (row.bytes < MACHINERY_FROM_BYTES || lane === undefined) return [];
        const ratio = lane.proxy.median / lane.hand.median;
        return [{ label: `${formatBytes(row.bytes)} ${signedPercent(ratio)}`, ok: ratio <= MACHINERY_LIMIT }];
      }),
    ),
  );
}

export function signedPercent(ratio: number): string {
  const percent = Math.round((ratio - 1) * 100);
  return `${percent >= 0 ? '+' : ''}${percent}%`;
}
