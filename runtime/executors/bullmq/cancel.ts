/**
 * Cancelling a job a worker is already running. BullMQ can abort a job only
 * in the worker that holds it (`Worker.cancelJob`), so a caller that gives up
 * publishes the job's id on the queue's cancel channel, and every worker
 * created by `createWorker` listens there: the one running the job aborts it,
 * and a worker that has not started it yet remembers to refuse it.
 */
import type { Redis, RedisOptions } from 'ioredis';
import type { ConnectionOptions, Processor, WorkerOptions } from 'bullmq';
import { requireOptional } from '../../support/optional-dependency.js';

const ENTRY = 'ts-proxystore/executors/bullmq';
const { Worker } = requireOptional<typeof import('bullmq')>('bullmq', ENTRY);
const ioredis = requireOptional<typeof import('ioredis')>('ioredis', ENTRY);

interface CancelMessage {
  readonly jobId: string;
  readonly reason: string;
}

/** One pub/sub channel per queue, named after BullMQ's own keys. */
export function cancelChannel(queueName: string, prefix: string | undefined): string {
  return `${prefix ?? 'bull'}:${queueName}:ts-proxystore:cancel`;
}

export function cancelMessage(jobId: string, reason: string): string {
  return JSON.stringify({ jobId, reason } satisfies CancelMessage);
}

/** Enough for any backlog a worker could still take; older requests are for jobs long gone. */
const REMEMBERED = 1000;

/** Cancel requests for jobs this worker was not running when they came. */
export class EarlyCancels {
  readonly #reasons = new Map<string, string>();

  note(jobId: string, reason: string): void {
    this.#reasons.set(jobId, reason);
    if (this.#reasons.size > REMEMBERED) this.#reasons.delete(this.#reasons.keys().next().value as string);
  }

  /** The reason the job was cancelled before it started here, if it was; forgets it. */
  take(jobId: string | undefined): string | undefined {
    if (jobId === undefined) return undefined;
    const reason = this.#reasons.get(jobId);
    this.#reasons.delete(jobId);
    return reason;
  }
}

/** A BullMQ worker that also listens on its queue's cancel channel; ready once it does, and it stops listening on close. */
export class CancellableWorker extends Worker {
  readonly #subscriber: Redis;
  readonly #subscribed: Promise<unknown>;

  constructor(queueName: string, processor: Processor, options: WorkerOptions & { readonly connection: ConnectionOptions }, early: EarlyCancels) {
    super(queueName, processor, options);
    this.#subscriber = subscriberFor(options.connection);
    // Reported like the worker's own connection errors, rather than as ioredis's unhandled-error warnings.
    this.#subscriber.on('error', (error: Error) => this.emit('error', error));
    this.#subscriber.on('message', (_channel: string, text: string) => {
      const message = parse(text);
      if (message !== undefined && !this.cancelJob(message.jobId, message.reason)) early.note(message.jobId, message.reason);
    });
    // Errors surface through waitUntilReady; a rejection nobody awaits must not crash the process.
    this.#subscribed = this.#subscriber.subscribe(cancelChannel(queueName, options.prefix));
    this.#subscribed.catch(() => undefined);
  }

  override async waitUntilReady(): Promise<void> {
    await super.waitUntilReady();
    await this.#subscribed;
  }

  override async close(force?: boolean): Promise<void> {
    try {
      await super.close(force);
    } finally {
      this.#subscriber.disconnect();
    }
  }
}

/** A connection of its own: one in subscriber mode can send nothing else. */
function subscriberFor(connection: ConnectionOptions): Redis {
  const client = connection as Partial<{ duplicate(): Redis }>;
  return typeof client.duplicate === 'function' ? client.duplicate() : new ioredis.Redis({ ...(connection as RedisOptions), lazyConnect: false });
}

function parse(text: string): CancelMessage | undefined {
  try {
    const message = JSON.parse(text) as Partial<CancelMessage>;
    return typeof message.jobId === 'string' && typeof message.reason === 'string' ? (message as CancelMessage) : undefined;
  } catch {
    return undefined;
  }
}
