/// <reference types="node" preserve="true" />
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
import type { ConnectionOptions, Job, JobsOptions, Processor, Queue, QueueEvents, Worker, WorkerOptions } from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';
import { createDebug } from 'obug';
import { endTaskSends } from '../../store/auto-proxy.js';
import type { ReferencePolicy } from '../../connectors/connector.js';
import { endTaskBorrows } from '../../store/ownership.js';
import { ConfigError, RedisUnreachableError, SerializationError, describeKey, messageOf } from '../../errors.js';
import { requireOptional } from '../../support/optional-dependency.js';
import { deserialize, serialize } from '../../serialize/serializer.js';
import { isTimeoutMs, setLongTimeout, settleWithin } from '../../support/timers.js';
import { CancellableWorker, EarlyCancels, cancelChannel, cancelMessage } from './cancel.js';
import { ExecutorShutDownError, JobLostError, NoWorkerError, TaskTimeoutError, WorkerCrashedError, type RemoteError } from '../errors.js';
import { BaseExecutor, freeProxies, noop, type AnyTasks, type Launched, type RunOptions, type TaskOutcome, type TaskTable } from '../executor.js';
import { TaskRunner, taskTableOf, type TaskHandler, type WorkerTaskOptions } from '../worker/task-runner.js';
import { decodeReply, describeError, encodeCall, remoteFailure } from '../task-wire.js';

const bullmq = requireOptional<typeof import('bullmq')>('bullmq', 'ts-proxystore/executors/bullmq');
const ioredis = requireOptional<typeof import('ioredis')>('ioredis', 'ts-proxystore/executors/bullmq');
const debug = createDebug('ts-proxystore:bullmq');

export { resultArray, taskSignal, type TaskHandler, type WorkerTaskOptions } from '../worker/task-runner.js';

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
  /**
   * A job that has waited this long while no worker listens on the queue
   * fails with NoWorkerError (and leaves the queue). Default 30 s; `Infinity`
   * lets jobs wait for workers that start later, however late.
   */
  readonly noWorkerTimeoutMs?: number;
  /**
   * Once Redis has been unreachable this long, every call still waiting on it
   * fails with RedisUnreachableError, so that calls and `shutdown()` end.
   * Default 15 s; shorter outages are ridden out.
   */
  readonly unreachableTimeoutMs?: number;
  /** How often calls in flight are checked on: workers listening, Redis reachable, not restarted empty. Default 1 s. */
  readonly watchIntervalMs?: number;
  /**
   * Told once per outage when the executor's own Redis connections fail
   * (instead of ioredis printing every reconnect attempt). Default: the debug
   * log `ts-proxystore:bullmq` (DEBUG=ts-proxystore:*).
   */
  readonly onError?: (error: RedisUnreachableError) => void;
}

/** What BullMQ says when the stalled-job check gives up on a job whose worker stopped renewing its lock. */
const STALLED = /stalled more than allowable limit/;
const DEFAULT_NO_WORKER_TIMEOUT_MS = 30_000;
const DEFAULT_UNREACHABLE_TIMEOUT_MS = 15_000;
const DEFAULT_WATCH_INTERVAL_MS = 1_000;
/** Bound on closing the queue's connections gracefully; then they are dropped. */
const CLOSE_GRACE_MS = 2_000;
/** Reconnect attempts come this much later each time, and at most a second apart (see promptReconnects). */
const RECONNECT_STEP_MS = 100;
const RECONNECT_MAX_MS = 1_000;
/** Job states in which no worker has the job yet. */
const NOT_STARTED = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children']);

