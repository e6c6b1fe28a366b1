/**
 * Futures, measured (issue 20):
 * 1. How soon a future's proxy resolves elsewhere after `setResult` (median
 *    of 100): in another process through Redis and files, in a worker thread
 *    through shared memory; each waiting as it does (Redis: a blocking read;
 *    shared memory: Atomics) and, side by side in the same run, by polling.
 *    Goals: Redis ≤ 5 ms, shared memory ≤ 1 ms.
 * 2. A 3-stage pipeline of 1 MB tasks on piscina (file store; each stage
 *    prepares 40 ms before it needs its input, then works 20 ms): sequential
 *    awaits against futures, time to the last result. Goal: futures ≥ 1.5x sooner.
 * Run: `npm run build && node dist/bench/micro/futures.bench.js [--only latency|pipeline]` (starts its own redis-server).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { FileConnector, SharedMemoryConnector, Store, StoreExecutor, encodeProxies, type Connector } from '../../src/index.js';
import { RedisConnector } from '../../runtime/connectors/redis.js';
import { PiscinaExecutor } from '../../runtime/executors/piscina.js';
import { startRedisServer } from '../../runtime/testing/redis-server.js';
import { median } from '../timing.js';
import type { tasks as pipelineTasks } from './workers/pipeline.js';

const here = path.dirname(new URL(import.meta.url).pathname);

/** One reader elsewhere: hand it a future's proxy, then learn when its value arrived there. */
interface Reader {
  wait(encoded: unknown): Promise<void>;
  arrived(): Promise<number>;
  stop(): Promise<void>;
}

