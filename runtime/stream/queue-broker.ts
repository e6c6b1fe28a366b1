/**
 * An in-process broker: bounded queues per topic, for tests and one-machine
 * use. Every subscriber of a topic gets every message sent after it
 * subscribed (fan-out); a full queue makes `send` wait (backpressure).
 */
import { ConfigError } from '../errors.js';
import type { BrokerMessage, Publisher, Subscriber } from './broker.js';

export interface QueueBrokerOptions {
  /** Messages a subscriber may have waiting before `send` waits for it. Default 1024. */
  readonly capacity?: number;
}

export class QueueBroker {
  readonly capacity: number;
  readonly #subscribers = new Map<string, Set<QueueSubscriber>>();

  constructor(options: QueueBrokerOptions = {}) {
    const capacity = options.capacity ?? 1024;
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new ConfigError(`QueueBroker: capacity must be a whole number of messages, at least 1, got ${String(capacity)}`);
    this.capacity = capacity;
  }

  publisher(): Publisher {
    return {
      send: async (topic, data) => {
        for (const subscriber of this.#subscribers.get(topic) ?? []) await subscriber.push({ topic, data });
      },
      close: () => Promise.resolve(),
    };
  }

  subscriber(topics: string | readonly string[]): Subscriber {
    const list = typeof topics === 'string' ? [topics] : [...topics];
    const subscriber = new QueueSubscriber(list, this.capacity, () => {
      for (const topic of list) this.#subscribers.get(topic)?.delete(subscriber);
    });
    for (const topic of list) {
      let set = this.#subscribers.get(topic);
      if (set === undefined) this.#subscribers.set(topic, (set = new Set()));
      set.add(subscriber);
    }
    return subscriber;
  }
}

class QueueSubscriber implements Subscriber {
  readonly #queue: BrokerMessage[] = [];
  /** Resolves the reader waiting for a message, or the writers waiting for room. */
  #reader: (() => void) | undefined;
  readonly #writers: (() => void)[] = [];
  #closed = false;

  constructor(
    readonly topics: readonly string[],
    private readonly capacity: number,
    private readonly detach: () => void,
  ) {}

  async push(message: BrokerMessage): Promise<void> {
    while (!this.#closed && this.#queue.length >= this.capacity) await new Promise<void>((resolve) => this.#writers.push(resolve));
    if (this.#closed) return;
    this.#queue.push(message);
    this.#reader?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<BrokerMessage> {
    for (;;) {
      const next = this.#queue.shift();
      if (next !== undefined) {
        this.#writers.shift()?.();
        yield next;
        continue;
      }
      if (this.#closed) return;
      await new Promise<void>((resolve) => (this.#reader = resolve));
      this.#reader = undefined;
    }
  }

  close(): Promise<void> {
    this.#closed = true;
    this.detach();
    this.#reader?.();
    for (const writer of this.#writers.splice(0)) writer();
    return Promise.resolve();
  }
}
