/**
 * The worker half of every engine: runs task calls (see task-wire.ts) against
 * a table of task functions.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { DEFAULT_AUTO_PROXY_THRESHOLD } from '../../store/auto-proxy.js';
import type { Key, ReferencePolicy } from '../../connectors/connector.js';
import { isConnectorKindRegistered, resolvePolicy } from '../../connectors/kinds.js';
import '../../connectors/index.js';
import { ConfigError, DescriptorError, ProxyResolveMissingKeyError } from '../../errors.js';
import { signsReferences } from '../../store/signing.js';
import { extract, getFactory, getKey, isProxy, isResolved, resolveAsync } from '../../proxy/proxy.js';
import { isStoreFactory } from '../../store/factory.js';
import { checkStoredKey, checkWriteTarget, decodeProxies, encodeProxiesAsync, isDescriptorLike, type ProxyDescriptor } from '../../store/references.js';
import { getOrCreateStore, getStore, locate, type Store } from '../../store/store.js';
import { metadataOf } from '../../proxy/state.js';
import { isObjectLike } from '../../proxy/metadata.js';
import type { ProxyMetadata } from '../../proxy/factory.js';
import type { TypedArrayClass } from '../../serialize/serializer.js';
import type { Encoded, Proxy, TypedArray } from '../../../src/types.js';
import { collectLeaves, mapLeaves } from '../../proxy/walk.js';
import { futureFailure } from '../../store/future-wait.js';
import { setLongTimeout } from '../../support/timers.js';
import { TaskTimeoutError } from '../errors.js';
import { estimateBytes, sizeAtLeast } from '../../store/size.js';
import { borrowViews, returnViews } from '../../store/view-borrows.js';
import { describeError, isCall, reaches, type Origin, type StoreOnWire, type TaskBytes, type TaskCall, type TaskReply, type TaskSuccess } from '../task-wire.js';
import { checkStoreConfigText } from '../../store/registry.js';

export interface WorkerTaskOptions {
  /** Where big results go. Wins over the store the caller asks for; without either, results go back by value. */
  readonly store?: Store;
  /** Results at least this big (bytes) come back as proxies. Wins over the caller's; default 100 kB. */
  readonly resultThreshold?: number;
  /** What descriptors in calls may point at (connector kinds, file roots, hosts). */
  readonly policy?: ReferencePolicy;
  /**
   * Hand a task its future inputs as proxies that block on first touch, so
   * its work before it needs them overlaps with the upstream task. Right
   * where a task has its thread to itself (piscina, the default there); a
   * BullMQ worker runs jobs concurrently on one event loop, which a blocked
   * job would stall, so there futures are awaited before the task starts.
   */
  readonly lazyFutures?: boolean;
}

/** What a running task can ask about its call. */
interface TaskContext {
  /** Made on first use: most tasks never ask, and most calls have nothing that could abort them. */
  signal(): AbortSignal;
  /** Where a result of at least `minBytes` goes as a proxy; undefined when results go back by value. */
  readonly results: { readonly store: Store; readonly minBytes: number } | undefined;
}

const taskContexts = new AsyncLocalStorage<TaskContext>();
const NEVER_ABORTED = new AbortController().signal;

/**
 * The context of the task running synchronously right now. On Node 20 an
 * enabled AsyncLocalStorage hooks every promise of the thread for as long as
 * it stays enabled (measured: a promise and its `then` cost 3.5x as much),
 * the library's own promises around every call included. A task that returns
 * synchronously (the numeric kernels) cannot be asked for its context after
 * it returns, so it runs with this variable set instead; see runInContext.
 */
let syncContext: TaskContext | undefined;
/** Task functions seen returning something other than a promise: they run without the AsyncLocalStorage. */
const syncTasks = new WeakSet<object>();
/** Tasks running under taskContexts now; at none, the storage is disabled so its hooks stop. */
let asyncRuns = 0;

function currentContext(): TaskContext | undefined {
  return syncContext ?? taskContexts.getStore();
}

