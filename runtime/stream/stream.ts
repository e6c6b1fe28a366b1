/**
 * Streams of proxies (ProxyStore's StreamProducer / StreamConsumer): the
 * producer puts each item in a store and publishes only a small event (the
 * item's descriptor) on a broker; consumers iterate the events and get each
 * item as a proxy, read from the store where it is used. Bulk data never
 * passes through the broker.
 *
 * An event on the wire is JSON: `{ v: 1, items: [{ p: <descriptor>, m: <metadata> }] }`
 * (several items when batched), or `{ v: 1, end: true }` when the producer closed the topic.
 */
import type { JsonValue, ReferencePolicy } from '../connectors/connector.js';
import { ConfigError, DescriptorError, ERROR_CODES, ProxyStoreError, messageOf, type ErrorCode } from '../errors.js';
import { resolveAsync } from '../proxy/proxy.js';
import { decodeProxies, encodeProxies, isDescriptorLike } from '../store/references.js';
import { borrowViews, returnViews, type Borrow } from '../store/view-borrows.js';
import { Store, locate } from '../store/store.js';
import type { Proxy } from '../../src/types.js';
import type { BrokerMessage, Publisher, Subscriber } from './broker.js';

export type StreamMetadata = Readonly<Record<string, JsonValue>>;

export interface StreamProducerOptions<Topics> {
  /** Where items go: one store for every topic, or one per topic (with `default` for the rest). */
  readonly stores: Store | (Partial<Record<keyof Topics & string, Store>> & { readonly default?: Store });
  /** Drop items before they are stored: return false to skip one. */
  readonly filter?: (topic: keyof Topics & string, value: unknown, metadata: StreamMetadata) => boolean;
  /** Items per event, per topic: a batch is published once full, on `flush()` and on `close()`. Default 1. */
  readonly batchSize?: number;
  /** Default true: consumers evict each item once they are done with it. */
  readonly evict?: boolean;
}

export interface SendOptions {
  /** Small JSON values that travel with the item's event, for consumers' filters. */
  readonly metadata?: StreamMetadata;
  /** Overrides the producer's `evict` for this item. */
  readonly evict?: boolean;
}

interface WireItem {
  readonly p: unknown;
  readonly m?: StreamMetadata;
}

/** A send on a StreamProducer after its `close()`. */
export class StreamClosedError extends ProxyStoreError {
  static override readonly code: ErrorCode = ERROR_CODES.StreamClosedError;
  override name = 'StreamClosedError';
}

/**
 * Sends items of typed topics: `new StreamProducer<{ frames: Float64Array }>(publisher, { stores: store })`
 * then `send('frames', frame)`. Each send stores the item and publishes its descriptor.
 */
export class StreamProducer<Topics extends Record<string, unknown> = Record<string, unknown>> {
  readonly #publisher: Publisher;
  readonly #options: StreamProducerOptions<Topics>;
  readonly #batchSize: number;
  readonly #batches = new Map<string, WireItem[]>();
  readonly #topics = new Set<string>();
  #closed = false;

  constructor(publisher: Publisher, options: StreamProducerOptions<Topics>) {
    this.#publisher = publisher;
    this.#options = options;
    const batchSize = options.batchSize ?? 1;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new ConfigError(`StreamProducer: batchSize must be a whole number, at least 1, got ${String(batchSize)}`);
    this.#batchSize = batchSize;
  }

