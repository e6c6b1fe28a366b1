/**
 * The engines and stores the benchmark measures: a piscina pool of worker
 * threads or BullMQ worker processes, each reached three ways — by value (the
 * bare executor), by proxy (a StoreExecutor per connector) and by hand (keys
 * of the same connector passed through the bare executor).
 */
import type { ExecutorStats } from 'ts-proxystore/observe';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Piscina } from 'piscina';
import { startWorkerProcesses } from '../../examples/tiled-cholesky/run.js';
import { FileConnector, SharedMemoryConnector, Store, type Connector } from 'ts-proxystore';
import { PEER_SECRET_ENV, PeerConnector } from 'ts-proxystore/connectors/peer';
import { RedisConnector } from 'ts-proxystore/connectors/redis';
import { BullMQExecutor, redisOptionsFromUrl } from 'ts-proxystore/executors/bullmq';
import type { Executor } from 'ts-proxystore';
import { PiscinaExecutor } from 'ts-proxystore/executors/piscina';
import { StoreExecutor } from 'ts-proxystore';
import type { tasks } from './workers/tasks.js';

export type BenchTasks = typeof tasks;
export type EngineName = 'piscina' | 'bullmq';
export type ConnectorName = 'shared-memory' | 'file' | 'memory' | 'redis' | 'peer';

/** Which connectors each engine can use at all, and why the others are left out. */
export const UNREACHABLE: Readonly<Record<EngineName, Partial<Record<ConnectorName, string>>>> = {
  piscina: { memory: "a memory store lives in one thread's heap: piscina's worker threads cannot read it" },
  bullmq: {
    memory: "a memory store lives in one thread's heap: BullMQ's worker processes cannot read it",
    'shared-memory': 'shared memory reaches the threads of one process: BullMQ workers are other processes',
  },
};

export interface Lane {
  readonly connector: ConnectorName;
  readonly store: Store;
  /** Proxies every argument and every result, whatever its size: the curve shows pass-by-proxy itself, not a threshold. */
  readonly byProxy: StoreExecutor<BenchTasks>;
}

export interface Engine extends AsyncDisposable {
  readonly name: EngineName;
  readonly workers: number;
  readonly byValue: Executor<BenchTasks>;
  readonly lanes: readonly Lane[];
}

export interface EngineSpec {
  readonly name: EngineName;
  readonly workers: number;
  readonly connectors: readonly ConnectorName[];
  /** Needed by BullMQ and by the Redis connector. */
  readonly redis?: string;
}

/** BullMQ events carry results inline; a short stream keeps by-value payloads from piling up in Redis (BullMQ keeps 10 000 events by default). */
const EVENTS_KEPT = 1_000;

/** What runs now, for `--dashboard`: the stores and executors of the engine being measured. */
export const live = { stores: new Set<Store>(), executors: new Map<string, { stats(): ExecutorStats }>() };

export async function startEngine(spec: EngineSpec): Promise<Engine> {
  const stores: OpenStore[] = [];
  let workers: Workers;
  try {
    for (const connector of spec.connectors) stores.push(openStore(connector, spec.redis));
    workers = spec.name === 'piscina' ? startPool(spec.workers) : await startWorkers(spec.workers, requireRedis(spec));
  } catch (error) {
    await Promise.all(stores.map((s) => s.close()));
    throw error;
  }
  const lanes = stores.map(({ connector, store }) => ({
    connector,
    store,
    byProxy: new StoreExecutor(workers.executor, { store, shouldProxy: 'always' }),
  }));
  const shown = [
    // The bare executor carries every call: by value, by hand, and those of the proxy lanes, which wrap it.
    [`${spec.name} engine (all calls)`, workers.executor] as const,
    ...lanes.map((lane) => [`${spec.name} by proxy (${lane.connector})`, lane.byProxy] as const),
  ];
  for (const [name, executor] of shown) live.executors.set(name, executor);
  for (const { store } of stores) live.stores.add(store);
  const dispose = async (): Promise<void> => {
    for (const [name] of shown) live.executors.delete(name);
    for (const { store } of stores) live.stores.delete(store);
    // Each StoreExecutor shuts the shared bare executor down too; shutdown is idempotent, and stop() does it again when there is no lane.
    await Promise.all(lanes.map((lane) => lane.byProxy.shutdown()));
    await workers.stop();
    await Promise.all(stores.map((s) => s.close()));
  };
  return { name: spec.name, workers: spec.workers, byValue: workers.executor, lanes, [Symbol.asyncDispose]: dispose };
}

interface OpenStore {
  readonly connector: ConnectorName;
  readonly store: Store;
  close(): Promise<void>;
}

function openStore(name: ConnectorName, redis: string | undefined): OpenStore {
  const storeName = `bench-${name}-${crypto.randomUUID()}`;
  let directory: string | undefined;
  let connector: Connector;
  switch (name) {
    case 'shared-memory':
      connector = new SharedMemoryConnector();
      break;
    case 'file':
      directory = mkdtempSync(path.join(os.tmpdir(), 'ts-proxystore-bench-'));
      connector = new FileConnector({ directory: path.join(directory, 'objects') });
      break;
    case 'redis':
      if (redis === undefined) throw new Error('the redis connector needs a Redis URL');
      connector = new RedisConnector(redisOptionsFromUrl(redis));
      break;
    case 'peer':
      // Worker processes started after this inherit the secret, as a deployment would set it on every peer.
      process.env[PEER_SECRET_ENV] ??= crypto.randomUUID();
      connector = new PeerConnector();
      break;
    case 'memory':
      throw new Error(UNREACHABLE.piscina.memory);
  }
  const store = new Store(storeName, connector);
  return {
    connector: name,
    store,
    close: async () => {
      await store.close({ clear: true });
      if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
    },
  };
}

function requireRedis(spec: EngineSpec): string {
  if (spec.redis === undefined) throw new Error('the BullMQ engine needs a Redis URL');
  return spec.redis;
}

interface Workers {
  readonly executor: Executor<BenchTasks>;
  /** Shuts the executor down, then the threads or processes behind it. */
  stop(): Promise<void>;
}

/** Compiled next to this file, so dist/bench/paper/workers/tasks.js from dist/bench/paper/engines.js. */
const TASK_MODULE = fileURLToPath(new URL('./workers/tasks.js', import.meta.url));

function startPool(threads: number): Workers {
  // 'async' atomics keep idle threads able to answer the shared-memory connector (see the piscina adapter).
  const pool = new Piscina({ filename: TASK_MODULE, minThreads: threads, maxThreads: threads, atomics: 'async' });
  // closePool: the executor's shutdown closes the pool, and closing a piscina pool destroys its threads.
  const executor = new PiscinaExecutor<BenchTasks>(pool, { closePool: true });
  return { executor, stop: () => executor.shutdown() };
}

async function startWorkers(count: number, redis: string): Promise<Workers> {
  const queueName = `bench-${crypto.randomUUID()}`;
  const connection = redisOptionsFromUrl(redis);
  const processes = await startWorkerProcesses({ queue: queueName, redis, count, tasks: TASK_MODULE });
  const executor = new BullMQExecutor<BenchTasks>(queueName, { connection });
  const stop = async (): Promise<void> => {
    await executor.shutdown();
    await processes.stop();
  };
  try {
    // getVersion waits until the executor's queue has written its settings, so the length written next is the one workers apply.
    await executor.queue.getVersion();
    const settings = new Queue(queueName, { connection, streams: { events: { maxLen: EVENTS_KEPT } } });
    await settings.getVersion();
    await settings.close();
  } catch (error) {
    await stop();
    throw error;
  }
  return { executor, stop };
}