/**
 * Calls `fn` with `context` as the task context. A function not yet seen
 * returning synchronously runs under the AsyncLocalStorage, which follows its
 * continuations; one that has returned synchronously before runs with
 * `syncContext` set. Should such a function return a promise after all, its
 * continuations of that call see no context (`resultArray` then gives a plain
 * array, `taskSignal` a signal that never aborts), and it runs under the
 * storage from then on.
 */
function runInContext(fn: (...args: unknown[]) => unknown, values: readonly unknown[], context: TaskContext): unknown {
  if (syncTasks.has(fn)) {
    syncContext = context;
    let value: unknown;
    try {
      value = fn(...values);
    } finally {
      syncContext = undefined;
    }
    if (isPromiseLike(value)) syncTasks.delete(fn);
    return value;
  }
  asyncRuns++;
  let value: unknown;
  try {
    value = taskContexts.run(context, () => fn(...values));
  } catch (error) {
    leaveStorage();
    throw error;
  }
  if (!isPromiseLike(value)) {
    syncTasks.add(fn);
    leaveStorage();
  } else {
    Promise.resolve(value).then(leaveStorage, leaveStorage);
  }
  return value;
}

function leaveStorage(): void {
  if (--asyncRuns === 0) taskContexts.disable();
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * Inside a task: the signal that aborts when the call times out or the engine
 * cancels it. A task that checks it stops early instead of running on unseen.
 */
export function taskSignal(): AbortSignal {
  return currentContext()?.signal() ?? NEVER_ABORTED;
}

/**
 * Inside a task: a zeroed typed array for a result, to fill and return. When
 * the result will go back as a proxy and the results' store can place it in
 * its own memory (shared memory), it is born there, and returning it stores it
 * without a copy. Otherwise, and outside a task, it is `new ctor(length)`.
 *
 * ```ts
 * export default defineTasks({
 *   scale(input: Float64Array, k: number) {
 *     const out = resultArray(Float64Array, input.length);
 *     for (let i = 0; i < input.length; i++) out[i] = input[i]! * k;
 *     return out;
 *   },
 * });
 * ```
 */
export function resultArray<A extends TypedArray>(ctor: TypedArrayClass<A> & (new (length: number) => A), length: number, options: { readonly zeroed?: boolean } = {}): A {
  const results = currentContext()?.results;
  const proxied = results !== undefined && !results.store.closed && length * ctor.BYTES_PER_ELEMENT >= results.minBytes;
  // The runner ends the task's claim on its result at the put that stores it (`releaseViews`), so the claim needs no lease of its own.
  if (proxied) return results.store.allocate(ctor, length, { zeroed: options.zeroed !== false, transient: true });
  // Unzeroed by value too, so that both ways skip the same work.
  return options.zeroed === false ? new ctor(Buffer.allocUnsafeSlow(length * ctor.BYTES_PER_ELEMENT).buffer, 0, length) : new ctor(length);
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

  /**
   * Decodes the inputs, prefetches every proxy in them concurrently, runs the
   * task on their targets, proxies a big result; throws whatever the task threw.
   */
  async run(call: unknown, signal?: AbortSignal): Promise<TaskSuccess> {
    if (!isCall(call)) throw new ConfigError('not a ts-proxystore task call: send calls through a ts-proxystore executor');
    const started = performance.now();
    const fn = Object.hasOwn(this.tasks, call.task) ? this.tasks[call.task] : undefined;
    if (typeof fn !== 'function') {
      throw new ConfigError(`no task named '${call.task}' in this worker (it has: ${Object.keys(this.tasks).join(', ') || 'none'})`);
    }
    // Resolved once for the whole call: decoding the inputs and finding the results' store share it.
    const policy = resolvePolicy(this.options.policy);
    const loading = loadConnectorKinds(call, policy);
    if (loading !== undefined) await loading;
    const args = decodeProxies(call.args, { policy }) as unknown[];
    // One walk finds every input proxy: checked, then prefetched concurrently so the task touches no store.
    const proxies = collectLeaves(args, isProxy);
    for (const p of proxies) checkReachable(getStore(p), call.origin);
    // Futures are not waited for here: the task gets their proxies and blocks on
    // the first touch, so whatever it does before needing them overlaps with
    // the upstream task still producing them.
    const lazy = this.options.lazyFutures === true;
    const ready = lazy ? proxies.filter((p) => !isFutureProxy(p)) : proxies;
    await Promise.all(ready.filter((p) => !isResolved(p)).map((p) => resolveAsync(p)));
    // The task gets the values themselves: every property read through a proxy
    // costs tens of nanoseconds, which a numeric kernel would pay millions of times.
    let values = proxies.length === 0 ? args : (mapLeaves(args, isProxy, (p) => (lazy && isFutureProxy(p) ? p : extract(p))) as unknown[]);
    const stored = call.stored === undefined ? undefined : await readStoredArgs(call.stored, call.origin, policy);
    if (stored !== undefined) {
      values = [...values];
      for (const read of stored.reads) values[read.index] = read.value;
    }
    // The caller's results store is most often the one its stored arguments are in: the same config, checked once.
    const asked = call.results === undefined ? undefined : call.results.store === call.stored?.store ? stored?.store : storeOnWire(call.results.store, policy);
    const found = this.options.store ?? asked;
    const store = found !== undefined && reaches(found, call.origin) ? found : undefined;
    // A result by key names a key in the store the caller asked for, not in one of the worker's choosing.
    const byKey = call.results?.byKey === true && store !== undefined && store === asked;
    const threshold = this.options.resultThreshold ?? call.results?.minBytes ?? DEFAULT_AUTO_PROXY_THRESHOLD;
    const results = store === undefined ? undefined : { store, minBytes: threshold };
    const fetched = performance.now();
    let future: { store: Store; key: Key } | undefined;
    if (call.future !== undefined) {
      const store = storeOnWire(call.future.store, policy);
      future = { store, key: await checkWriteTarget(store, call.future.key) };
    }
    const borrows = proxies.map((p) => borrowViews(locate(p)));
    for (const read of stored?.reads ?? []) borrows.push(borrowViews({ store: read.store, key: read.key }));
    let value: unknown;
    try {
      value = await withDeadline(call, signal, (taskSignal) =>
        afterSettling(
          () => runInContext(fn as (...a: unknown[]) => unknown, values, { signal: taskSignal, results }),
          () => {
            for (const borrow of borrows) returnViews(borrow);
          },
        ),
      );
    } catch (error) {
      // Readers of the future learn why, instead of waiting out their timeout.
      await future?.store.set(future.key, futureFailure(error));
      throw error;
    }
    const ran = performance.now();
    if (future !== undefined) {
      // Whoever waits on the future reads the result straight from its store: it never travels back to the caller.
      const written = typeof value === 'object' && value !== null && isProxy(value) ? await resolveAsync(value) : value;
      await future.store.set(future.key, written);
      const timing = { inputMs: fetched - started, taskMs: ran - fetched, outputMs: performance.now() - ran };
      return { ok: true, value: await encodeProxiesAsync(null), proxied: false, timing, bytes: callBytes(args, proxies, stored, null, estimateBytes(written)) };
    }
    const proxied = store !== undefined && typeof value === 'object' && value !== null && !isProxy(value) && sizeAtLeast(value, threshold);
    let sent = value;
    let storedBytes = 0;
    let resultKey: { key: Key; metadata: ProxyMetadata } | undefined;
    if (proxied) {
      // Counted now: once stored, the task's array may be handed back to the store's memory.
      storedBytes = estimateBytes(value);
      if (byKey) {
        // The caller makes the result's proxy from its key: no proxy here, no descriptor for the caller to check.
        const key = await store.put(value);
        // Only what the caller keeps of a result's metadata sent by key (names come from signed descriptors only): less to clone and to check.
        const { kind, thenable } = metadataOf(value as object);
        resultKey = { key, metadata: thenable === true ? { kind, thenable } : { kind } };
        sent = null;
      } else {
        sent = await store.proxy(value as object);
      }
      // The task has handed its result over: the array it returned (maybe from resultArray) is no longer the task's to read.
      const key = resultKey?.key ?? getKey(sent as object);
      if (key !== undefined) store.releaseViews(key);
    }
    // A result stored by key leaves null to send: nothing to encode.
    const reply = isObjectLike(sent) ? await encodeProxiesAsync(sent) : (sent as Encoded<unknown>);
    const timing = { inputMs: fetched - started, taskMs: ran - fetched, outputMs: performance.now() - ran };
    const bytes = callBytes(args, proxies, stored, sent, storedBytes);
    return resultKey === undefined ? { ok: true, value: reply, proxied, timing, bytes } : { ok: true, value: reply, proxied, stored: resultKey, timing, bytes };
  }
}

interface StoredRead {
  readonly index: number;
  readonly store: Store;
  readonly key: Key;
  readonly value: unknown;
}

/**
 * A call's arguments stored by key (see task-wire.ts): their store's config
 * and every key checked before anything is read, then all read at once
 * (evicted once read, when the caller sent them for one use).
 */
async function readStoredArgs(stored: NonNullable<TaskCall['stored']>, origin: Origin, policy: Required<ReferencePolicy>): Promise<{ store: Store; reads: StoredRead[] }> {
  // Keys carry no signature: where references must be signed, job data cannot name objects this way instead.
  if (signsReferences()) throw new DescriptorError('a call names arguments by key, which carry no signature, and this thread checks signed references (a reference secret is set): send them as proxies');
  const store = storeOnWire(stored.store, policy);
  checkReachable(store, origin);
  const wanted: { index: number; key: Key }[] = [];
  stored.keys.forEach((key, index) => {
    if (key !== null) wanted.push({ index, key: checkStoredKey(store, key) });
  });
  const reads = await Promise.all(
    wanted.map(async ({ index, key }) => {
      const value = await store.get(key);
      if (value === undefined) throw new ProxyResolveMissingKeyError(key, store.name);
      return { index, store, key, value };
    }),
  );
  if (stored.evict) await Promise.all(wanted.map(({ key }) => store.evict(key)));
  return { store, reads };
}

/** The store a call names, its config checked under `policy` (a text already checked is found by the text). */
function storeOnWire(store: StoreOnWire, policy: Required<ReferencePolicy>): Store {
  return getOrCreateStore(typeof store === 'string' ? checkStoreConfigText(store, policy) : store, { trusted: false, policy });
}

/**
 * What a call moved, counted after its timings so the count costs none of
 * them: the arguments as they came (each proxy its descriptor), the objects
 * behind the input proxies the task read, the result as it goes back, and
 * `storedBytes` of a result stored instead (counted before it was stored).
 */
function callBytes(args: readonly unknown[], proxies: readonly object[], stored: { readonly reads: readonly StoredRead[] } | undefined, sent: unknown, storedBytes: number): TaskBytes {
  let argsByProxy = 0;
  // A future the task never touched was never read.
  for (const p of proxies) if (isResolved(p)) argsByProxy += estimateBytes(extract(p));
  for (const read of stored?.reads ?? []) argsByProxy += estimateBytes(read.value);
  return { argsByValue: estimateBytes(args), argsByProxy, resultByValue: estimateBytes(sent), resultByProxy: storedBytes };
}

/**
 * Runs `work` and, once it has settled (not merely timed out: a task running
 * on still reads its inputs), calls `after` before anyone awaiting the result resumes.
 */
function afterSettling(work: () => unknown, after: () => void): Promise<unknown> {
  // A synchronous throw becomes a rejection, like a throw in an async task.
  const running = new Promise<unknown>((resolve) => resolve(work()));
  running.then(after, after);
  return running;
}

/** Runs `work` under a signal that aborts with the engine's signal or at the call's deadline, whichever comes first. */
async function withDeadline(call: TaskCall, outer: AbortSignal | undefined, work: (signal: () => AbortSignal) => unknown): Promise<unknown> {
  const timeoutMs = call.timeoutMs;
  if (timeoutMs === undefined && outer === undefined) {
    // Nothing can abort this call (piscina without a deadline): no race to run, and a signal only for a task that asks.
    let idle: AbortSignal | undefined;
    return work(() => (idle ??= new AbortController().signal));
  }
  const controller = new AbortController();
  const stopped = new Promise<never>((_, reject) => {
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason as Error), { once: true });
  });
  const abort = (): void => controller.abort(outer?.reason);
  if (outer?.aborted === true) abort();
  outer?.addEventListener('abort', abort, { once: true });
  const timer = timeoutMs === undefined ? undefined : setLongTimeout(() => controller.abort(new TaskTimeoutError(call.task, timeoutMs)), timeoutMs);
  try {
    const running = Promise.resolve(work(() => controller.signal));
    // A task that runs on past its deadline may fail later, when nobody listens any more.
    running.catch(() => undefined);
    return await Promise.race([running, stopped]);
  } finally {
    timer?.clear();
    outer?.removeEventListener('abort', abort);
  }
}

