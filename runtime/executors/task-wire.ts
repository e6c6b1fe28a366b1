/**
 * What both engines send and run, so piscina and BullMQ differ only in how the
 * messages travel (structured clone / serialized job data).
 *
 * A call (caller → worker):
 *   { v: 1, task, args, origin, results?, timeoutMs? }
 *   args     the arguments with every store proxy, at any depth, replaced by its descriptor
 *   origin   { host, pid, thread } of the caller, to tell which stores it can reach
 *   results  { store: StoreConfig, minBytes }: where results of at least minBytes go, as proxies
 * A reply (worker → caller):
 *   { ok: true, value, proxied }  value encoded like args; proxied: value is a proxy made for this call
 *   { ok: false, error: { name, message, stack } }
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import os from 'node:os';
import { threadId } from 'node:worker_threads';
import { DEFAULT_AUTO_PROXY_THRESHOLD } from '../auto-proxy.js';
import type { ReferencePolicy } from '../connector.js';
import '../connectors/index.js';
import { ConfigError } from '../errors.js';
import { resolveAll } from '../prefetch.js';
import { isProxy } from '../proxy.js';
import { decodeProxies, encodeProxiesAsync, type ProxyDescriptor } from '../references.js';
import { getOrCreateStore, getStore } from '../registry.js';
import type { Store, StoreConfig } from '../store.js';
import { collectLeaves } from '../walk.js';
import type { Encoded } from '../../src/types.js';
import { TaskError, TaskTimeoutError, type RemoteError } from './errors.js';
import type { RunOptions, TaskOutcome } from './executor.js';
import { sizeAtLeast } from './size.js';

export interface Origin {
  readonly host: string;
  readonly pid: number;
  readonly thread: number;
}

export interface TaskCall {
  readonly v: 1;
  readonly task: string;
  readonly args: Encoded<readonly unknown[]>;
  readonly origin: Origin;
  readonly results?: { readonly store: StoreConfig; readonly minBytes: number };
  readonly timeoutMs?: number;
}

export type TaskReply = TaskSuccess | { readonly ok: false; readonly error: RemoteError };

export interface TaskSuccess {
  readonly ok: true;
  readonly value: Encoded<unknown>;
  readonly proxied: boolean;
}

const HERE: Origin = { host: os.hostname(), pid: process.pid, thread: threadId };

/**
 * Whether objects of `store` made at `origin` can be read here (and the other
 * way round). Memory lives in one thread's heap; shared memory reaches the
 * threads of one process; other connectors reach any process their config reaches.
 */
function reaches(store: Store, origin: Origin): boolean {
  const sameProcess = origin.host === HERE.host && origin.pid === HERE.pid;
  switch (store.connector.kind) {
    case 'memory':
      return sameProcess && origin.thread === HERE.thread;
    case 'shared-memory':
      return sameProcess;
    default:
      return true;
  }
}

// ---- caller side ----

