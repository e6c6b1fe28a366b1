/**
 * The tables the tool prints, as Markdown so that a run's output can go into
 * docs/benchmarks.md as it is. Cells are "median (p25–p75)".
 */
import { signedPercent } from './goals.js';
import { laneOf, speedup, throughputGain, type BenchResults, type GoalResult } from './results.js';
import { formatBytes, formatNumber, formatSummary, formatTimes } from './stats.js';

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function roundTripTables(results: BenchResults): string[] {
  const roundTrip = results.roundTrip;
  if (roundTrip === undefined) return [];
  return results.connectors.map((connector) => {
    const rows = roundTrip.rows.map((row) => {
      const lane = laneOf(row, connector);
      if (lane === undefined) return [formatBytes(row.bytes), '', '', '', '', ''];
      return [
        formatBytes(row.bytes),
        formatSummary(lane.value),
        formatSummary(lane.proxy),
        formatSummary(lane.hand),
        formatTimes(speedup(lane.value, lane.proxy)),
        signedPercent(lane.proxy.median / lane.hand.median),
      ];
    });
    const { cold } = roundTrip;
    const coldLane = cold === undefined ? undefined : laneOf(cold, connector);
    return [
      `Round trip of a no-op task, ${results.engine} (${roundTrip.workers} worker), ${connector} connector, its three ways timed in a pass of their own, taking turns of a tenth of their calls (one call at least): ms, median (p25–p75)`,
      '',
      table(['payload in and out', 'by value', 'by proxy', 'by hand (keys)', 'speed-up (value ÷ proxy)', 'proxy vs by hand'], rows),
      ...(cold === undefined || coldLane === undefined
        ? []
        : [
            '',
            `Timed after every way warmed up on the pool. Its first ${cold.calls} calls of ${formatBytes(cold.bytes)}, before V8 had optimized them: ` +
              `by value ${formatSummary(cold.value)}, by proxy ${formatSummary(coldLane.proxy)}, by hand ${formatSummary(coldLane.hand)} ms (${formatTimes(speedup(cold.value, coldLane.proxy))}).`,
          ]),
    ].join('\n');
  });
}

export function throughputTable(results: BenchResults): string | undefined {
  const throughput = results.throughput;
  if (throughput === undefined) return undefined;
  const header = ['workers', ...results.connectors.flatMap((c) => [`by value (${c} pass)`, `by proxy (${c})`, 'gain'])];
  const rows = throughput.rows.map((row) => [
    String(row.workers),
    ...results.connectors.flatMap((connector) => {
      const lane = laneOf(row, connector);
      return lane === undefined ? ['', '', ''] : [formatSummary(lane.value), formatSummary(lane.proxy), formatTimes(throughputGain(lane.value, lane.proxy))];
    }),
  ]);
  return [
    `Throughput, ${results.engine}: ${throughput.tasks} tasks that consume and produce ${formatBytes(throughput.taskBytes)}, as many in flight as workers, each connector timed in a pass of its own with by value: tasks/s, median (p25–p75)`,
    '',
    table(header, rows),
  ].join('\n');
}

export function appTable(results: BenchResults): string | undefined {
  const app = results.app;
  if (app === undefined) return undefined;
  const row = [
    `${app.size}×${app.size}, ${app.tile}×${app.tile} tiles`,
    String(app.tasks),
    String(app.workers),
    app.connector,
    formatSummary(app.value),
    formatSummary(app.proxy),
    formatTimes(speedup(app.value, app.proxy)),
    app.identical ? 'yes' : 'NO',
  ];
  return [
    `${app.name}, ${results.engine}, end to end: ms, median (p25–p75)`,
    '',
    table(['matrix', 'tasks', 'workers', 'store', 'by value', 'by proxy', 'speed-up', 'same L bit for bit'], [row]),
  ].join('\n');
}

const MARK: Readonly<Record<GoalResult['status'], string>> = { met: '[met]    ', 'not met': '[NOT MET]', 'not measured': '[-]      ' };

export function goalLines(goals: readonly GoalResult[]): string {
  return ['Performance goals (judged on medians)', ...goals.map((g) => `  ${MARK[g.status]} ${g.goal}\n              ${g.detail}`)].join('\n');
}

export function environmentLine(results: BenchResults): string {
  const env = results.environment;
  const [start, end] = env.loadAverage;
  return `${results.engine} · Node ${env.node} · ${env.cpus} × ${env.cpuModel} · ${formatNumber(env.memoryGB)} GB · load average ${start.toFixed(1)} → ${end.toFixed(1)} · ${results.date}${results.quick ? ' · --quick' : ''}`;
}
