/**
 * What both engines send, so piscina and BullMQ differ only in how the
 * messages travel (structured clone / serialized job data). The worker half
 * that runs calls is task-runner.ts.
 *
 * A call (caller → worker):
 *   { v: 1, task, args, origin, results?, timeoutMs? }
 *   args     the arguments with every store proxy, at any depth, replaced by its descriptor
 *   origin   { host, pid, thread } of the caller, to tell which stores it can reach
 *   results  { store, minBytes, byKey? }: where results of at least minBytes go, as proxies;
 *            byKey: the caller takes such a result by its key in that store (see `stored` in a reply)
 *   stored   { store, keys, evict }: arguments already in that store, by position:
 *            keys[i] is argument i's key (args[i] is then null), or null where args[i] is the argument;
 *            evict: the worker evicts each once read
 *   timeoutMs  the worker's own deadline for the task, counted from its start
 *   future   { store, key }: write the result (or the task's error) there, and reply with null
 *   Each store above is its config() as JSON text, which a message carries as one string instead
 *   of a dozen fields, and a worker finds checked by the text itself; a config object is taken too.
 * A reply (worker → caller):
 *   { ok: true, value, proxied, stored?, timing?, bytes? }  value encoded like args; proxied: value is a proxy made for this call;
 *            stored: { key, metadata }: for a call with results.byKey, the result is in the results store at key
 *            (value is then null): the caller makes the proxy itself
 *            timing: { inputMs, taskMs, outputMs } as the worker measured them (absent from older workers)
 *            bytes: { argsByValue, argsByProxy, resultByValue, resultByProxy } as the worker estimated them (absent from older workers)
 *   { ok: false, error: { name, message, stack } }
 */
import os from 'node:os';
import { threadId } from 'node:worker_threads';
import type { Key, ReferencePolicy } from '../connectors/connector.js';
import { ConfigError, DescriptorError } from '../errors.js';
import { decodeProxies, encodeProxiesAsync, storedResultProxy } from '../store/references.js';
import type { ProxyMetadata } from '../proxy/factory.js';
import { isObjectLike } from '../proxy/metadata.js';
import { sendingToTask } from '../store/auto-proxy.js';
import { signsReferences } from '../store/signing.js';
import type { Store, StoreConfig } from '../store/store.js';
import type { Encoded, Writable } from '../../src/types.js';
import { TaskError, TaskTimeoutError, type RemoteError } from './errors.js';
import type { RunOptions, TaskOutcome } from './executor.js';
import { isTimeoutMs } from '../support/timers.js';

export interface Origin {
  readonly host: string;
  readonly pid: number;
  readonly thread: number;
}

/** A store as a call names it: its config as JSON text (what encodeCall sends), or the config itself. */
export type StoreOnWire = string | StoreConfig;

export interface TaskCall {
  readonly v: 1;
  readonly task: string;
  readonly args: Encoded<readonly unknown[]>;
  readonly origin: Origin;
  readonly results?: { readonly store: StoreOnWire; readonly minBytes: number; readonly byKey?: boolean };
  readonly timeoutMs?: number;
  readonly future?: { readonly store: StoreOnWire; readonly key: Key };
  readonly stored?: { readonly store: StoreOnWire; readonly keys: readonly (Key | null)[]; readonly evict: boolean };
}

export type TaskReply = TaskSuccess | { readonly ok: false; readonly error: RemoteError };

export interface TaskSuccess {
  readonly ok: true;
  readonly value: Encoded<unknown>;
  readonly proxied: boolean;
  readonly stored?: { readonly key: Key; readonly metadata: ProxyMetadata };
  readonly timing?: TaskTiming;
  readonly bytes?: TaskBytes;
}

/**
 * What a call moved, as the worker estimated it (`estimateBytes`): in the
 * messages themselves (by value; a proxy counts as its descriptor) or through
 * stores (by proxy: the objects behind the input proxies, and a result stored
 * for the caller or into a future).
 */
