/// <reference types="node" preserve="true" />
/**
 * Worker threads on one machine through piscina.
 *
 * The worker module default-exports `defineTasks(...)`:
 * ```ts
 * // tasks.ts
 * export const tasks = { scale: (a: Float64Array, k: number) => a.map((x) => x * k) };
 * export default defineTasks(tasks, { store: resultStore });   // store optional
 * // main.ts
 * import type { tasks } from './tasks.js';
 * const pool = new Piscina({ filename: new URL('./tasks.js', import.meta.url).href, atomics: 'async' });
 * await using executor = new StoreExecutor(new PiscinaExecutor<typeof tasks>(pool), { store });
 * const scaled = await executor.submit('scale', big, 2);
 * ```
 *
 * Which stores reach the threads: shared memory (threads of this process, no
 * copy), file and Redis do (a worker loads the Redis connector itself when a
 * call names a Redis store). A MemoryConnector lives in the heap of the thread
 * that made it: a worker may keep its own memory store for objects that stay
 * in that thread, but inputs in the caller's memory store are refused with a
 * ConfigError, and results are never proxied into a memory store (they come
 * back by value), since no other thread could read them.
 *
 * With a shared-memory store, create the pool with `atomics: 'async'` (or
 * 'disabled'): piscina's default parks idle threads in a blocking
 * Atomics.wait, where they cannot answer the connector's questions about the
 * results they made, so such a question (e.g. `exists` after an eviction)
 * waits out the connector's answerTimeoutMs.
 */
import { endTaskSends } from '../store/auto-proxy.js';
import type { ReferencePolicy } from '../connectors/connector.js';
import { endTaskBorrows } from '../store/ownership.js';
import { isObjectLike } from '../proxy/metadata.js';
import { timeoutSignal } from '../support/timers.js';
import { TaskTimeoutError, WorkerCrashedError } from './errors.js';
import { BaseExecutor, noop, type AnyTasks, type ExecutorFlags, type Launched, type RunOptions, type TaskOutcome, type TaskTable } from './executor.js';
import { taskHandler, type TaskHandler, type WorkerTaskOptions } from './worker/task-runner.js';
import { decodeReply, encodeCall } from './task-wire.js';

export { resultArray, taskSignal, type TaskHandler, type WorkerTaskOptions } from './worker/task-runner.js';

/** The part of a piscina pool the executor uses; a `Piscina` instance is one. */
export interface PiscinaPool {
  run(task: unknown, options?: { signal?: AbortSignal }): Promise<unknown>;
  close(): Promise<void>;
}

export interface PiscinaExecutorOptions {
  /** What descriptors in replies may point at; default: built-in kinds, the temp dir, loopback hosts. */
  readonly policy?: ReferencePolicy;
  /** Close the pool at shutdown. Default false: the pool is its creator's, and may serve other executors. */
  readonly closePool?: boolean;
}

/** The threads run this package in the caller's process: see ExecutorFlags. */
const BY_KEY = Object.freeze({ byKey: true });

/** piscina's own refusals (full queue, missing handler, pool torn down), which say nothing about a worker dying. */
const POOL_REFUSAL = /^(Task queue is at limit|No task queue available|filename must be provided|No handler function exported|Terminating worker thread|Close operation timed out)/;

/**
 * Runs tasks on a piscina pool whose worker module default-exports
 * `defineTasks(...)`. A timeout or an abort of a running task terminates its
 * thread (piscina starts a new one), so even a task stuck in a loop stops.
 *
 * Known gap: a result the worker proxied just as the call was aborted is lost
 * with the reply piscina drops, and stays in the store.
 */
export class PiscinaExecutor<T extends TaskTable<T> = AnyTasks> extends BaseExecutor<T> {
  /** Its workers are threads of this process running this package: arguments and results can go by key. */
  override readonly flags: ExecutorFlags = BY_KEY;
  readonly #policy: ReferencePolicy | undefined;
  readonly #closePool: boolean;

  constructor(
    readonly pool: PiscinaPool,
    options: PiscinaExecutorOptions = {},
  ) {
    super();
    this.#policy = options.policy;
    this.#closePool = options.closePool ?? false;
  }

  protected start(task: string, args: readonly unknown[], options: RunOptions): Launched<unknown> {
    const outcome = this.#call(task, args, options);
    // Once piscina has settled the call its thread is done with the inputs, or terminated.
    const settled = outcome.then(noop, noop);
    // Arguments that are all primitives (a StoreExecutor's call whose objects went by key) lent and sent nothing to end.
    const finished = args.some(isObjectLike)
      ? settled.then(() => {
          endTaskBorrows(args);
          return endTaskSends(args);
        })
      : settled;
    return { outcome, finished };
  }

  protected async close(): Promise<void> {
    if (this.#closePool) await this.pool.close();
  }

  async #call(task: string, args: readonly unknown[], options: RunOptions): Promise<TaskOutcome<unknown>> {
    const { signal, timeoutMs } = options;
    // Not AbortSignal.timeout, which fires at once for 2^31 ms or more.
    const timeout = timeoutMs === undefined ? undefined : timeoutSignal(timeoutMs, () => new TaskTimeoutError(task, timeoutMs));
    const deadline = timeout?.signal;
    const signals = [signal, deadline].filter((s) => s !== undefined);
    const stop = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    const call = await encodeCall(task, args, options, BY_KEY);
    let reply: unknown;
    try {
      reply = await this.pool.run(call, stop === undefined ? {} : { signal: stop });
    } catch (error) {
      if (signal?.aborted === true) throw signal.reason;
      if (deadline?.aborted === true) throw new TaskTimeoutError(task, timeoutMs as number);
      // The handler turns every failure of the task into a reply, so anything else means the thread failed.
      if (error instanceof Error && !POOL_REFUSAL.test(error.message)) throw new WorkerCrashedError(task, error.message, { cause: error });
      throw error;
    } finally {
      timeout?.timer.clear();
    }
    // Only a call that asked for its result by key may get one.
    return decodeReply(task, reply, { policy: this.#policy, timeoutMs, results: call.results?.byKey === true ? options.results?.store : undefined });
  }
}

/**
 * The worker side: default-export the result from the module piscina loads.
 * Inputs are decoded and all their proxies prefetched concurrently; the task
 * is then called with the objects themselves, not proxies (an input from a
 * shared-memory store is a view on the stored object: treat inputs as
 * read-only). A result at least `resultThreshold` bytes big goes back as a
 * proxy in `options.store`, or else in the store the caller asked for. The
 * same module also serves BullMQ workers (`createWorker`, the CLI).
 */
export function defineTasks<T extends TaskTable<T>>(tasks: T, options: WorkerTaskOptions = {}): TaskHandler<T> {
  return taskHandler(tasks, options);
}