/** A job the caller launched, until it is settled for good. */
class PendingJob {
  readonly outcome: Promise<TaskOutcome<unknown>>;
  readonly finished: Promise<void>;
  readonly startedAt = performance.now();
  /** True while the caller still waits for the outcome. */
  waiting = true;
  /** Set once the job has an id in the queue. */
  jobId: string | undefined;
  /** Set once the job is in the queue, so that abandoning it can wait for that. */
  added: Promise<unknown> = Promise.resolve();
  /** Missing from the queue at the last look for lost jobs (see #failLostJobs). */
  missing = false;
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
 * WorkerCrashedError; with no worker left to run that check, the caller gets
 * one once no worker has been connected for `noWorkerTimeoutMs`.
 *
 * Every call ends within a bound, even without `timeoutMs`: while calls are
 * in flight the executor checks on them every `watchIntervalMs`. A job no
 * worker listens for fails after `noWorkerTimeoutMs` (NoWorkerError); jobs
 * that vanished because Redis restarted empty fail at once (JobLostError);
 * calls fail once Redis has been unreachable for `unreachableTimeoutMs`
 * (RedisUnreachableError); such calls count as settled for good, so their
 * inputs are freed even though a job that reaches Redis later may still run
 * (and then fail on its missing inputs). `shutdown()` waits until every job is settled,
 * then closes the executor's queue connections, dropping them if Redis does
 * not answer.
 */
export class BullMQExecutor<T extends TaskTable<T> = AnyTasks> extends BaseExecutor<T> {
  readonly queue: Queue;
  readonly #connection: ConnectionOptions;
  readonly #prefix: string | undefined;
  readonly #jobOptions: JobsOptions;
  readonly #policy: ReferencePolicy | undefined;
  readonly #noWorkerTimeoutMs: number;
  readonly #unreachableTimeoutMs: number;
  readonly #watchIntervalMs: number;
  readonly #onError: (error: RedisUnreachableError) => void;
  /** 'host:port' of the queue's Redis, for messages. */
  readonly #address: string;
  /** Every call not yet settled for good. */
  readonly #pending = new Set<PendingJob>();
  /** Those of them whose job has an id in the queue. */
  readonly #jobs = new Map<string, PendingJob>();
  readonly #events: Promise<QueueEvents>;
  /**
   * The queue's connection when the executor made it (from connection
   * options): BullMQ cannot drop a connection that never came up, so
   * shutdown with Redis away would wait for ever; this one it drops itself.
   */
  readonly #queueClient: Redis | undefined;
  /** The queue's event listener once made (by `#listen`), for `close`. */
  #queueEvents: QueueEvents | undefined;
  #watch: NodeJS.Timeout | undefined;
  #checking = false;
  #closed = false;
  /** The server's run_id when last seen: a new one means Redis restarted, and may have lost every job. */
  #runId: string | undefined;
  #unreachableSince: number | undefined;
  /** Why jobs missing from the queue at the last round would be lost, while they are looked for again. */
  #lostWhy: string | undefined;
  #lastConnectionError: Error | undefined;
  /** Set by the first connection error of an outage, cleared when a check reaches Redis again. */
  #inOutage = false;
  /** When a worker was last seen listening on the queue. */
  #workerSeenAt = -Infinity;