export interface TaskBytes {
  readonly argsByValue: number;
  readonly argsByProxy: number;
  readonly resultByValue: number;
  readonly resultByProxy: number;
}

/** Where a call's time went in the worker. */
export interface TaskTiming {
  /** Decoding the call and fetching its input proxies from their stores. */
  readonly inputMs: number;
  /** The task function itself. */
  readonly taskMs: number;
  /** Storing a proxied result and encoding the reply. */
  readonly outputMs: number;
}

const HERE: Origin = { host: os.hostname(), pid: process.pid, thread: threadId };

/**
 * Whether objects of `store` made at `origin` can be read here (and the other
 * way round). Memory lives in one thread's heap; shared memory reaches the
 * threads of one process; other connectors reach any process their config reaches.
 */
export function reaches(store: Store, origin: Origin): boolean {
  const sameProcess = origin.host === HERE.host && origin.pid === HERE.pid;
  switch (store.connector.reach ?? 'anywhere') {
    case 'thread':
      return sameProcess && origin.thread === HERE.thread;
    case 'process':
      return sameProcess;
    case 'anywhere':
      return true;
  }
}


/**
 * Waits for background (autoProxy) writes of the proxies it encodes, so the
 * worker never sees a key before its bytes. `byKey`: the engine's replies
 * name results by key (see ExecutorFlags), and it sends `options.stored`.
 */
export async function encodeCall(task: string, args: readonly unknown[], options: RunOptions, engine: { byKey?: boolean } = {}): Promise<TaskCall> {
  const { results, timeoutMs, future, stored } = options;
  // Signed references travel as descriptors only (see ExecutorFlags).
  const byKey = engine.byKey === true && !signsReferences();
  // Their places in args are null: a call without them would run its task on nulls.
  if (stored !== undefined && !byKey) {
    throw new ConfigError(`task '${task}': its arguments were stored to go by key, which ${engine.byKey === true ? 'signed references (a reference secret set meanwhile) rule out' : 'this engine does not take'}: call again`);
  }
  const call: Writable<TaskCall> = {
    v: 1,
    task,
    // Auto-proxies written for this call stay stored until the engine calls endTaskSends(args), once the task settled.
    // Arguments that are all primitives (those of a call whose objects went by key) hold nothing to encode.
    args: args.some(isObjectLike) ? await sendingToTask(args, () => encodeProxiesAsync(args)) : (args as unknown as Encoded<readonly unknown[]>),
    origin: HERE,
  };
  // Fields added one by one rather than spread in: every call is built here, and a spread copies through V8's slow path.
  if (results !== undefined && results.minBytes !== Infinity) {
    call.results = byKey ? { store: configText(results.store), minBytes: results.minBytes, byKey } : { store: configText(results.store), minBytes: results.minBytes };
  }
  if (timeoutMs !== undefined) call.timeoutMs = timeoutMs;
  if (future !== undefined) call.future = { store: configText(future.store), key: future.key };
  if (stored !== undefined) call.stored = { store: configText(stored.store), keys: stored.keys.map((key) => key ?? null), evict: stored.evict };
  return call;
}

const configTexts = new WeakMap<Store, string>();

/** `store.config()` as JSON text, made once: a store's config is fixed for its life. */
function configText(store: Store): string {
  let text = configTexts.get(store);
  if (text === undefined) configTexts.set(store, (text = JSON.stringify(store.config())));
  return text;
}

