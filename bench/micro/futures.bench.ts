/**
 * Futures, measured (issue 20):
 * 1. How soon a future's proxy resolves in another process after `setResult`
 *    (median of 100), through Redis and through files. Goal: Redis ≤ 5 ms.
 * 2. A 3-stage pipeline of 1 MB tasks on piscina (file store; each stage
 *    prepares 40 ms before it needs its input, then works 20 ms): sequential
 *    awaits against futures, time to the last result. Goal: futures ≥ 1.5x sooner.
 * Run: `npm run build && node dist/bench/micro/futures.bench.js` (starts its own redis-server).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Piscina } from 'piscina';
import { FileConnector, Store, StoreExecutor, encodeProxies, type Connector } from 'ts-proxystore';
import { RedisConnector } from 'ts-proxystore/connectors/redis';
import { PiscinaExecutor } from 'ts-proxystore/executors/piscina';
import { startRedisServer } from 'ts-proxystore/testing';
import { median } from '../timing.js';
import type { tasks as pipelineTasks } from './workers/pipeline.js';

const here = path.dirname(new URL(import.meta.url).pathname);

async function latency(connector: Connector, label: string, rounds = 100): Promise<number> {
  const store = new Store(`future-latency-${label}`, connector);
  const child = spawn(process.execPath, [path.join(here, 'workers', 'future-reader.js')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const gaps: number[] = [];
  for (let n = 0; n < rounds; n++) {
    const future = store.future<{ n: number }>({ timeoutMs: 10_000 });
    child.stdin.write(`${JSON.stringify(encodeProxies({ p: future.proxy() }))}\n`);
    await lines.next(); // 'waiting'
    // Let the reader settle into its wait, as a downstream task would be.
    await new Promise((resolve) => setTimeout(resolve, 15));
    const setAt = performance.timeOrigin + performance.now();
    await future.setResult({ n });
    const arrived = JSON.parse((await lines.next()).value as string) as { n: number; at: number };
    gaps.push(arrived.at - setAt);
  }
  child.stdin.end();
  await store.close({ clear: true });
  return median(gaps);
}

type Tasks = typeof pipelineTasks;

async function pipeline(directory: string): Promise<{ sequential: number; futures: number }> {
  const store = new Store('pipeline', new FileConnector({ directory }), { cacheSize: 0 });
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

const server = await startRedisServer();
const directory = await mkdtemp(path.join(os.tmpdir(), 'futures-bench-'));
try {
  const redisMs = await latency(new RedisConnector({ port: server.port, prefix: 'proxystore:futures-bench:' }), 'redis');
  const fileMs = await latency(new FileConnector({ directory: path.join(directory, 'latency') }), 'file');
  console.log('A future resolving in another process after setResult (median of 100, ms)');
  console.table({
    redis: { ms: redisMs.toFixed(2), goal: '≤ 5', met: redisMs <= 5 ? 'yes' : 'no' },
    file: { ms: fileMs.toFixed(2), goal: '-', met: '-' },
  });
  const { sequential, futures } = await pipeline(path.join(directory, 'pipeline'));
  const ratio = sequential / futures;
  console.log('3-stage pipeline of 1 MB tasks on piscina, time to the last result (median of 10, ms)');
  console.table({
    'sequential awaits': { ms: sequential.toFixed(1) },
    futures: { ms: futures.toFixed(1) },
    'sequential / futures': { ms: `${ratio.toFixed(2)}x (goal ≥ 1.5x: ${ratio >= 1.5 ? 'met' : 'not met'})` },
  });
} finally {
  await server.stop();
  await rm(directory, { recursive: true, force: true });
}
