/**
 * Tiled Cholesky factorization as a task graph, the paper's example of short
 * tasks that consume and produce large arrays, run by value or by proxy on a
 * piscina pool (one machine) or BullMQ workers (processes that reach one Redis).
 *
 * It imports the package by its name, as an application does (inside this
 * repository, tsconfig.json's `paths` map the name to the sources).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Piscina } from 'piscina';
import { ConfigError, SharedMemoryConnector, Store, isProxy, resolveAsync } from 'ts-proxystore';
import { RedisConnector } from 'ts-proxystore/connectors/redis';
import { StoreExecutor, type Executor, type TaskArgs, type TaskName } from 'ts-proxystore/executors';
import { BullMQExecutor, redisOptionsFromUrl } from 'ts-proxystore/executors/bullmq';
import { PiscinaExecutor } from 'ts-proxystore/executors/piscina';
import { spdMatrix } from './kernels.js';
import type { tasks } from './tasks.js';

type Tasks = typeof tasks;
type Tile = Float64Array;

export interface ExampleOptions {
  readonly engine: 'piscina' | 'bullmq';
  /** 'value': tiles are copied into every task and back; 'proxy': a StoreExecutor sends and returns them by reference. */
  readonly mode: 'value' | 'proxy';
  /** The matrix is size × size. */
  readonly size: number;
  /** Tiles are tile × tile; must divide `size`. Default 256 (512 kB tiles, above the 100 kB proxy threshold). */
  readonly tile?: number;
  /** Worker threads (piscina) or worker processes (BullMQ). Default 2. */
  readonly workers?: number;
  /** Required for BullMQ, e.g. redis://127.0.0.1:6379; also holds the tiles when by proxy. */
  readonly redis?: string;
  readonly seed?: number;
}

export interface ExampleResult {
  /** L, with A = L·Lᵀ, as a size × size row-major matrix (zeros above the diagonal). */
  readonly result: Float64Array;
  /** Wall time of the factorization: from the first task to L in hand, workers already started. */
  readonly ms: number;
  readonly tasks: number;
}

/** Factorizes `spdMatrix(size, seed)`. The same options give the same numbers, bit for bit, in every mode on every engine. */
export async function runExample(options: ExampleOptions): Promise<ExampleResult> {
  const { size, tile = 256, workers = 2 } = options;
  if (!Number.isInteger(size / tile) || size <= 0) throw new ConfigError(`tile (${tile}) must divide size (${size})`);
  const initial = tilesOf(spdMatrix(size, options.seed), size, tile);
  await using engine = await startEngine(options, workers);
  const started = performance.now();
  const { tiles, count } = factorize(engine.executor, initial);
  const result = await assemble(tiles, size, tile);
  return { result, ms: performance.now() - started, tasks: count };
}

interface Engine extends AsyncDisposable {
  readonly executor: Executor<Tasks>;
}

async function startEngine(options: ExampleOptions, workers: number): Promise<Engine> {
  const byProxy = (executor: Executor<Tasks>, store: Store): Executor<Tasks> =>
    options.mode === 'proxy' ? new StoreExecutor(executor, { store }) : executor;
  const name = `cholesky-${crypto.randomUUID()}`;
  if (options.engine === 'piscina') {
    // 'async' atomics keep idle threads responsive to the shared-memory connector (see the piscina adapter).
    const pool = new Piscina({ filename: taskModule(), minThreads: workers, maxThreads: workers, atomics: 'async' });
    const store = new Store(name, new SharedMemoryConnector());
    const executor = byProxy(new PiscinaExecutor<Tasks>(pool), store);
    await warmUp(executor, workers);
    return { executor, [Symbol.asyncDispose]: () => stopAll(executor, store, () => pool.destroy()) };
  }
  if (options.redis === undefined) throw new ConfigError('the BullMQ engine needs a Redis URL (option redis)');
  const connection = redisOptionsFromUrl(options.redis);
  const processes = await startWorkerProcesses({ queue: name, redis: options.redis, count: workers, tasks: taskModule() });
  const store = new Store(name, new RedisConnector(connection));
  const executor = byProxy(new BullMQExecutor<Tasks>(name, { connection }), store);
  await warmUp(executor, workers);
  return { executor, [Symbol.asyncDispose]: () => stopAll(executor, store, processes.stop) };
}

/**
 * One tiny call per worker before the clock starts, the way the run's calls
 * go: by proxy, each worker joins the store and the caller learns of the
 * worker's memory at start-up, as a deployment's workers do once, rather
 * than in the middle of the factorization.
 */
async function warmUp(executor: Executor<Tasks>, workers: number): Promise<void> {
  const warm = async (): Promise<void> => {
    if (!(executor instanceof StoreExecutor)) {
      await executor.submit('potrf', Float64Array.of(1));
      return;
    }
    const result = await executor.run('potrf', [Float64Array.of(1)], { proxyArgs: true, proxyResult: true });
    if (isProxy(result)) await resolveAsync(result);
    await executor.release(result);
  };
  await Promise.all(Array.from({ length: workers }, warm));
}

async function stopAll(executor: Executor<Tasks>, store: Store, stopEngine: () => Promise<unknown>): Promise<void> {
  await executor.shutdown();
  await store.close({ clear: true });
  await stopEngine();
}

function taskModule(): string {
  return fileURLToPath(new URL('./tasks.js', import.meta.url));
}

export interface WorkerProcessOptions {
  readonly queue: string;
  /** A Redis URL, e.g. redis://127.0.0.1:6379. */
  readonly redis: string;
  readonly count: number;
  /** Path of the module whose default export is the task table (`--tasks`). */
  readonly tasks: string;
}