/**
 * Connector kinds whose module a worker module has no reason to import (the
 * caller's store decides), loaded on first sight: importing registers a kind.
 * The built-in kinds come with the import of '../../connectors/index.js' above.
 */
const LAZY_KINDS: Readonly<Record<string, () => Promise<unknown>>> = {
  redis: () => import('../../connectors/redis.js'),
  peer: () => import('../../connectors/peer.js'),
};

const LAZY_KIND_NAMES = Object.keys(LAZY_KINDS);

/**
 * Undefined when the call names no kind to load, so that such a call (nearly
 * every one) waits for nothing. A store named by config text is checked here
 * (see task-wire.ts), which finding the store afterwards does again for nothing.
 */
function loadConnectorKinds(call: TaskCall, policy: Required<ReferencePolicy>): Promise<unknown> | undefined {
  // Once every lazy kind is in, there is nothing to look for: most calls skip the walk.
  if (LAZY_KIND_NAMES.every(isConnectorKindRegistered)) return undefined;
  const kinds = new Set<string>();
  // Descriptors are not validated yet (decoding does that), so their configs are searched, not trusted; a multi connector nests others.
  for (const descriptor of collectLeaves(call.args, isDescriptorLike)) kindsIn((descriptor as Partial<ProxyDescriptor>).store?.connector, kinds);
  for (const store of [call.results?.store, call.stored?.store, call.future?.store]) {
    kindsIn((typeof store === 'string' ? checkStoreConfigText(store, policy) : store)?.connector, kinds);
  }
  const loaders = Object.entries(LAZY_KINDS).filter(([kind]) => kinds.has(kind) && !isConnectorKindRegistered(kind));
  return loaders.length === 0 ? undefined : Promise.all(loaders.map(([, load]) => load()));
}

