/**
 * Worker processes on any machine that reaches one Redis, through BullMQ.
 *
 * A job's data is `{ call }`: the task call (see task-wire.ts) in the default
 * serializer's bytes, base64. Proxies in it are descriptors, so a job carries
 * references, not payloads; arguments left by value ride inline. A job's
 * return value is the reply in the same form, and reaches the caller through
 * the queue's event stream.
 *
 * Anyone who can add jobs to the queue can make its workers run their tasks
 * on data of their choosing (as with any BullMQ queue); the reference policy
 * only bounds where descriptors may point.
 */
import { randomUUID } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { Job, Queue, QueueEvents, UnrecoverableError, type ConnectionOptions, type JobsOptions, type Processor, type Worker, type WorkerOptions } from 'bullmq';
import { endTaskSends } from '../auto-proxy.js';
import type { ReferencePolicy } from '../connector.js';
import { endTaskBorrows } from '../ownership.js';
import { ConfigError, ProxyStoreError, messageOf } from '../errors.js';
import { deserialize, serialize } from '../serialize.js';
import { CancellableWorker, EarlyCancels, cancelChannel, cancelMessage } from './bullmq-cancel.js';
import { TaskTimeoutError, WorkerCrashedError, type RemoteError } from './errors.js';
import { BaseExecutor, freeProxies, noop, type AnyTasks, type Launched, type RunOptions, type TaskOutcome, type TaskTable } from './executor.js';
import { TaskRunner, taskTableOf, type TaskHandler, type WorkerTaskOptions } from './task-runner.js';
import { decodeReply, encodeCall, remoteFailure } from './task-wire.js';

export { resultArray, taskSignal, type TaskHandler, type WorkerTaskOptions } from './task-runner.js';

export interface BullMQExecutorOptions {
  readonly connection: ConnectionOptions;
  /** BullMQ's key prefix; workers must use the same. */
  readonly prefix?: string;
  /**
   * For every job (attempts, backoff, priority, …). Default removeOnComplete
   * true (results travel in the event) and removeOnFail { count: 1000 }.
   */
  readonly jobOptions?: Omit<JobsOptions, 'jobId'>;
  /** What descriptors in results may point at; default: built-in kinds, the temp dir, loopback hosts. */
  readonly policy?: ReferencePolicy;
}

/** What BullMQ says when the stalled-job check gives up on a job whose worker stopped renewing its lock. */
const STALLED = /stalled more than allowable limit/;

/** A job the caller launched, until it is settled for good. */
class PendingJob {
  readonly outcome: Promise<TaskOutcome<unknown>>;
  readonly finished: Promise<void>;
  /** True while the caller still waits for the outcome. */
  waiting = true;
  /** Set once the job is in the queue, so that abandoning it can wait for that. */
  added: Promise<unknown> = Promise.resolve();
  #resolve!: (outcome: TaskOutcome<unknown>) => void;
  #reject!: (error: unknown) => void;
  #finish!: () => void;

  constructor(
    readonly task: string,
    readonly timeoutMs: number | undefined,
  ) {
    this.outcome = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.finished = new Promise((resolve) => {
      this.#finish = resolve;
    });
  }

  resolve(outcome: TaskOutcome<unknown>): void {
    this.waiting = false;
    this.#resolve(outcome);
  }

  reject(error: unknown): void {
    this.waiting = false;
    this.#reject(error);
  }

  finish(): void {
    this.#finish();
  }
}

/**
 * Runs tasks as BullMQ jobs. Results arrive through the queue's events; a
 * job's inputs are considered in use until the job completes or fails for
 * good (BullMQ's own retries included), or is removed before it started.
 *
 * Cancelling (signal or `timeoutMs`) rejects the caller at once and removes
 * the job if no worker has it yet. A job already running is asked to stop: its
 * worker aborts `taskSignal()`, the job fails for good once the task gives up
 * (a task that never looks at the signal runs to its end), and whatever it
 * made is then freed. Workers also fail a job at the call's own `timeoutMs`,
 * counted from its start. A worker that dies
 * mid-job is noticed by BullMQ's stalled-job check, which another worker runs:
 * the job is retried (`maxStalledCount`) or fails, and the caller gets a
 * WorkerCrashedError. `shutdown()` waits until every job is settled, then
 * closes the executor's queue connections.
 */
export class BullMQExecutor<T extends TaskTable<T> = AnyTasks> extends BaseExecutor<T> {
  readonly queue: Queue;
  readonly #connection: ConnectionOptions;
  readonly #prefix: string | undefined;
  readonly #jobOptions: JobsOptions;
  readonly #policy: ReferencePolicy | undefined;
  readonly #jobs = new Map<string, PendingJob>();
  readonly #events: Promise<QueueEvents>;

