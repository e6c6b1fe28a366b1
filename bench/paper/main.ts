#!/usr/bin/env node
/**
 * The main job: the paper's experiments by value and by proxy, side by side.
 *
 *   node dist/bench/paper/main.js [--engine piscina|bullmq] [--connector …] [--quick] …   (--help for all)
 *
 * A progress bar on stderr while it runs; then the tables (Markdown) and the
 * goals on stdout, results as <out>/<engine>.json and charts as SVG and PNG.
 * The goals are reported, never enforced: the exit code says only whether the
 * run itself worked.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import { startRedisServer, type RedisServer } from 'ts-proxystore/testing';
import { measureApp, measureRoundTrip, measureThroughput, plannedWork, ROUND_TRIP_WORKERS, type Plan } from './experiments.js';
import { writeFigures } from './figures.js';
import { judgeGoals } from './goals.js';
import { appTable, environmentLine, goalLines, roundTripTables, throughputTable } from './report.js';
import type { BenchResults } from './results.js';
import { parseSettings, type Settings } from './options.js';
import { live } from './engines.js';
import { startDashboard } from 'ts-proxystore/observe';

type Measured = Omit<BenchResults, 'goals'>;

async function measure(settings: Settings, plan: Plan): Promise<Measured> {
  // The bar counts expected milliseconds, not calls, so its ETA follows the clock (main-eta.ts); calls are shown beside it.
  const bar = new SingleBar(
    { format: ' {bar} {percentage}% | {calls}/{totalCalls} calls | {phase} | {duration_formatted} (eta {eta_formatted})', hideCursor: true, etaBuffer: 50 },
    Presets.shades_classic,
  );
  const loadAtStart = os.loadavg()[0] ?? 0;
  const work = plannedWork(plan);
  let calls = 0;
  bar.start(Math.ceil(work.cost), 0, { phase: 'starting workers', calls, totalCalls: work.calls });
  const tick = (phase: string, cost: number, made = 1): void => bar.increment(cost, { phase, calls: (calls += made) });
  try {
    // Throughput first, in the state an application running 1 MB tasks starts in: after the round trips' 10 MB and 100 MB payloads, glibc's malloc keeps freed memory for new 1 MB blocks, which by value then reuses (app-process.ts says more; docs/benchmarks.md has both states' figures).
    const throughput =
      plan.throughput === undefined
        ? undefined
        : { taskBytes: plan.throughput.taskBytes, tasks: plan.throughput.tasks, unit: 'tasks/s' as const, rows: await measureThroughput(plan, plan.throughput, tick) };
    const roundTrip = plan.roundTrip === undefined ? undefined : await measureRoundTrip(plan, plan.roundTrip, tick);
    const app = plan.app === undefined ? undefined : await measureApp(plan, plan.app, tick);
    const cpus = os.cpus();
    return {
      tool: 'ts-proxystore bench',
      format: 2,
      engine: plan.engine,
      quick: settings.quick,
      args: process.argv.slice(2),
      date: new Date().toISOString(),
      environment: {
        node: process.versions.node,
        platform: `${os.type()} ${os.release()} ${os.arch()}`,
        cpus: cpus.length,
        cpuModel: cpus[0]?.model.trim() ?? 'unknown',
        memoryGB: Math.round(os.totalmem() / 1e9),
        loadAverage: [loadAtStart, os.loadavg()[0] ?? 0],
      },
      connectors: plan.connectors,
      skipped: settings.skipped,
      ...(settings.startRedis ? { redis: 'started for this run' as const } : plan.redis === undefined ? {} : { redis: 'given with --redis' as const }),
      ...(roundTrip === undefined ? {} : { roundTrip: { workers: ROUND_TRIP_WORKERS, unit: 'ms' as const, ...roundTrip } }),
      ...(throughput === undefined ? {} : { throughput }),
      ...(app === undefined ? {} : { app: { ...app, unit: 'ms' as const } }),
    };
  } finally {
    bar.stop();
  }
}

function report(results: BenchResults): string {
  const sections = [
    environmentLine(results),
    ...results.skipped.map((s) => `connector ${s.connector} left out: ${s.reason}`),
    ...roundTripTables(results),
    throughputTable(results),
    appTable(results),
    goalLines(results.goals),
  ];
  return `${sections.filter((s) => s !== undefined).join('\n\n')}\n`;
}

async function main(): Promise<void> {
  const settings = parseSettings(process.argv);
  let server: RedisServer | undefined;
  const dashboard =
    settings.dashboard === undefined ? undefined : await startDashboard({ port: settings.dashboard, stores: () => [...live.stores], executors: () => Object.fromEntries(live.executors) });
  if (dashboard !== undefined) process.stdout.write(`dashboard: ${dashboard.url}\n`);
  try {
    if (settings.startRedis) server = await startRedisServer();
    const plan: Plan = server === undefined ? settings.plan : { ...settings.plan, redis: `redis://${server.host}:${server.port}` };
    const measured = await measure(settings, plan);
    const results: BenchResults = { ...measured, goals: judgeGoals(measured) };
    process.stdout.write(`\n${report(results)}`);
    await mkdir(settings.out, { recursive: true });
    const json = path.join(settings.out, `${results.engine}.json`);
    await writeFile(json, `${JSON.stringify(results, null, 2)}\n`);
    const charts = await writeFigures(results, settings.out);
    process.stdout.write(`\nwrote ${[json, ...charts].join(', ')}\n`);
  } finally {
    await server?.stop();
    await dashboard?.close();
  }
}

await main();