/** Built-in kinds whose options never name another connector: their configs need no search (a worker meets one with every call). */
const SINGLE_KINDS = new Set(['memory', 'file', 'shared-memory', 'redis', 'peer']);

function kindsIn(config: unknown, kinds: Set<string>): void {
  if (typeof config !== 'object' || config === null) return;
  const { kind } = config as { kind?: unknown };
  if (typeof kind === 'string' && SINGLE_KINDS.has(kind)) {
    kinds.add(kind);
    return;
  }
  for (const [name, value] of Object.entries(config)) {
    if (name === 'kind' && typeof value === 'string') kinds.add(value);
    else kindsIn(value, kinds);
  }
}

function isFutureProxy(p: object): boolean {
  const factory: unknown = getFactory(p as Proxy<object>);
  return isStoreFactory(factory) && factory.wait !== undefined && !isResolved(p);
}

/** Inputs in `store` (a proxy's, or stored arguments') can be read here, or a ConfigError says which store to use instead. */
function checkReachable(store: Store | undefined, origin: Origin): void {
  if (store === undefined || reaches(store, origin)) return;
  const reach = store.connector.reach ?? 'anywhere';
  throw new ConfigError(
    `an input is in store '${store.name}', whose ${store.connector.kind} connector only the ${reach} that made it can read, and this task runs in another: ` +
      'use a shared-memory store for worker threads of one process, a file or Redis store beyond',
  );
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
  // Called by piscina: each task has its thread to itself, so it may block on a future.
  const runner = new TaskRunner(tasks as Readonly<Record<string, unknown>>, { lazyFutures: true, ...options });
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
