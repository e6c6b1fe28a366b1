/**
 * The executor contract shared by the engines (piscina, BullMQ) and by
 * StoreExecutor, which wraps any of them. Tasks are named: their code lives in
 * the worker, so only a name and the arguments travel.
 */
import type { Key } from '../connectors/connector.js';
import { InvalidArgumentError, describeKey } from '../errors.js';
import { executorLog } from '../support/log.js';
import { ExecutorShutDownError } from './errors.js';
import { TaskTally, type ExecutorStats } from './task-stats.js';
import { locate, type Store } from '../store/store.js';
import type { TaskBytes, TaskTiming } from './task-wire.js';
import { isTimeoutMs } from '../support/timers.js';
import type { ProxyOr } from '../../src/types.js';

/** Every function is one: `never` parameters accept any signature. */
export type TaskFunction = (...args: never[]) => unknown;

/** Task functions by name, as a worker module defines them; used as a constraint `T extends TaskTable<T>`. */
export type TaskTable<T> = { readonly [K in keyof T]: TaskFunction };

/** Tasks the compiler knows nothing about: any name, any arguments, an unknown result. */
export type AnyTasks = Readonly<Record<string, (...args: unknown[]) => unknown>>;

export type TaskName<T> = Extract<keyof T, string>;

/** A task's parameters, each of which may also be given as a proxy. */
export type TaskArgs<T, K extends keyof T> = T[K] extends (...args: infer A extends readonly unknown[]) => unknown
  ? { [I in keyof A]: ProxyOr<A[I]> }
  : never;

/** What the caller gets: the task's awaited result, or a proxy that behaves like it. */
export type TaskResult<T, K extends keyof T> = T[K] extends (...args: never[]) => infer R ? Awaited<R> : never;

/** Where a worker should put results big enough to come back by reference. */
export interface ResultRequest {
  readonly store: Store;
  /** Results whose size reaches this come back as proxies; `Infinity` keeps them by value. */
  readonly minBytes: number;
}

/**
 * Arguments a StoreExecutor has already put in its store for a call, by
 * position: `keys[i]` holds argument `i` (whose place in the call's `args`
 * is then `null`), undefined where the argument is in `args` itself. The
 * worker reads them straight from the store, and no proxy is made for them
 * on either side. Only engines whose `flags.byKey` is set take them.
 */
export interface StoredArgs {
  readonly store: Store;
  readonly keys: readonly (Key | undefined)[];
  /** The worker evicts each once it has read it: single-use inputs, as a StoreExecutor without ownership sends. */
  readonly evict: boolean;
}

/** What an engine can do besides running calls, declared as data for whoever wraps it. */
export interface ExecutorFlags {
  /**
   * The engine passes `options.stored` on, and its workers name a result
   * they stored for the caller by its key in the caller's results store:
   * true where caller and workers are one process running one build of this
   * package (piscina), so neither side needs a descriptor the other checks.
   * Keys carry no signature: where a reference secret is set, descriptors
   * are sent all the same.
   */
  readonly byKey?: boolean;
}

/** Where a worker writes a call's result instead of replying with it: a future's key (see `StoreExecutor.future`). */
export interface FutureTarget {
  readonly store: Store;
  readonly key: Key;
}

export interface RunOptions {
  /** Aborting rejects the call with the signal's reason and stops the task where the engine can. */
  readonly signal?: AbortSignal;
  /** Counted from the call; past it the call rejects with TaskTimeoutError. */
  readonly timeoutMs?: number;
  readonly results?: ResultRequest;
  /**
   * For a StoreExecutor: send the object arguments as proxies (true) or by
   * value (false) for this call, whatever its `shouldProxy` says; like the
   * Dask client's `proxy_args`.
   */
  readonly proxyArgs?: boolean;
  /** For a StoreExecutor: the result comes back as a proxy (true) or by value (false) for this call, whatever its threshold says; like `proxy_result`. */
  readonly proxyResult?: boolean;
  /** The worker writes the result (or the task's error) into this future and replies with nothing. */
  readonly future?: FutureTarget;
  /** Set by a StoreExecutor, for engines with `flags.byKey`: arguments it put in its store. */
  readonly stored?: StoredArgs;
}

export interface TaskOutcome<R> {
  readonly value: R;
  /** Proxies inside `value` made for this call (not the task's own): whoever holds the outcome decides when they go. */
  readonly made: readonly object[];
  /** Where the call's time went in the worker, when the worker said. */
  readonly timing?: TaskTiming;
  /** What the call moved by value and by proxy, when the worker said. */
  readonly bytes?: TaskBytes;
}

/** One call under way. The two promises differ when the caller stops waiting before the worker stops running. */
export interface Launched<R> {
  readonly outcome: Promise<TaskOutcome<R>>;
  /**
   * Fulfils (never rejects) once no worker will read this call's inputs any
   * more: the task settled for good (retries included) or never started.
   */
  readonly finished: Promise<void>;
}

declare const taskTable: unique symbol;

export interface Executor<T extends TaskTable<T> = AnyTasks> extends AsyncDisposable {
  /** Never set: lets `new StoreExecutor(executor, …)` infer the task table from the executor. */
  readonly [taskTable]?: T;
  readonly flags?: ExecutorFlags;
  launch<K extends TaskName<T>>(task: K, args: TaskArgs<T, K>, options?: RunOptions): Launched<TaskResult<T, K>>;
  run<K extends TaskName<T>>(task: K, args: TaskArgs<T, K>, options?: RunOptions): Promise<TaskResult<T, K>>;
  submit<K extends TaskName<T>>(task: K, ...args: TaskArgs<T, K>): Promise<TaskResult<T, K>>;
  /** One call per argument list, all at once; rejects with the first failure, after freeing the others' results. */
  map<K extends TaskName<T>>(task: K, argLists: Iterable<TaskArgs<T, K>>, options?: RunOptions): Promise<TaskResult<T, K>[]>;
  /** Refuses new calls, waits until every call in flight settled for good, then releases the engine. */
  shutdown(): Promise<void>;
  /** Calls per task name: started, in flight, done, failed, durations, and the workers' own timings and byte counts. */
  stats(): ExecutorStats;
}

