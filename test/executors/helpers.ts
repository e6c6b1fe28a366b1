import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Piscina } from 'piscina';
import { vi } from 'vitest';
import { FileConnector } from '../../runtime/connectors/file.js';
import type { Key } from '../../runtime/connectors/connector.js';
import { Store } from '../../runtime/store/store.js';
import type { ReadonlyView } from '../../src/ownership.js';

/** Fixture modules import the package by name, i.e. the build in dist/ (npm test builds first). */
export const fixture = (name: string): string => path.join(import.meta.dirname, '..', 'fixtures', name);

export function taskPool(module = 'executor-tasks.mjs', threads = 2): Piscina {
  return closingLoadedOnly(new Piscina({ filename: fixture(module), minThreads: threads, maxThreads: threads, atomics: 'async' }));
}

/** The key of the message a piscina worker posts once it has loaded its task module (piscina's common.READY). */
const PISCINA_READY = '_WORKER_READY';

/**
 * `pool`, whose close and destroy first wait (up to 10 s) until every thread
 * has loaded its task module. Node 20 aborts the whole process when a worker
 * is terminated while require() instantiates an ES module (FATAL ERROR
 * v8::Module::IsGraphAsync), and piscina loads task modules with require(): a
 * test that closes its pool just after making it, or just after an abort made
 * piscina start a new thread, would otherwise kill the test process now and then.
 * Must be called before the event loop turns, so that no first thread's ready
 * message has gone by.
 */
function closingLoadedOnly(pool: Piscina): Piscina {
  const loaded = new Set<number>();
  const first = new Set(pool.threads.map((worker) => worker.threadId));
  for (const worker of pool.threads) {
    worker.on('message', (message: unknown) => {
      if (typeof message === 'object' && message !== null && PISCINA_READY in message) loaded.add(worker.threadId);
    });
  }
  // piscina tells of a later thread (one replacing a terminated one) only once it is ready.
  pool.on('workerCreate', (worker: { readonly id: number }) => {
    if (!first.has(worker.id)) loaded.add(worker.id);
  });
  const allLoaded = (): Promise<void> => eventually(() => pool.threads.every((worker) => worker.threadId === -1 || loaded.has(worker.threadId)), 10_000);
  const close = pool.close.bind(pool);
  const destroy = pool.destroy.bind(pool);
  pool.close = async (...args) => {
    await allLoaded();
    return close(...args);
  };
  pool.destroy = async () => {
    await allLoaded();
    return destroy();
  };
  return pool;
}

/** Polls until `check` holds, for effects that land after the promise the test awaits (frees at final settlement). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition still false after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface Inspection {
  readonly proxy: boolean;
  readonly type: string;
  readonly shared: boolean;
}

/**
 * Watches what the executor stores as inputs in `store`: the values it picked
 * (in call order) and, once written, their keys.
 */
export function watchStoredInputs(store: Store): { picked: () => unknown[]; keys: () => Promise<Key[]> } {
  // Every way an executor stores inputs (proxies, or keys for an engine that takes them) goes through one putBatch.
  const spy = vi.spyOn(store, 'putBatch');
  return {
    picked: () => spy.mock.calls.flatMap(([values]) => values),
    keys: async () => (await Promise.all(spy.mock.results.map((result) => result.value as Promise<Key[]>))).flat(),
  };
}

/** A Float64Array of `bytes` bytes whose i-th element is `i + offset`. */
export const floats = (bytes: number, offset = 0): Float64Array => Float64Array.from({ length: bytes / 8 }, (_, i) => i + offset);

export const sumOf = (array: ArrayLike<number>): number => Array.prototype.reduce.call(array, (a, b) => (a as number) + (b as number), 0) as number;

/** The signatures of test/fixtures/executor-tasks.mjs, as a caller would state them. */
export interface FixtureTasks {
  echo(value: unknown): unknown;
  /** Read-only, so a shared borrow (RefProxy) may be passed. */
  sum(array: ReadonlyView<Float64Array>): number;
  scale(array: Float64Array, k: number): Float64Array;
  fill(length: number, value: number): Float64Array;
  fillInPlace(length: number, value: number): Float64Array;
  /** Whether the last `fillInPlace` result lay in shared memory. */
  writeLastInPlace(index: number, value: number): boolean;
  slowFill(ms: number, length: number, value: number, ...ignored: unknown[]): Float64Array;
  inspect(...args: unknown[]): Inspection[];
  nested(arg: { inner: { data: Float64Array } }): number;
  throws(message: string): never;
  throwsValue(value: unknown): never;
  exit(code: number, ...ignored: unknown[]): never;
  kill(...ignored: unknown[]): never;
  sleep(ms: number, ...ignored: unknown[]): undefined;
  spin(...ignored: unknown[]): never;
  untilAborted(...ignored: unknown[]): never;
  flaky(id: string, failures: number, array: Float64Array): { attempts: number; sum: number };
}

export interface FileStore {
  readonly store: Store;
  /** The objects the store holds now, counted from outside the store. */
  readonly files: () => string[];
  readonly remove: () => Promise<void>;
}

/** A store whose contents a test can count: one file per object. */
export function fileStore(): FileStore {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'executor-'));
  const store = new Store(`file-${crypto.randomUUID()}`, new FileConnector({ directory }), { cacheSize: 0 });
  return {
    store,
    files: () => readdirSync(directory),
    remove: async () => {
      await store.close({ clear: true });
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

const CLI = path.join(import.meta.dirname, '..', '..', 'dist', 'runtime', 'executors', 'bullmq', 'worker-cli.js');

export interface CliWorker {
  readonly child: ChildProcess;
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>;
}

/** `ts-proxystore-worker` as a user would start it; resolves once it says it is ready. */
export async function startCli(queue: string, port: number, extra: string[] = [], password?: string): Promise<CliWorker> {
  const redis = `redis://${password === undefined ? '' : `:${encodeURIComponent(password)}@`}127.0.0.1:${port}`;
  const args = [CLI, '--queue', queue, '--redis', redis, '--tasks', fixture('executor-tasks.mjs'), ...extra];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('ts-proxystore-worker ready')) resolve();
    });
    void exited.then(([code]) => reject(new Error(`worker exited (${String(code)}) before it was ready:\n${output}`)));
  });
  return { child, exited };
}
