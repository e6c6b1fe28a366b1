/**
 * The paper's figures from one run's results: latency vs payload size (Fig. 3
 * left), throughput vs workers (Fig. 4 left) and the speed-ups by proxy
 * (the right-hand panels, and Fig. 5), as <out>/<engine>-<figure>.svg/.png.
 */
import path from 'node:path';
import { INK, PALETTE, barChart, lineChart, writeChart, type Series } from './charts.js';
import { laneOf, speedup, throughputGain, type BenchResults } from './results.js';
import { formatBytes, formatTick, formatTimes, type Summary } from './stats.js';

const colorOf = (results: BenchResults, connector: string): string => PALETTE[results.connectors.indexOf(connector as never) % PALETTE.length] as string;

/** By value is timed again in each lane's pass; the first lane's stands for it in a chart. */
function byValueSeries<R extends { readonly lanes: readonly { readonly value: Summary }[] }>(rows: readonly R[], x: (row: R) => number): Series {
  return { name: 'by value', color: INK, points: rows.flatMap((r) => (r.lanes[0] === undefined ? [] : [{ x: x(r), y: r.lanes[0].value.median }])) };
}

function latencyChart(results: BenchResults): string | undefined {
  const rows = results.roundTrip?.rows;
  if (rows === undefined || rows.length === 0) return undefined;
  const series: Series[] = [
    byValueSeries(rows, (r) => r.bytes),
    ...results.connectors.flatMap((connector): Series[] => {
      const lanes = rows.flatMap((r) => r.lanes.filter((l) => l.connector === connector).map((l) => ({ bytes: r.bytes, lane: l })));
      return [
        { name: `by proxy (${connector})`, color: colorOf(results, connector), points: lanes.map(({ bytes, lane }) => ({ x: bytes, y: lane.proxy.median })) },
        { name: `by hand (${connector})`, color: colorOf(results, connector), dashed: true, points: lanes.map(({ bytes, lane }) => ({ x: bytes, y: lane.hand.median })) },
      ];
    }),
  ];
  return lineChart({
    title: `No-op task round trip vs payload, ${results.engine} (median)`,
    xLabel: 'payload in and out',
    yLabel: 'round trip (ms, log)',
    xScale: 'log',
    yScale: 'log',
    series,
    formatX: formatBytes,
    formatY: formatTick,
  });
}

function throughputChart(results: BenchResults): string | undefined {
  const throughput = results.throughput;
  if (throughput === undefined || throughput.rows.length === 0) return undefined;
  const { rows } = throughput;
  const series: Series[] = [
    byValueSeries(rows, (r) => r.workers),
    ...results.connectors.map((connector) => ({
      name: `by proxy (${connector})`,
      color: colorOf(results, connector),
      points: rows.flatMap((r) => r.lanes.filter((l) => l.connector === connector).map((l) => ({ x: r.workers, y: l.proxy.median }))),
    })),
  ];
  return lineChart({
    title: `Throughput, tasks of ${formatBytes(throughput.taskBytes)} in and out, ${results.engine} (median)`,
    xLabel: 'workers',
    yLabel: 'tasks per second',
    xScale: 'linear',
    yScale: 'linear',
    series,
    xTicks: rows.map((r) => r.workers),
    formatX: String,
    formatY: formatTick,
  });
}

/** Every gain in one chart, as "× by value": round trips per size, throughput per worker count, the application. */
function speedupChart(results: BenchResults): string | undefined {
  const categories: string[] = [];
  const gains = new Map<string, (number | undefined)[]>(results.connectors.map((c) => [c, []]));
  const add = (category: string, gainOf: (connector: string) => number | undefined): void => {
    categories.push(category);
    for (const [connector, values] of gains) values.push(gainOf(connector));
  };
  for (const row of results.roundTrip?.rows ?? []) {
    add(formatBytes(row.bytes), (c) => {
      const lane = laneOf(row, c);
      return lane === undefined ? undefined : speedup(lane.value, lane.proxy);
    });
  }
  for (const row of results.throughput?.rows ?? []) {
    add(`${row.workers}w tput`, (c) => {
      const lane = laneOf(row, c);
      return lane === undefined ? undefined : throughputGain(lane.value, lane.proxy);
    });
  }
  const app = results.app;
  if (app !== undefined) {
    if (!gains.has(app.connector)) gains.set(app.connector, categories.map(() => undefined));
    add('Cholesky', (c) => (c === app.connector ? speedup(app.value, app.proxy) : undefined));
  }
  if (categories.length === 0) return undefined;
  return barChart({
    title: `Gain by proxy, ${results.engine}, as × by value (higher is better)`,
    yLabel: '× by value',
    categories,
    series: [...gains].map(([connector, values], i) => ({ name: connector, color: results.connectors.includes(connector as never) ? colorOf(results, connector) : (PALETTE[i % PALETTE.length] as string), values })),
    reference: { value: 1, label: '1x: no gain' },
    formatValue: formatTimes,
    formatTick: (v) => `${formatTick(v)}x`,
  });
}

export async function writeFigures(results: BenchResults, directory: string): Promise<string[]> {
  const figures = { latency: latencyChart(results), throughput: throughputChart(results), speedup: speedupChart(results) };
  const written = await Promise.all(
    Object.entries(figures).map(([name, svg]) => (svg === undefined ? Promise.resolve([]) : writeChart(path.join(directory, `${results.engine}-${name}`), svg))),
  );
  return written.flat();
}