  constructor(
    readonly queueName: string,
    options: BullMQExecutorOptions,
  ) {
    super();
    this.#connection = options.connection;
    this.#prefix = options.prefix;
    this.#jobOptions = { removeOnComplete: true, removeOnFail: { count: 1000 }, ...options.jobOptions };
    this.#policy = options.policy;
    this.queue = new Queue(queueName, { connection: options.connection, ...(options.prefix === undefined ? {} : { prefix: options.prefix }) });
    this.#events = this.#listen();
    // Failures surface in the first call (or shutdown) that awaits the events.
    this.#events.catch(() => undefined);
  }

  protected start(task: string, args: readonly unknown[], options: RunOptions): Launched<unknown> {
    const pending = new PendingJob(task, options.timeoutMs);
    this.#enqueue(pending, args, options).catch((error: unknown) => {
      if (pending.waiting) pending.reject(error);
      pending.finish();
    });
    // Borrows sent with the job count as in use until no attempt of it can run any more.
    return {
      outcome: pending.outcome,
      finished: pending.finished.then(() => {
        endTaskBorrows(args);
        return endTaskSends(args);
      }),
    };
  }

  protected async close(): Promise<void> {
    await Promise.allSettled([this.#events.then((events) => events.close()), this.queue.close()]);
  }

  /**
   * Events are read from the stream's last entry as of now, so no completion
   * can slip by between listening and the first job.
   */
  async #listen(): Promise<QueueEvents> {
    const client = await this.queue.getBackend().client;
    const last = (await client.runCommand('xrevrange', [this.queue.keys.events, '+', '-', 'COUNT', 1])) as [string, unknown][];
    const events = new QueueEvents(this.queueName, {
      connection: this.#connection,
      lastEventId: last[0]?.[0] ?? '0',
      ...(this.#prefix === undefined ? {} : { prefix: this.#prefix }),
    });
    events.on('completed', ({ jobId, returnvalue }) => this.#completed(jobId, returnvalue));
    events.on('failed', ({ jobId, failedReason }) => void this.#failed(jobId, failedReason));
    events.on('removed', ({ jobId }) => this.#removed(jobId));
    await events.waitUntilReady();
    return events;
  }

  async #enqueue(pending: PendingJob, args: readonly unknown[], options: RunOptions): Promise<void> {
    const { signal, timeoutMs } = options;
    const call = await encodeCall(pending.task, args, options);
    await this.#events;
    signal?.throwIfAborted();
    const jobId = randomUUID();
    this.#jobs.set(jobId, pending);
    void pending.finished.then(() => this.#jobs.delete(jobId));
    const stop = (error: unknown): void => {
      if (!pending.waiting) return;
      pending.reject(error);
      void this.#abandon(jobId, pending, error);
    };
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => stop(new TaskTimeoutError(pending.task, timeoutMs)), timeoutMs);
    const onAbort = (): void => stop(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    void pending.outcome.catch(noop).finally(() => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    });
    pending.added = this.queue.add(pending.task, { call: toBase64(serialize(call)) }, { ...this.#jobOptions, jobId });
    await pending.added;
  }

  /**
   * The caller gave up: a job no worker has taken yet is removed (and so
   * finished); a running one is asked to stop on the queue's cancel channel,
   * and finishes when its worker has stopped it.
   */
  async #abandon(jobId: string, pending: PendingJob, reason: unknown): Promise<void> {
    try {
      await pending.added;
      if ((await this.queue.remove(jobId)) === 1) {
        pending.finish();
        return;
      }
      const client = await this.queue.getBackend().client;
      await client.runCommand('publish', [cancelChannel(this.queueName, this.#prefix), cancelMessage(jobId, messageOf(reason))]);
    } catch {
      // Not added, or already gone: its own settlement (or the add's failure) finishes it.
    }
  }

  #completed(jobId: string, returnvalue: unknown): void {
    const pending = this.#jobs.get(jobId);
    if (pending === undefined) return;
    try {
      const outcome = decodeReply(pending.task, fromBase64(returnvalue), this.#decodeOptions(pending));
      if (pending.waiting) pending.resolve(outcome);
      // Nobody will see what the job made for the caller that left.
      else void freeProxies(outcome.made);
    } catch (error) {
      if (pending.waiting) pending.reject(error);
    }
    pending.finish();
  }

  async #failed(jobId: string, failedReason: string): Promise<void> {
    const pending = this.#jobs.get(jobId);
    if (pending === undefined) return;
    try {
      if (!pending.waiting) return;
      if (STALLED.test(failedReason)) {
        pending.reject(new WorkerCrashedError(pending.task, `${failedReason}: its worker stopped renewing the job's lock (killed, crashed or blocked)`));
        return;
      }
      const stack = (await Job.fromId(this.queue, jobId).catch(() => undefined))?.stacktrace?.at(-1) ?? undefined;
      pending.reject(remoteFailure(pending.task, remoteError(failedReason, stack), pending.timeoutMs));
    } finally {
      pending.finish();
    }
  }

  #removed(jobId: string): void {
    const pending = this.#jobs.get(jobId);
    if (pending === undefined) return;
    if (pending.waiting) pending.reject(new ProxyStoreError(`the job of task '${pending.task}' was removed from queue '${this.queueName}' before it finished`));
    pending.finish();
  }

  #decodeOptions(pending: PendingJob): { policy?: ReferencePolicy; timeoutMs?: number } {
    return { ...(this.#policy === undefined ? {} : { policy: this.#policy }), ...(pending.timeoutMs === undefined ? {} : { timeoutMs: pending.timeoutMs }) };
  }
}

/** Connection settings from a `redis://[user:password@]host[:port][/db]` (or `rediss://`) URL, for BullMQ and the Redis connector alike. */
export interface RedisUrlOptions {
  readonly host: string;
  readonly port: number;
  readonly db?: number;
  readonly username?: string;
  readonly password?: string;
  readonly tls?: Readonly<Record<string, never>>;
}

export function redisOptionsFromUrl(url: string): RedisUrlOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`not a URL: ${url}`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new ConfigError(`expected a redis:// or rediss:// URL, got ${parsed.protocol}`);
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new ConfigError(`the database in a Redis URL is a number, got '${db}'`);
  return {
    host: parsed.hostname,
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    ...(db === '' ? {} : { db: Number(db) }),
    ...(parsed.username === '' ? {} : { username: decodeURIComponent(parsed.username) }),
    ...(parsed.password === '' ? {} : { password: decodeURIComponent(parsed.password) }),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

export type CreateWorkerOptions = WorkerTaskOptions & Omit<WorkerOptions, 'autorun'> & { readonly connection: ConnectionOptions };

/**
 * A BullMQ worker running `tasks` (a table of functions, or a module's
 * `defineTasks` handler, whose options the ones given here override). Inputs
 * are decoded and prefetched concurrently, and the task gets the objects
 * themselves; a result at least `resultThreshold` big goes back as a proxy. A task that throws fails
 * its attempt (BullMQ retries it if `attempts` allows); one that outlives its
 * call's `timeoutMs` fails for good. Close it with `worker.close()`.
 */
export function createWorker<T extends TaskTable<T>>(queueName: string, tasks: T | TaskHandler<T>, options: CreateWorkerOptions): Worker {
  const { store, resultThreshold, policy, ...workerOptions } = options;
  const table = taskTableOf(tasks);
  const runner = new TaskRunner(table.tasks, {
    ...table.options,
    ...(store === undefined ? {} : { store }),
    ...(resultThreshold === undefined ? {} : { resultThreshold }),
    ...(policy === undefined ? {} : { policy }),
  });
  const early = new EarlyCancels();
  const processor = async (job: Job<{ call?: unknown }>, _token?: string, signal?: AbortSignal): Promise<string> => {
    const cancelled = early.take(job.id);
    if (cancelled !== undefined) throw new UnrecoverableError(`cancelled by its caller before it started: ${cancelled}`);
    try {
      return toBase64(serialize(await runner.run(fromBase64(job.data.call), signal)));
    } catch (error) {
      // A retry cannot beat a deadline that has passed, and its caller has stopped waiting.
      if (error instanceof TaskTimeoutError) throw Object.assign(new UnrecoverableError(error.message), { stack: error.stack });
      // Only the cancel channel aborts BullMQ's signal: the caller has gone, so a retry would run for nobody.
      if (signal?.aborted === true) throw new UnrecoverableError(`cancelled by its caller: ${String(signal.reason)}`);
      throw error;
    }
  };
  return new CancellableWorker(queueName, processor as Processor, workerOptions, early);
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function fromBase64(text: unknown): unknown {
  if (typeof text !== 'string') throw new ProxyStoreError('job data or result is not a ts-proxystore message: was the job added by a BullMQExecutor and run by createWorker?');
  return deserialize(Buffer.from(text, 'base64'));
}

/** BullMQ keeps a failure's message and stack; the error's name is the stack's first word. */
function remoteError(message: string, stack: string | undefined): RemoteError {
  const name = /^([A-Za-z_$][\w$]*)(?::|\n|$)/.exec(stack ?? '')?.[1] ?? 'Error';
  return { name, message, ...(stack === undefined ? {} : { stack }) };
}