function processReader(poll: boolean): Reader {
  const child = spawn(process.execPath, [path.join(here, 'workers', 'future-reader.js'), poll ? 'poll' : 'wait'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    async wait(encoded) {
      child.stdin.write(`${JSON.stringify(encoded)}\n`);
      await lines.next(); // 'waiting'
    },
    arrived: async () => (JSON.parse((await lines.next()).value as string) as { at: number }).at,
    async stop() {
      child.stdin.end();
      await once(child, 'exit');
    },
  };
}

function threadReader(poll: boolean, how: 'sync' | 'async'): Reader {
  const worker = new Worker(path.join(here, 'workers', 'future-thread-reader.js'));
  const messages: unknown[] = [];
  let wake: (() => void) | undefined;
  worker.on('message', (message: unknown) => {
    messages.push(message);
    wake?.();
  });
  const next = async (): Promise<unknown> => {
    while (messages.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    return messages.shift();
  };
  return {
    async wait(encoded) {
      worker.postMessage({ encoded, how, poll });
      await next(); // 'waiting'
    },
    arrived: async () => ((await next()) as { at: number }).at,
    stop: async () => void (await worker.terminate()),
  };
}

async function latency(connector: Connector, label: string, reader: Reader, rounds = 100): Promise<number> {
  const store = new Store(`future-latency-${label}`, connector);
  const gaps: number[] = [];
  for (let n = 0; n < rounds; n++) {
    const future = store.future<{ n: number }>({ timeoutMs: 10_000 });
    await reader.wait(encodeProxies({ p: future.proxy() }));
    // Let the reader settle into its wait, as a downstream task would be (and a polling one back off to its longest poll).
    await new Promise((resolve) => setTimeout(resolve, 40));
    const setAt = performance.timeOrigin + performance.now();
    await future.setResult({ n });
    gaps.push((await reader.arrived()) - setAt);
  }
  await reader.stop();
  await store.close({ clear: true });
  return median(gaps);
}

type Tasks = typeof pipelineTasks;

async function pipeline(connector: Connector): Promise<{ sequential: number; futures: number }> {
  const store = new Store(`pipeline-${connector.kind}`, connector, { cacheSize: 0 });
  const pool = new Piscina({ filename: path.join(here, 'workers', 'pipeline.js'), minThreads: 3, maxThreads: 3, atomics: 'async' });
  const executor = new StoreExecutor(new PiscinaExecutor<Tasks>(pool), { store, shouldProxy: { minBytes: 100_000 }, resultThreshold: 100_000 });
  const input = new Float64Array(131_072).fill(1); // 1 MB
  const [PREP, WORK] = [40, 20];
  const sequentialRun = async (): Promise<void> => {
    const a = await executor.run('stage', [input, PREP, WORK]);
    const b = await executor.run('stage', [a, PREP, WORK]);
    await executor.run('stage', [b, PREP, WORK]);
    await executor.release(a, b);
  };
  const futuresRun = async (): Promise<void> => {
    const a = executor.future('stage', [input, PREP, WORK]);
    const b = executor.future('stage', [a.proxy() as unknown as Float64Array, PREP, WORK]);
    await executor.run('stage', [b.proxy() as unknown as Float64Array, PREP, WORK]);
    await executor.release(a.proxy(), b.proxy());
  };
  const times: [number[], number[]] = [[], []];
  for (let rep = 0; rep < 12; rep++) {
    for (const [i, run] of [sequentialRun, futuresRun].entries()) {
      const t0 = performance.now();
      await run();
      if (rep >= 2) times[i]?.push(performance.now() - t0);
    }
  }
  await executor.shutdown();
  await pool.destroy();
  await store.close({ clear: true });
  return { sequential: median(times[0]), futures: median(times[1]) };
}

/** `--only latency` or `--only pipeline` runs one part. */
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const server = await startRedisServer();
const directory = await mkdtemp(path.join(os.tmpdir(), 'futures-bench-'));
try {
  const redis = (label: string): Connector => new RedisConnector({ port: server.port, prefix: `proxystore:futures-bench-${label}:` });
  const shm = (label: string): Connector => new SharedMemoryConnector({ space: `futures-bench-${label}` });
  const lanes: [string, () => Promise<number>, string][] = [
    ['redis, blocking read (other process)', () => latency(redis('wait'), 'redis-wait', processReader(false)), '≤ 5'],
    ['redis, polling (other process)', () => latency(redis('poll'), 'redis-poll', processReader(true)), '-'],
    ['shared memory, Atomics.waitAsync (worker thread)', () => latency(shm('async'), 'shm-async', threadReader(false, 'async')), '≤ 1'],
    ['shared memory, Atomics.wait on first touch (worker thread)', () => latency(shm('sync'), 'shm-sync', threadReader(false, 'sync')), '≤ 1'],
    ['shared memory, polling (worker thread)', () => latency(shm('poll'), 'shm-poll', threadReader(true, 'async')), '-'],
    ['file, polling (other process)', () => latency(new FileConnector({ directory: path.join(directory, 'latency') }), 'file', processReader(false)), '-'],
  ];
  const rows: Record<string, { ms: string; goal: string; met: string }> = {};
  for (const [label, measure, goal] of only === 'pipeline' ? [] : lanes) {
    const ms = await measure();
    rows[label] = { ms: ms.toFixed(3), goal, met: goal === '-' ? '-' : ms <= Number(goal.slice(2)) ? 'yes' : 'no' };
  }
  if (only !== 'pipeline') {
    console.log('A future resolving elsewhere after setResult (median of 100, ms)');
    console.table(rows);
  }
  const pipelines: Record<string, { 'sequential awaits ms': string; 'futures ms': string; 'sequential / futures': string }> = {};
  for (const [label, connector] of only === 'latency' ? [] : [
    ['file store (polls)', new FileConnector({ directory: path.join(directory, 'pipeline') })],
    ['shared-memory store (Atomics)', new SharedMemoryConnector({ space: 'futures-bench-pipeline' })],
  ] as const) {
    const { sequential, futures } = await pipeline(connector);
    const ratio = sequential / futures;
    pipelines[label] = {
      'sequential awaits ms': sequential.toFixed(1),
      'futures ms': futures.toFixed(1),
      'sequential / futures': `${ratio.toFixed(2)}x (goal ≥ 1.5x: ${ratio >= 1.5 ? 'met' : 'not met'})`,
    };
  }
  if (only !== 'latency') {
    console.log('3-stage pipeline of 1 MB tasks on piscina, time to the last result (median of 10, ms)');
    console.table(pipelines);
  }
} finally {
  await server.stop();
  await rm(directory, { recursive: true, force: true });
}