  /** Stores `value` and publishes its event (or adds it to the topic's batch); resolves once the broker has it. */
  async send<K extends keyof Topics & string>(topic: K, value: Topics[K] & object, options: SendOptions = {}): Promise<void> {
    if (this.#closed) throw new StreamClosedError(`StreamProducer: closed, cannot send to topic '${topic}'`);
    const metadata = options.metadata ?? {};
    if (this.#options.filter !== undefined && !this.#options.filter(topic, value, metadata)) return;
    const store = this.#storeFor(topic);
    const evict = options.evict ?? this.#options.evict ?? true;
    // Not populated: the descriptor is all that leaves, and nothing here keeps the value alive.
    const p = await store.proxy(value, { populateTarget: false, evict });
    this.#topics.add(topic);
    let batch = this.#batches.get(topic);
    if (batch === undefined) this.#batches.set(topic, (batch = []));
    batch.push({ p: encodeProxies(p), ...(options.metadata === undefined ? {} : { m: metadata }) });
    if (batch.length >= this.#batchSize) await this.#publish(topic);
  }

  /** Publishes every partial batch now. */
  async flush(): Promise<void> {
    await Promise.all([...this.#batches.keys()].map((topic) => this.#publish(topic)));
  }

  /**
   * Flushes, then ends every topic it sent to (or those given): each consumer's
   * iteration of those topics finishes once it has had every item. Closes the
   * publisher unless `closePublisher: false`.
   */
  async close(options: { topics?: readonly (keyof Topics & string)[]; closePublisher?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    const topics = options.topics ?? [...this.#topics];
    for (const topic of topics) {
      await this.#publisher.end?.(topic);
      await this.#publisher.send(topic, JSON.stringify({ v: 1, end: true }));
    }
    if (options.closePublisher !== false) await this.#publisher.close();
  }

  /** `await using producer = new StreamProducer(…)` closes it (as `close()` does) when the scope ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #publish(topic: string): Promise<void> {
    const items = this.#batches.get(topic);
    if (items === undefined || items.length === 0) return;
    this.#batches.set(topic, []);
    await this.#publisher.send(topic, JSON.stringify({ v: 1, items }));
  }

  #storeFor(topic: string): Store {
    const { stores } = this.#options;
    if (stores instanceof Store) return stores;
    const store = (stores as Record<string, Store | undefined>)[topic] ?? stores.default;
    if (store === undefined) throw new ConfigError(`StreamProducer: no store for topic '${topic}' and no default store`);
    return store;
  }
}

export interface StreamConsumerOptions {
  /** Skip items by their metadata without reading them (skipped items are still evicted when due). */
  readonly filter?: (metadata: StreamMetadata, topic: string) => boolean;
  /** What descriptors may point at, as for any decode of data from elsewhere. */
  readonly policy?: ReferencePolicy;
  /**
   * Default true: items are read without blocking before the loop gets them,
   * so using one costs no wait. A synchronous first touch would otherwise read
   * it then, blocking the thread, and for Redis or peer stores through the
   * sync bridge (a worker thread, and one more copy of the bytes). Reading
   * runs ahead of the loop by up to this many items (true: 4), so fetching
   * the next ones overlaps the work on this one; items read ahead are
   * acknowledged, like the others, only once the loop is done with them. The
   * evictions and acknowledgements of up to as many messages stay in flight
   * while the loop goes on; one that fails is thrown by the loop's next step
   * (also while it waits for an item) or when it ends. False hands items
   * over unread, for loops that skip many without touching them, and
   * finishes each item before the next.
   */
  readonly readAhead?: boolean | number;
  /**
   * Default false. True: when the loop asks for the next item, the memory the
   * last one was read into goes back to its store for later reads
   * (`releaseViews`, as `StoreExecutor.release` does), instead of waiting for
   * the garbage collector. A peer or Redis store then reads every item into memory
   * written before, with no fresh allocation and no collection for it (on
   * 1 MB items: a third less CPU per item, see docs/concepts/streams.md); a
   * shared-memory store recycles its slots sooner. The price: an item, and
   * arrays read from it, may show another item's bytes once the loop has
   * moved on, so copy (`slice()`) what must outlive its loop step. Other
   * consumers of this thread reading the same object keep it: its memory
   * goes back when the last of them is done, and stays if one of them does
   * not release its items.
   */
  readonly releaseItems?: boolean;
}

/** One item with what came with it. */
export interface StreamItem<T> {
  readonly topic: string;
  readonly metadata: StreamMetadata;
  /** The item, read from its store when used. */
  readonly proxy: Proxy<T & object>;
}

/**
 * Iterates items as proxies: `for await (const frame of consumer) …`. An item
 * is done when the loop asks for the next one: then it is evicted (when its
 * producer said so) and acknowledged to the broker, so an item whose consumer
 * dies mid-way is redelivered (Redis Streams) with its object still stored.
 * A consumer that dies after evicting an item but before acknowledging it
 * leaves a redelivered item without its object: that item was done, and is
 * skipped (acknowledged, not handed out again).
 * Iteration ends when the producer closes every topic, or on `close()`.
 */
export class StreamConsumer<T> implements AsyncIterable<Proxy<T & object>> {
  readonly #subscriber: Subscriber;
  readonly #options: StreamConsumerOptions;
  /** How many items reading runs ahead of the loop (0: none, items are handed over unread). */
  readonly #window: number;
  #closed = false;

  constructor(subscriber: Subscriber, options: StreamConsumerOptions = {}) {
    this.#subscriber = subscriber;
    this.#options = options;
    this.#window = readAheadWindow(options.readAhead);
    if (options.releaseItems !== undefined && typeof options.releaseItems !== 'boolean') {
      throw new ConfigError(`StreamConsumer: releaseItems must be a boolean, got ${String(options.releaseItems)}`);
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Proxy<T & object>> {
    for await (const item of this.items()) yield item.proxy;
  }

  /** The items' values rather than proxies: each is read as soon as it comes. */
  async *values(): AsyncGenerator<T & object> {
    for await (const item of this.items()) yield (await resolveAsync(item.proxy)) as T & object;
  }

  /** Items with their topic and metadata. */
  async *items(): AsyncGenerator<StreamItem<T>> {
    const window = this.#window;
    const release = this.#options.releaseItems === true;
    /** The item the loop has, until it asks for the next. */
    let current: Pending<T> | undefined;
    const ended = new Set<string>();
    const messages = this.#subscriber[Symbol.asyncIterator]();
    /** Items taken from messages and not yet handed to the loop, in order; their reads started when read-ahead is on. */
    const ahead: Pending<T>[] = [];
    /** The broker's answer being awaited: messages are taken as they come, so the reads of their items start at once. */
    let pulling: Promise<void> | undefined;
    let drained = false;
    let exhausted = false;
    let failure: { readonly error: unknown } | undefined;
    /** Wakes the loop waiting for the broker when a failure comes meanwhile. */
    let wake: (() => void) | undefined;
    let finishing: Promise<unknown> = Promise.resolve();
    /**
     * The links of `finishing` not yet awaited, oldest first. Up to `window`
     * messages' evictions and acknowledgements stay in flight while the loop
     * goes on (each costs round trips the loop need not wait for); a failure
     * among them is thrown at the loop's next step (also while it waits for
     * the broker: a stream whose producer died may bring no later item), never lost.
     */
    const behind: Promise<unknown>[] = [];
    const follow = (link: Promise<unknown>): void => {
      finishing = link;
      link.catch((error: unknown) => {
        failure ??= { error };
        wake?.();
      });
    };
    // Every item of a message is done (evicted when due) before the message is acknowledged.
    const acknowledge = (message: MessageProgress): void => {
      follow(Promise.all([finishing, ...message.evictions]).then(() => message.source.ack?.()));
      behind.push(finishing);
    };
    const settle = (message: MessageProgress): void => {
      if (--message.left === 0) acknowledge(message);
    };
    const take = (message: BrokerMessage): void => {
      let event: ReturnType<typeof parseEvent>;
      let decoded: { proxy: Proxy<T & object>; evict: boolean }[] = [];
      try {
        event = parseEvent(message);
        if (event !== 'end') decoded = event.map((item) => this.#decode(item));
      } catch (error) {
        // No consumer can ever handle it: acknowledged, so the broker does not hand it to the next consumer of the group, whose loop it would end too.
        follow(Promise.all([finishing, message.ack?.()]));
        throw error;
      }
      if (event === 'end') {
        ended.add(message.topic);
        follow(Promise.all([finishing, message.ack?.()]));
        if (this.#subscriber.endsByItself !== true && this.#subscriber.topics.every((topic) => ended.has(topic))) exhausted = true;
        return;
      }
      const progress: MessageProgress = { source: message, left: event.length, evictions: [] };
      if (event.length === 0) acknowledge(progress);
      for (const [index, item] of event.entries()) {
        const { proxy, evict } = decoded[index] as (typeof decoded)[number];
        const metadata = item.m ?? {};
        const wanted = this.#options.filter === undefined || this.#options.filter(metadata, message.topic);
        // Objects are evicted only once their item is done, so one missing from a message handed out again was done by the consumer that never acknowledged it.
        const stored = message.redelivered === true && evict ? isStored(proxy) : undefined;
        stored?.catch(() => undefined);
        // Counted before its read starts: another consumer of this thread done with the same object must not release what this one reads (nor, without releaseItems, may keep).
        const borrow = wanted ? borrowViews(locate(proxy), { keep: !release }) : undefined;
        // Reading ahead only saves the loop a wait: a read that fails leaves the item unread, as with readAhead: false, and touching it reads again and throws (a missing object ends no loop).
        const read = wanted && window > 0 ? (stored === undefined ? resolveAsync(proxy) : stored.then((present) => (present ? resolveAsync(proxy) : undefined))).catch(() => undefined) : undefined;
        ahead.push({ topic: message.topic, metadata, proxy, evict, wanted, borrow, stored, read, message: progress });
      }
    };
    // Asks the broker for the next message; with read-ahead on, again as each comes, until `window` items wait.
    const pump = (): void => {
      if (pulling !== undefined || drained || exhausted || failure !== undefined || this.#closed) return;
      pulling = messages
        .next()
        .then((result) => {
          if (result.done === true) drained = true;
          else take(result.value);
        })
        .catch((error: unknown) => {
          failure ??= { error };
        })
        .then(() => {
          pulling = undefined;
          if (window > 0 && ahead.length < window) pump();
        });
    };
    try {
      for (;;) {
        if (failure !== undefined) throw failure.error;
        if (ahead.length === 0) {
          pump();
          if (pulling === undefined) return;
          await Promise.race([pulling, new Promise<void>((resolve) => (wake = resolve))]);
          wake = undefined;
          continue;
        }
        const pending = ahead.shift() as Pending<T>;
        current = pending;
        // The next messages come (and their items are read) while the loop works on this one.
        if (window > 0 && ahead.length < window) pump();
        while (behind.length > window) await behind.shift();
        const doneBefore = pending.stored !== undefined && !(await pending.stored);
        if (pending.wanted && !doneBefore) {
          await pending.read;
          yield { topic: pending.topic, metadata: pending.metadata, proxy: pending.proxy };
        }
        // The loop has moved on: with releaseItems, nothing of this item is its any more.
        current = undefined;
        returnViews(pending.borrow);
        if (pending.evict && !doneBefore) pending.message.evictions.push(evictItem(pending.proxy));
        settle(pending.message);
        if (this.#closed) return;
      }
    } finally {
      // The item the loop broke off at, and those read ahead that it never reached.
      for (const pending of current === undefined ? ahead : [current, ...ahead]) returnViews(pending.borrow);
      try {
        await finishing;
      } finally {
        if (!this.#closed) await this.close();
      }
    }
  }

  /** Ends the iteration; items not yet received stay with the broker where it keeps them. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#subscriber.close();
  }

  /** `await using consumer = new StreamConsumer(…)` closes it (as `close()` does) when the scope ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #decode(item: WireItem): { proxy: Proxy<T & object>; evict: boolean } {
    const descriptor = item.p as { evict?: unknown } | null;
    // Eviction waits until the item is done: resolving must not delete an object a redelivery would need.
    const evict = typeof descriptor === 'object' && descriptor !== null && descriptor.evict === true;
    const decoded = decodeProxies({ ...(descriptor as object), evict: false }, this.#options.policy === undefined ? {} : { policy: this.#options.policy });
    return { proxy: decoded as Proxy<T & object>, evict };
  }
}

/** An item taken from a message, waiting for the loop. */
interface Pending<T> {
  readonly topic: string;
  readonly metadata: StreamMetadata;
  readonly proxy: Proxy<T & object>;
  readonly evict: boolean;
  /** False when the consumer's filter skips it: never handed out, still evicted when due. */
  readonly wanted: boolean;
  /** This consumer counted as a reader of the item's object, while it is wanted and not done. */
  readonly borrow: Borrow | undefined;
  /** For a redelivered item due for eviction: whether its object is still there (if not, the item was done before and is skipped). */
  readonly stored: Promise<boolean> | undefined;
  /** The read ahead of the loop, which never rejects (a failed one leaves the item unread). */
  readonly read: Promise<unknown> | undefined;
  readonly message: MessageProgress;
}

/** A message whose items are with the loop: acknowledged once the last is done. */
interface MessageProgress {
  readonly source: BrokerMessage;
  left: number;
  readonly evictions: Promise<void>[];
}

const DEFAULT_READ_AHEAD = 4;

function readAheadWindow(option: boolean | number | undefined): number {
  if (option === undefined || option === true) return DEFAULT_READ_AHEAD;
  if (option === false) return 0;
  if (!Number.isSafeInteger(option) || option < 0) throw new ConfigError(`StreamConsumer: readAhead must be a boolean or a whole number of items, got ${String(option)}`);
  return option;
}

function parseEvent(message: BrokerMessage): readonly WireItem[] | 'end' {
  let event: unknown;
  try {
    event = JSON.parse(message.data);
  } catch (error) {
    throw new DescriptorError(`stream event on topic '${message.topic}' is not JSON: ${messageOf(error)}`);
  }
  const e = event as { v?: unknown; end?: unknown; items?: unknown } | null;
  if (typeof e !== 'object' || e === null || e.v !== 1) throw new DescriptorError(`stream event on topic '${message.topic}' is not a ts-proxystore stream event`);
  if (e.end === true) return 'end';
  if (!Array.isArray(e.items) || !e.items.every((item) => typeof item === 'object' && item !== null && 'p' in item)) {
    throw new DescriptorError(`stream event on topic '${message.topic}' has no items`);
  }
  // Anything else would reach the loop as plain data where it expects a proxy.
  if (!e.items.every((item: { p: unknown }) => isDescriptorLike(item.p))) {
    throw new DescriptorError(`stream event on topic '${message.topic}' has an item that is not a proxy descriptor`);
  }
  return e.items as WireItem[];
}

async function isStored(p: object): Promise<boolean> {
  const at = locate(p);
  return at === undefined || (await at.store.exists(at.key));
}

async function evictItem(p: object): Promise<void> {
  const at = locate(p);
  if (at !== undefined) await at.store.evict(at.key);
}
