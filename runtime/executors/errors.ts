import { ERROR_CODES, ProxyStoreError, type ErrorCode } from '../errors.js';

/** An error as it crossed from a worker: only its text survives, never its class. */
export interface RemoteError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
}

/** The worker's frames under a caller-side header, so the trace points at the task's code, not at ours. */
function remoteFrames(remote: RemoteError): string {
  const stack = remote.stack ?? '';
  const firstFrame = stack.indexOf('\n    at ');
  return firstFrame === -1 ? '' : stack.slice(firstFrame);
}

/**
 * The task itself threw (or rejected). `cause` is a copy of the task's error
 * with its name, message and stack; `stack` shows the worker's frames.
 */
export class TaskError extends ProxyStoreError {
  static override readonly code: ErrorCode = ERROR_CODES.TaskError;
  override name = 'TaskError';
  readonly remoteName: string;

  constructor(
    readonly task: string,
    remote: RemoteError,
  ) {
    const cause = Object.assign(new Error(remote.message), { name: remote.name, stack: remote.stack ?? `${remote.name}: ${remote.message}` });
    super(`task '${task}' failed: ${remote.name}: ${remote.message}`, { cause });
    this.remoteName = remote.name;
    this.stack = `${this.name}: ${this.message}${remoteFrames(remote)}`;
  }
}

/** The task did not finish within its `timeoutMs`; the engine stopped waiting (and, where it can, the task). */
export class TaskTimeoutError extends ProxyStoreError {
  static override readonly code: ErrorCode = ERROR_CODES.TaskTimeoutError;
  override name = 'TaskTimeoutError';
  constructor(
    readonly task: string,
    readonly timeoutMs: number,
  ) {
    super(`task '${task}' did not finish within ${timeoutMs} ms`);
  }
}

/** The thread or process running the task died before answering (exit, kill, uncaught error, lost lock). */
export class WorkerCrashedError extends ProxyStoreError {
  static override readonly code: ErrorCode = ERROR_CODES.WorkerCrashedError;
  override name = 'WorkerCrashedError';
  constructor(
    readonly task: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`the worker running task '${task}' crashed: ${detail}`, options);
  }
}

/** A job waited on a queue no worker listens on, longer than the executor's `noWorkerTimeoutMs`. */
export class NoWorkerError extends ProxyStoreError {
  static override readonly code: ErrorCode = ERROR_CODES.NoWorkerError;
  override name = 'NoWorkerError';
  constructor(
    readonly task: string,
    readonly queueName: string,
    readonly waitedMs: number,
  ) {
    super(
      `no worker listening on queue '${queueName}': task '${task}' waited ${waitedMs} ms without one ` +
        `(start one, e.g. ts-proxystore-worker --queue ${queueName} --tasks ./tasks.js, or raise noWorkerTimeoutMs)`,
    );
  }
}

/** A job vanished from its queue before it settled: Redis restarted empty, was flushed, or someone removed it. */
export class JobLostError extends ProxyStoreError {
  static override readonly code: ErrorCode = ERROR_CODES.JobLostError;
  override name = 'JobLostError';
  constructor(
    readonly task: string,
    readonly queueName: string,
    detail: string,
  ) {
    super(`the job of task '${task}' vanished from queue '${queueName}' before it finished: ${detail}; submit it again once the inputs are stored again`);
  }
}

/** A task started on an executor after its `shutdown()` began; start a new executor for more work. */
export class ExecutorShutDownError extends ProxyStoreError {
  static override readonly code: ErrorCode = ERROR_CODES.ExecutorShutDownError;
  override name = 'ExecutorShutDownError';
}