/**
 * Engines implement `start` (with plain names and arrays) and `close`; the
 * typed surface, the bookkeeping of calls in flight and shutdown are here once.
 */
export abstract class BaseExecutor<T extends TaskTable<T> = AnyTasks> implements Executor<T> {
  declare readonly [taskTable]?: T;
  readonly flags: ExecutorFlags = {};
  readonly #inFlight = new Set<Promise<void>>();
  readonly #tally = new TaskTally();
  #shutdown: Promise<void> | undefined;

  protected abstract start(task: string, args: readonly unknown[], options: RunOptions): Launched<unknown>;

  /** Releases the engine once no call is in flight. */
  protected abstract close(): Promise<void>;

  launch<K extends TaskName<T>>(task: K, args: TaskArgs<T, K>, options: RunOptions = {}): Launched<TaskResult<T, K>> {
    if (this.#shutdown !== undefined) throw new ExecutorShutDownError(`executor is shut down: cannot start task '${task}'`);
    checkCall(task, args, options);
    const settled = this.#tally.started(task);
    const launched = this.start(task, args, options);
    launched.outcome.then(
      (outcome) => settled(true, outcome.timing, outcome.bytes),
      (error: unknown) => {
        settled(false);
        if (executorLog.enabled) executorLog('%s: task %s failed: %s', this.constructor.name, task, String(error));
      },
    );
    const { finished } = launched;
    this.#inFlight.add(finished);
    void finished.then(() => this.#inFlight.delete(finished));
    return launched as Launched<TaskResult<T, K>>;
  }

  /** Calls per task name: started, in flight, done, failed, histograms of their durations and transfer times, and the workers' timings and byte counts. */
  stats(): ExecutorStats {
    return this.#tally.snapshot();
  }

  /** Waits until every call settled for good (no worker reads its inputs any more), then closes. Idempotent. */
  shutdown(): Promise<void> {
    this.#shutdown ??= (async () => {
      await Promise.all(this.#inFlight);
      await this.close();
    })();
    return this.#shutdown;
  }

  async run<K extends TaskName<T>>(task: K, args: TaskArgs<T, K>, options?: RunOptions): Promise<TaskResult<T, K>> {
    return (await this.launch(task, args, options).outcome).value;
  }

  submit<K extends TaskName<T>>(task: K, ...args: TaskArgs<T, K>): Promise<TaskResult<T, K>> {
    return this.run(task, args);
  }

  async map<K extends TaskName<T>>(task: K, argLists: Iterable<TaskArgs<T, K>>, options?: RunOptions): Promise<TaskResult<T, K>[]> {
    const settled = await Promise.allSettled(Array.from(argLists, (args) => this.launch(task, args, options).outcome));
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed === undefined) return settled.map((s) => (s as PromiseFulfilledResult<TaskOutcome<TaskResult<T, K>>>).value.value);
    // The caller gets no results, so nobody else could free the ones that were made.
    await this.discard(settled.flatMap((s) => (s.status === 'fulfilled' ? s.value.made : [])));
    throw failed.reason;
  }

  /** Frees proxies made for a caller that will never see them. */
  protected discard(made: readonly object[]): Promise<void> {
    return freeProxies(made);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }
}

/** A misused call fails here, naming the argument, rather than deep in an engine as something else (a bad signal as a crashed worker). */
function checkCall(task: unknown, args: unknown, options: unknown): void {
  if (typeof task !== 'string') throw new InvalidArgumentError('task', `task must be a task's name (a string), got ${describeKey(task)}`);
  if (!Array.isArray(args)) throw new InvalidArgumentError('args', `task '${task}': args must be an array of the task's arguments, got ${describeKey(args)}`);
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', `task '${task}': options must be an object, got ${describeKey(options)}`);
  const { signal, timeoutMs } = options as RunOptions;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new InvalidArgumentError('options.signal', `task '${task}': options.signal must be an AbortSignal, got ${describeKey(signal)}`);
  }
  if (timeoutMs !== undefined && !isTimeoutMs(timeoutMs)) {
    throw new InvalidArgumentError('options.timeoutMs', `task '${task}': options.timeoutMs must be a positive number of milliseconds (or Infinity), got ${String(timeoutMs)}`);
  }
}

/** Evicts the objects behind store proxies (see `evictQuietly`). */
export async function freeProxies(proxies: Iterable<object>): Promise<void> {
  const evictions: Promise<void>[] = [];
  for (const p of proxies) {
    const at = locate(p);
    if (at !== undefined) evictions.push(evictQuietly(at.store, at.key));
  }
  await Promise.all(evictions);
}

/** A failed eviction is a warning, not an error: the caller's result or error matters more than a leftover object. */
export function evictQuietly(store: Store, key: Key): Promise<void> {
  const warn = (error: unknown): void => {
    process.emitWarning(`could not free key ${describeKey(key)} of store '${store.name}': ${String(error)}`, 'ProxyStoreWarning');
  };
  // Store.evict reports every failure as a rejection, never a throw.
  return store.evict(key).catch(warn);
}

/** For promises whose outcome is handled elsewhere. */
export function noop(): void {}