/** Waits for background (autoProxy) writes of the proxies it encodes, so the worker never sees a key before its bytes. */
export async function encodeCall(task: string, args: readonly unknown[], options: RunOptions): Promise<TaskCall> {
  const { results, timeoutMs } = options;
  return {
    v: 1,
    task,
    args: await encodeProxiesAsync(args),
    origin: HERE,
    ...(results === undefined || results.minBytes === Infinity ? {} : { results: { store: results.store.config(), minBytes: results.minBytes } }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  };
}

/** The outcome a reply stands for; a failed task throws the error the caller should see. */
export function decodeReply(task: string, reply: unknown, options: { policy?: ReferencePolicy; timeoutMs?: number }): TaskOutcome<unknown> {
  if (!isReply(reply)) throw new ConfigError(`task '${task}': the worker answered with something other than a task reply: is its module built with defineTasks?`);
  if (!reply.ok) throw remoteFailure(task, reply.error, options.timeoutMs);
  const value = decodeProxies(reply.value, options.policy === undefined ? {} : { policy: options.policy });
  return { value, made: reply.proxied ? [value as object] : [] };
}

/** The caller-side error for a task that failed in its worker. */
export function remoteFailure(task: string, error: RemoteError, timeoutMs: number | undefined): Error {
  return error.name === 'TaskTimeoutError' && timeoutMs !== undefined ? new TaskTimeoutError(task, timeoutMs) : new TaskError(task, error);
}

function isReply(value: unknown): value is TaskReply {
  if (typeof value !== 'object' || value === null) return false;
  const reply = value as Partial<Record<'ok' | 'proxied' | 'error', unknown>>;
  return reply.ok === true ? typeof reply.proxied === 'boolean' : reply.ok === false && typeof reply.error === 'object' && reply.error !== null;
}

// ---- worker side ----

export interface WorkerTaskOptions {
  /** Where big results go. Wins over the store the caller asks for; without either, results go back by value. */
  readonly store?: Store;
  /** Results at least this big (bytes) come back as proxies. Wins over the caller's; default 100 kB. */
  readonly resultThreshold?: number;
  /** What descriptors in calls may point at (connector kinds, file roots, hosts). */
  readonly policy?: ReferencePolicy;
}

const taskSignals = new AsyncLocalStorage<AbortSignal>();
const NEVER_ABORTED = new AbortController().signal;

/**
 * Inside a task: the signal that aborts when the call times out or the engine
 * cancels it. A task that checks it stops early instead of running on unseen.
 */
export function taskSignal(): AbortSignal {
  return taskSignals.getStore() ?? NEVER_ABORTED;
}

export function describeError(error: unknown): RemoteError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  return { name: String(error.name), message: String(error.message), ...(error.stack === undefined ? {} : { stack: error.stack }) };
}

/** Runs calls against a table of task functions: the worker half of every engine. */
export class TaskRunner {
  constructor(
    readonly tasks: Readonly<Record<string, unknown>>,
    readonly options: WorkerTaskOptions = {},
  ) {}

  /** The reply to send; the task's own failure becomes a failed reply. */
  async reply(call: unknown): Promise<TaskReply> {
    try {
      return await this.run(call);
    } catch (error) {
      return { ok: false, error: describeError(error) };
    }
  }

  /** Decodes and prefetches the inputs, runs the task, proxies a big result; throws whatever the task threw. */
  async run(call: unknown, signal?: AbortSignal): Promise<TaskSuccess> {
    if (!isCall(call)) throw new ConfigError('not a ts-proxystore task call: send calls through a ts-proxystore executor');
    const fn = Object.hasOwn(this.tasks, call.task) ? this.tasks[call.task] : undefined;
    if (typeof fn !== 'function') {
      throw new ConfigError(`no task named '${call.task}' in this worker (it has: ${Object.keys(this.tasks).join(', ') || 'none'})`);
    }
    await loadConnectorKinds(call);
    const { policy } = this.options;
    const args = decodeProxies(call.args, policy === undefined ? {} : { policy }) as unknown[];
    checkReachable(args, call.origin);
    await resolveAll(args);
    const value = await withDeadline(call, signal, (taskSignal) => taskSignals.run(taskSignal, () => (fn as (...a: unknown[]) => unknown)(...args)));
    const store = this.options.store ?? (call.results === undefined ? undefined : getOrCreateStore(call.results.store, { trusted: false, ...(policy === undefined ? {} : { policy }) }));
    const threshold = this.options.resultThreshold ?? call.results?.minBytes ?? DEFAULT_AUTO_PROXY_THRESHOLD;
    if (store !== undefined && typeof value === 'object' && value !== null && !isProxy(value) && reaches(store, call.origin) && sizeAtLeast(value, threshold)) {
      return { ok: true, value: await encodeProxiesAsync(await store.proxy(value)), proxied: true };
    }
    return { ok: true, value: await encodeProxiesAsync(value), proxied: false };
  }
}