export interface WorkerProcesses {
  /** Stops the processes, then removes the queue's keys: a run leaves nothing behind in Redis. */
  readonly stop: () => Promise<void>;
}

/**
 * `count` `ts-proxystore-worker` processes on one queue, started as an operator
 * would; resolves once every one takes jobs. If any fails to start, those that
 * did are stopped again before the error is thrown.
 */
export async function startWorkerProcesses(options: WorkerProcessOptions): Promise<WorkerProcesses> {
  const { queue, redis } = options;
  const started = await Promise.allSettled(Array.from({ length: options.count }, () => startWorkerProcess(queue, redis, options.tasks)));
  const processes = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed !== undefined) {
    await stopProcesses(processes);
    throw failed.reason;
  }
  return {
    stop: async () => {
      await stopProcesses(processes);
      // The queue's own keys outlive its jobs.
      const client = new Queue(queue, { connection: redisOptionsFromUrl(redis) });
      await client.obliterate({ force: true });
      await client.close();
    },
  };
}

async function stopProcesses(processes: readonly ChildProcess[]): Promise<void> {
  const running = processes.filter((child) => child.exitCode === null && child.signalCode === null);
  await Promise.all(running.map((child) => (child.kill('SIGTERM'), once(child, 'exit'))));
}

/** The `ts-proxystore-worker` command of the installed package, run with this Node whatever the platform's shims. */
function workerCommand(): string {
  const manifest = fileURLToPath(import.meta.resolve('ts-proxystore/package.json'));
  const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin: Record<string, string> };
  const command = bin['ts-proxystore-worker'];
  if (command === undefined) throw new ConfigError(`${manifest} names no ts-proxystore-worker command`);
  return path.join(path.dirname(manifest), command);
}

/** One `ts-proxystore-worker` process; resolves once it takes jobs. */
async function startWorkerProcess(queue: string, redis: string, tasks: string): Promise<ChildProcess> {
  const cli = workerCommand();
  const child = spawn(process.execPath, [cli, '--queue', queue, '--redis', redis, '--tasks', tasks], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await Promise.race([once(child.stdout, 'data'), once(child, 'exit').then(() => [undefined])])) as [Buffer | undefined];
  if (line === undefined || !line.toString().includes('ready')) {
    child.kill('SIGKILL');
    throw new Error('a ts-proxystore-worker process failed to start');
  }
  child.stdout.resume();
  return child;
}

/** Tile (i, j) of the lower triangle, i ≥ j, at index i·(i+1)/2 + j. */
const at = (i: number, j: number): number => (i * (i + 1)) / 2 + j;

function tilesOf(matrix: Float64Array, size: number, tile: number): Tile[] {
  const count = size / tile;
  const tiles: Tile[] = [];
  for (let i = 0; i < count; i++) {
    for (let j = 0; j <= i; j++) {
      const t = new Float64Array(tile * tile);
      for (let r = 0; r < tile; r++) t.set(matrix.subarray((i * tile + r) * size + j * tile, (i * tile + r) * size + (j + 1) * tile), r * tile);
      tiles[at(i, j)] = t;
    }
  }
  return tiles;
}

/**
 * The right-looking algorithm as a dataflow graph: every task starts as soon
 * as the tiles it reads exist, so independent updates overlap. A version of an
 * A tile is read by exactly one task; once that task has settled the version
 * is released (by proxy it is freed from the store at once).
 */
function factorize(executor: Executor<Tasks>, initial: Tile[]): { tiles: Promise<Tile>[]; count: number } {
  const a: Promise<Tile>[] = initial.map((t) => Promise.resolve(t));
  const l: Promise<Tile>[] = [];
  const release = executor instanceof StoreExecutor ? (tile: Tile) => executor.release(tile) : () => Promise.resolve();
  let count = 0;
  const step = <K extends TaskName<Tasks>>(task: K, inputs: Promise<Tile>[], consumed: number): Promise<Tile> => {
    count++;
    return Promise.all(inputs).then(async (tiles) => {
      try {
        // Every kernel takes tiles only, as many as `inputs` holds.
        return (await executor.run(task, tiles as unknown as TaskArgs<Tasks, K>)) as Tile;
      } finally {
        await release(tiles[consumed]!);
      }
    });
  };
  const n = Math.round((Math.sqrt(8 * initial.length + 1) - 1) / 2);
  for (let k = 0; k < n; k++) {
    l[at(k, k)] = step('potrf', [a[at(k, k)]!], 0);
    for (let i = k + 1; i < n; i++) l[at(i, k)] = step('trsm', [l[at(k, k)]!, a[at(i, k)]!], 1);
    for (let i = k + 1; i < n; i++) {
      a[at(i, i)] = step('syrk', [a[at(i, i)]!, l[at(i, k)]!], 0);
      for (let j = k + 1; j < i; j++) a[at(i, j)] = step('gemm', [a[at(i, j)]!, l[at(i, k)]!, l[at(j, k)]!], 0);
    }
  }
  return { tiles: l, count };
}

/** L in one matrix; proxied tiles are read from the store concurrently. */
async function assemble(tiles: Promise<Tile>[], size: number, tile: number): Promise<Float64Array> {
  const result = new Float64Array(size * size);
  const count = size / tile;
  const values = await Promise.all(tiles.map(async (t) => {
    const value = await t;
    return isProxy(value) ? resolveAsync(value) : value;
  }));
  for (let i = 0; i < count; i++) {
    for (let j = 0; j <= i; j++) {
      const t = values[at(i, j)]!;
      for (let r = 0; r < tile; r++) result.set(t.subarray(r * tile, (r + 1) * tile), (i * tile + r) * size + j * tile);
    }
  }
  return result;
}