  constructor(
    readonly queueName: string,
    options: BullMQExecutorOptions,
  ) {
    super();
    this.#connection = options.connection;
    this.#prefix = options.prefix;
    this.#jobOptions = { removeOnComplete: true, removeOnFail: { count: 1000 }, ...options.jobOptions };
    this.#policy = options.policy;
    this.#noWorkerTimeoutMs = timeoutOption('noWorkerTimeoutMs', options.noWorkerTimeoutMs, DEFAULT_NO_WORKER_TIMEOUT_MS);
    this.#unreachableTimeoutMs = timeoutOption('unreachableTimeoutMs', options.unreachableTimeoutMs, DEFAULT_UNREACHABLE_TIMEOUT_MS);
    this.#watchIntervalMs = timeoutOption('watchIntervalMs', options.watchIntervalMs, DEFAULT_WATCH_INTERVAL_MS);
    if (options.onError !== undefined && typeof options.onError !== 'function') throw new ConfigError(`BullMQExecutor: option 'onError' must be a function`);
    this.#onError = options.onError ?? ((error) => debug('%s', error.message));
    this.#address = addressOf(options.connection);
    this.#queueClient = isClient(options.connection) ? undefined : new ioredis.Redis({ ...(options.connection as RedisOptions), maxRetriesPerRequest: null });
    this.#queueClient?.on('error', (error: Error) => this.#connectionError(error));
    this.queue = new bullmq.Queue(queueName, { connection: this.#queueClient ?? options.connection, ...(options.prefix === undefined ? {} : { prefix: options.prefix }) });
    this.queue.on('error', (error) => this.#connectionError(error));
    this.#events = this.#listen();
    // Failures surface in the first call (or shutdown) that awaits the events.
    this.#events.catch(() => undefined);
  }

  protected start(task: string, args: readonly unknown[], options: RunOptions): Launched<unknown> {
    const pending = new PendingJob(task, options.timeoutMs);
    this.#pending.add(pending);
    void pending.finished.then(() => {
      this.#pending.delete(pending);
      if (pending.jobId !== undefined) this.#jobs.delete(pending.jobId);
      if (this.#pending.size === 0) this.#stopWatching();
    });
    this.#startWatching();
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
    this.#closed = true;
    this.#stopWatching();
    // The event listener as far as it got: never made when Redis was never reached, perhaps not ready yet.
    const events = this.#queueEvents;
    const closing = Promise.allSettled([events?.close(), this.queue.close()]);
    if ((await settleWithin(closing, CLOSE_GRACE_MS)) === undefined) {
      // Redis does not answer QUIT: drop the connections, which also stops their reconnecting.
      await settleWithin(Promise.allSettled([this.queue.disconnect(), events?.disconnect()]), CLOSE_GRACE_MS);
    }
    const client = this.#queueClient;
    if (client === undefined) return;
    if (client.status === 'ready') await settleWithin(client.quit().catch(noop), CLOSE_GRACE_MS);
    client.disconnect();
  }

  /**
   * Events are read from the stream's last entry as of now, so no completion
   * can slip by between listening and the first job.
   */
  async #listen(): Promise<QueueEvents> {
    const client = await this.queue.getBackend().client;
    // The first run_id seen, so a restart during the first calls is noticed.
    this.#runId ??= await this.#serverRunId();
    const last = (await client.runCommand('xrevrange', [this.queue.keys.events, '+', '-', 'COUNT', 1])) as [string, unknown][];
    if (this.#closed) throw new ExecutorShutDownError(`BullMQExecutor for queue '${this.queueName}' was shut down before it reached Redis`);
    const events = new bullmq.QueueEvents(this.queueName, {
      connection: promptReconnects(this.#connection),
      lastEventId: last[0]?.[0] ?? '0',
      ...(this.#prefix === undefined ? {} : { prefix: this.#prefix }),
    });
    this.#queueEvents = events;
    events.on('error', (error) => this.#connectionError(error));
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
    // The watch gave up on this call while Redis was away: adding it now would run it for nobody.
    if (!pending.waiting) return;
    const jobId = randomUUID();
    pending.jobId = jobId;
    this.#jobs.set(jobId, pending);
    const timer = timeoutMs === undefined ? undefined : setLongTimeout(() => this.#giveUp(pending, new TaskTimeoutError(pending.task, timeoutMs)), timeoutMs);
    const onAbort = (): void => this.#giveUp(pending, signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    void pending.outcome.catch(noop).finally(() => {
      timer?.clear();
      signal?.removeEventListener('abort', onAbort);
    });
    pending.added = this.queue.add(pending.task, { call: toBase64(serialize(call)) }, { ...this.#jobOptions, jobId });
    await pending.added;
  }

  /** The caller stops waiting with `error`; the job is removed, or asked to stop, see `#abandon`. */
  #giveUp(pending: PendingJob, error: unknown): void {
    if (!pending.waiting) return;
    pending.reject(error);
    if (pending.jobId !== undefined) void this.#abandon(pending.jobId, pending, error);
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

  #startWatching(): void {
    if (this.#watch !== undefined) return;
    // Unreferenced: the calls' own connections keep the process alive while they matter.
    this.#watch = setInterval(() => void this.#check(), this.#watchIntervalMs).unref();
  }

  #stopWatching(): void {
    clearInterval(this.#watch);
    this.#watch = undefined;
  }

  /** One round of checks on the calls in flight; see the class comment. */
  async #check(): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    try {
      const now = performance.now();
      const runId = await this.#serverRunId();
      if (runId === undefined) {
        this.#unreachable(now);
        return;
      }
      const wasAway = this.#unreachableSince !== undefined;
      this.#unreachableSince = undefined;
      this.#inOutage = false;
      const restarted = this.#runId !== undefined && runId !== this.#runId;
      this.#runId = runId;
      // Jobs are lost only to a restart (or a flush), which an outage may hide: after either, every job is looked up.
      if (restarted) this.#lostWhy = 'Redis restarted (its run_id changed) and lost it';
      else if (wasAway) this.#lostWhy ??= 'it was lost while Redis was unreachable (restarted or flushed)';
      if (this.#lostWhy !== undefined) await this.#failLostJobs(this.#lostWhy);
      await this.#failUnservedJobs(now);
    } catch (error) {
      // A check that fails is retried next round; it must never take the process down.
      debug('check of queue %s failed: %s', this.queueName, messageOf(error));
    } finally {
      this.#checking = false;
    }
  }

  /** The server's run_id, or undefined when Redis does not answer within a round. */
  async #serverRunId(): Promise<string | undefined> {
    const client = await settleWithin(this.queue.getBackend().client, this.#watchIntervalMs);
    // A command sent while disconnected would wait in ioredis' offline queue until Redis is back.
    if (client === undefined || (client.value as { status?: string }).status !== 'ready') return undefined;
    const info = await settleWithin(client.value.runCommand('info', ['server']) as Promise<string>, this.#watchIntervalMs).catch(() => undefined);
    return info === undefined ? undefined : (/run_id:(\w+)/.exec(info.value)?.[1] ?? '');
  }

  #unreachable(now: number): void {
    this.#unreachableSince ??= now;
    const down = now - this.#unreachableSince;
    if (down < this.#unreachableTimeoutMs) return;
    const reason = `no answer for ${Math.round(down)} ms (unreachableTimeoutMs ${this.#unreachableTimeoutMs})${this.#lastConnectionError === undefined ? '' : `: ${this.#lastConnectionError.message}`}`;
    for (const pending of this.#pending) {
      if (pending.waiting) pending.reject(new RedisUnreachableError(this.#address, `task '${pending.task}' on queue '${this.queueName}'`, reason, { cause: this.#lastConnectionError }));
      // Nothing more can be learnt about the job without Redis; its inputs are given up with it.
      pending.finish();
    }
  }

  /**
   * Fails the jobs that are gone from the queue. A job that completed is gone
   * too (removed on completion) until its event is read, which a busy caller,
   * or an outage, delays: so a job is lost only when it is still missing a
   * round later, its event not read meanwhile.
   */
  async #failLostJobs(why: string): Promise<void> {
    let missing = false;
    for (const [jobId, pending] of this.#jobs) {
      const gone = (await this.queue.getJobState(jobId)) === 'unknown';
      if (gone && pending.missing) {
        if (pending.waiting) pending.reject(new JobLostError(pending.task, this.queueName, why));
        pending.finish();
      }
      pending.missing = gone;
      missing ||= gone;
    }
    if (!missing) this.#lostWhy = undefined;
  }

  async #failUnservedJobs(now: number): Promise<void> {
    if (this.#noWorkerTimeoutMs === Infinity) return;
    const workers = await this.queue.getWorkersCount();
    if (workers > 0) {
      this.#workerSeenAt = now;
      return;
    }
    for (const [jobId, pending] of this.#jobs) {
      const waited = now - Math.max(pending.startedAt, this.#workerSeenAt);
      if (!pending.waiting || waited < this.#noWorkerTimeoutMs) continue;
      const state = await this.queue.getJobState(jobId);
      if (NOT_STARTED.has(state)) {
        this.#giveUp(pending, new NoWorkerError(pending.task, this.queueName, Math.round(waited)));
      } else if (state === 'active') {
        // Its worker is gone, and BullMQ's stalled-job check, which would fail the job, runs only in workers.
        this.#giveUp(
          pending,
          new WorkerCrashedError(
            pending.task,
            `no worker has been connected to queue '${this.queueName}' for ${Math.round(waited)} ms (noWorkerTimeoutMs) while the job was running: its worker is gone, and with no worker left nothing else can notice`,
          ),
        );
      }
    }
  }

  /** ioredis reports every failed reconnect; the caller hears of an outage once, and its calls through the watch. */
  #connectionError(error: Error): void {
    this.#lastConnectionError = error;
    if (this.#inOutage) return;
    this.#inOutage = true;
    this.#onError(new RedisUnreachableError(this.#address, `queue '${this.queueName}'`, error.message, { cause: error }));
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
      const stack = (await bullmq.Job.fromId(this.queue, jobId).catch(() => undefined))?.stacktrace?.at(-1) ?? undefined;
      pending.reject(remoteFailure(pending.task, remoteError(failedReason, stack), pending.timeoutMs));
    } finally {
      pending.finish();
    }
  }

  #removed(jobId: string): void {
    const pending = this.#jobs.get(jobId);
    if (pending === undefined) return;
    if (pending.waiting) pending.reject(new JobLostError(pending.task, this.queueName, 'it was removed from the queue'));
    pending.finish();
  }

  #decodeOptions(pending: PendingJob): { policy?: ReferencePolicy; timeoutMs?: number } {
    return { ...(this.#policy === undefined ? {} : { policy: this.#policy }), ...(pending.timeoutMs === undefined ? {} : { timeoutMs: pending.timeoutMs }) };
  }
}

function timeoutOption(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (isTimeoutMs(value)) return value;
  throw new ConfigError(`BullMQExecutor: option '${option}' must be a positive number of milliseconds (or Infinity), got ${describeKey(value)}`);
}

/**
 * Connection options whose reconnect attempts come at least once a second,
 * unless the caller chose a retryStrategy (or gave a client). BullMQ's own
 * backoff grows to 20 s between attempts: after an outage of 20 s or so the
 * queue's events, or a worker, came back that much after Redis did, and
 * calls made meanwhile took their completed jobs for lost.
 */
function promptReconnects(connection: ConnectionOptions): ConnectionOptions {
  if (isClient(connection) || (connection as RedisOptions).retryStrategy !== undefined) return connection;
  return { ...(connection as RedisOptions), retryStrategy: (attempt: number) => Math.min(RECONNECT_STEP_MS * attempt, RECONNECT_MAX_MS) };
}

/** Whether a BullMQ connection is a client (the caller's, which it keeps) rather than options to open one with. */
function isClient(connection: ConnectionOptions): boolean {
  return typeof (connection as { duplicate?: unknown }).duplicate === 'function';
}

/** 'host:port' of a BullMQ connection (options or an ioredis client), for messages. */
function addressOf(connection: ConnectionOptions): string {
  const options = (connection as { options?: { host?: unknown; port?: unknown } }).options ?? (connection as { host?: unknown; port?: unknown });
  const host = typeof options.host === 'string' ? options.host : '127.0.0.1';
  const port = typeof options.port === 'number' ? options.port : 6379;
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
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
    if (cancelled !== undefined) throw new bullmq.UnrecoverableError(`cancelled by its caller before it started: ${cancelled}`);
    try {
      return toBase64(serialize(await runner.run(fromBase64(job.data.call), signal)));
    } catch (error) {
      // A retry cannot beat a deadline that has passed, and its caller has stopped waiting.
      if (error instanceof TaskTimeoutError) throw Object.assign(new bullmq.UnrecoverableError(error.message), { stack: error.stack });
      // Only the cancel channel aborts BullMQ's signal: the caller has gone, so a retry would run for nobody.
      if (signal?.aborted === true) throw new bullmq.UnrecoverableError(`cancelled by its caller: ${String(signal.reason)}`);
      // BullMQ records a failure's message: a thrown string or object would arrive as 'null'.
      throw error instanceof Error ? error : new Error(describeError(error).message);
    }
  };
  return new CancellableWorker(queueName, processor as Processor, { ...workerOptions, connection: promptReconnects(workerOptions.connection) }, early);
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function fromBase64(text: unknown): unknown {
  if (typeof text !== 'string') throw new SerializationError('job data or result is not a ts-proxystore message: was the job added by a BullMQExecutor and run by createWorker?');
  return deserialize(Buffer.from(text, 'base64'));
}

/** BullMQ keeps a failure's message and stack; the error's name is the stack's first word. */
function remoteError(message: string, stack: string | undefined): RemoteError {
  const name = /^([A-Za-z_$][\w$]*)(?::|\n|$)/.exec(stack ?? '')?.[1] ?? 'Error';
  return { name, message, ...(stack === undefined ? {} : { stack }) };
}