/** Runs `work` under a signal that aborts with the engine's signal or at the call's deadline, whichever comes first. */
async function withDeadline(call: TaskCall, outer: AbortSignal | undefined, work: (signal: AbortSignal) => unknown): Promise<unknown> {
  const controller = new AbortController();
  const stopped = new Promise<never>((_, reject) => {
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason as Error), { once: true });
  });
  const abort = (): void => controller.abort(outer?.reason);
  if (outer?.aborted === true) abort();
  outer?.addEventListener('abort', abort, { once: true });
  const timeoutMs = call.timeoutMs;
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => controller.abort(new TaskTimeoutError(call.task, timeoutMs)), timeoutMs);
  try {
    const running = Promise.resolve(work(controller.signal));
    // A task that runs on past its deadline may fail later, when nobody listens any more.
    running.catch(() => undefined);
    return await Promise.race([running, stopped]);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', abort);
  }
}

/**
 * Connector kinds whose module a worker module has no reason to import (the
 * caller's store decides), loaded on first sight: importing registers a kind.
 * The built-in kinds come with the import of '../connectors/index.js' above.
 */
const LAZY_KINDS: Readonly<Record<string, () => Promise<unknown>>> = { redis: () => import('../connectors/redis.js') };

async function loadConnectorKinds(call: TaskCall): Promise<void> {
  const kinds = new Set<string>();
  // Descriptors are not validated yet (decoding does that), so their configs are searched, not trusted; a multi connector nests others.
  for (const descriptor of collectLeaves(call.args, isDescriptor)) kindsIn((descriptor as Partial<ProxyDescriptor>).store, kinds);
  kindsIn(call.results?.store, kinds);
  const loaders = Object.entries(LAZY_KINDS).filter(([kind]) => kinds.has(kind));
  await Promise.all(loaders.map(([, load]) => load()));
}

function kindsIn(config: unknown, kinds: Set<string>): void {
  if (typeof config !== 'object' || config === null) return;
  for (const [name, value] of Object.entries(config)) {
    if (name === 'kind' && typeof value === 'string') kinds.add(value);
    else kindsIn(value, kinds);
  }
}

function isDescriptor(value: unknown): value is object {
  return typeof value === 'object' && value !== null && Object.hasOwn(value, '$proxystore');
}

function checkReachable(args: readonly unknown[], origin: Origin): void {
  for (const p of collectLeaves(args, isProxy)) {
    const store = getStore(p);
    if (store === undefined || reaches(store, origin)) continue;
    const reach = store.connector.kind === 'memory' ? 'thread' : 'process';
    throw new ConfigError(
      `an input is in store '${store.name}', whose ${store.connector.kind} connector only the ${reach} that made it can read, and this task runs in another: ` +
        'use a shared-memory store for worker threads of one process, a file or Redis store beyond',
    );
  }
}

function isCall(value: unknown): value is TaskCall {
  if (typeof value !== 'object' || value === null) return false;
  const call = value as Partial<Record<keyof TaskCall, unknown>>;
  return call.v === 1 && typeof call.task === 'string' && Array.isArray(call.args) && typeof call.origin === 'object' && call.origin !== null;
}

const TASK_TABLE = Symbol.for('ts-proxystore.task-table');

/**
 * A worker module's default export: a function any engine can call with a
 * call message (piscina calls it directly), carrying its task table so that
 * other engines (the BullMQ worker) can run the same module.
 */
export interface TaskHandler<T> {
  (call: unknown): Promise<TaskReply>;
  readonly [TASK_TABLE]: { readonly tasks: T; readonly options: WorkerTaskOptions };
}

export function taskHandler<T extends object>(tasks: T, options: WorkerTaskOptions): TaskHandler<T> {
  const runner = new TaskRunner(tasks as Readonly<Record<string, unknown>>, options);
  return Object.assign((call: unknown) => runner.reply(call), { [TASK_TABLE]: { tasks, options } });
}

/** The table and options of a handler made by `taskHandler`, or `value` itself taken as a table of task functions. */
export function taskTableOf(value: unknown): { tasks: Readonly<Record<string, unknown>>; options: WorkerTaskOptions } {
  if (typeof value === 'function' && TASK_TABLE in value) return (value as TaskHandler<Readonly<Record<string, unknown>>>)[TASK_TABLE];
  if (typeof value === 'object' && value !== null && Object.values(value).some((v) => typeof v === 'function')) {
    return { tasks: value as Readonly<Record<string, unknown>>, options: {} };
  }
  throw new ConfigError('expected task functions by name, or a handler made by defineTasks');
}