/** The outcome a reply stands for; a failed task throws the error the caller should see. `results`: the store the call asked results to go to. */
export function decodeReply(task: string, reply: unknown, options: { policy?: ReferencePolicy | undefined; timeoutMs?: number | undefined; results?: Store | undefined }): TaskOutcome<unknown> {
  if (!isReply(reply)) throw new ConfigError(`task '${task}': the worker answered with something other than a task reply: is its module built with defineTasks?`);
  if (!reply.ok) throw remoteFailure(task, reply.error, options.timeoutMs);
  const value = reply.stored === undefined ? decodeProxies(reply.value, options.policy === undefined ? {} : { policy: options.policy }) : storedResult(task, reply.stored, options.results);
  const outcome: Writable<TaskOutcome<unknown>> = { value, made: reply.proxied || reply.stored !== undefined ? [value as object] : [] };
  if (isTiming(reply.timing)) outcome.timing = reply.timing;
  if (isBytes(reply.bytes)) outcome.bytes = reply.bytes;
  return outcome;
}

/** The proxy of a result the worker stored by key in the results store the call named; only a call that asked for results may get one. */
function storedResult(task: string, stored: unknown, results: Store | undefined): object {
  if (results === undefined || typeof stored !== 'object' || stored === null) {
    throw new DescriptorError(`task '${task}': the reply names a result stored by key, but the call asked for no results store`);
  }
  if (signsReferences()) throw new DescriptorError(`task '${task}': the reply names a result by key, which carries no signature, and this thread checks signed references`);
  const { key, metadata } = stored as { key?: unknown; metadata?: unknown };
  return storedResultProxy(results, key, metadata);
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

/** What survives of an error on the way back: its name, message and stack. */
export function describeError(error: unknown): RemoteError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  return { name: String(error.name), message: String(error.message), ...(error.stack === undefined ? {} : { stack: error.stack }) };
}

/** Timings come from the worker: only well-formed ones are counted. */
function isTiming(value: unknown): value is TaskTiming {
  return hasFigures(value, ['inputMs', 'taskMs', 'outputMs']);
}

/** Byte counts come from the worker too: a forged one must not poison the sums (NaN, Infinity, negative). */
function isBytes(value: unknown): value is TaskBytes {
  return hasFigures(value, ['argsByValue', 'argsByProxy', 'resultByValue', 'resultByProxy']);
}

function hasFigures(value: unknown, names: readonly string[]): boolean {
  if (typeof value !== 'object' || value === null) return false;
  return names.every((name) => {
    const figure = (value as Record<string, unknown>)[name];
    return typeof figure === 'number' && Number.isFinite(figure) && figure >= 0;
  });
}

export function isCall(value: unknown): value is TaskCall {
  if (typeof value !== 'object' || value === null) return false;
  const call = value as Partial<Record<keyof TaskCall, unknown>>;
  // A deadline from job data reaches a timer: anything but a positive number would fire at once, or never.
  const deadlineOk = call.timeoutMs === undefined || isTimeoutMs(call.timeoutMs);
  // Where results and futures go is read before anything else checks it: its shape is checked here, its store config where the store is looked up.
  const resultsOk =
    call.results === undefined ||
    (isRecord(call.results) &&
      isStoreOnWire(call.results.store) &&
      typeof call.results.minBytes === 'number' &&
      !Number.isNaN(call.results.minBytes) &&
      (call.results.byKey === undefined || typeof call.results.byKey === 'boolean'));
  const futureOk = call.future === undefined || (isRecord(call.future) && isStoreOnWire(call.future.store) && 'key' in call.future);
  // Stored arguments line up with args: a key per position (its keys are checked where its store is looked up).
  const storedOk =
    call.stored === undefined ||
    (isRecord(call.stored) &&
      isStoreOnWire(call.stored.store) &&
      Array.isArray(call.stored.keys) &&
      Array.isArray(call.args) &&
      call.stored.keys.length === call.args.length &&
      typeof call.stored.evict === 'boolean');
  return call.v === 1 && typeof call.task === 'string' && Array.isArray(call.args) && isRecord(call.origin) && deadlineOk && resultsOk && futureOk && storedOk;
}

function isStoreOnWire(value: unknown): boolean {
  return typeof value === 'string' || isRecord(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
