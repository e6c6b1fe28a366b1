/**
 * Redis brokers for streams (`ts-proxystore/stream/redis`): Redis Streams,
 * with consumer groups, acknowledgement and redelivery, and plain pub/sub.
 * Only small events travel here; the items themselves sit in a store.
 */
import { randomUUID } from 'node:crypto';
import type { Redis, RedisOptions } from 'ioredis';
import { requireOptional } from '../support/optional-dependency.js';
import { ConfigError, messageOf } from '../errors.js';
import { redisFailure } from '../connectors/redis-failure.js';
import { StreamStalledError, type BrokerMessage, type Publisher, type Subscriber } from './broker.js';

/** A live client to share (it is duplicated where a connection must block), or options to open one. */
export type RedisConnection = Redis | RedisOptions;

/** A missing ioredis is a MissingDependencyError naming it when this entry loads, as for the Redis connector. */
const ioredis = requireOptional<typeof import('ioredis')>('ioredis', 'ts-proxystore/stream/redis');

const DEFAULT_PREFIX = 'ts-proxystore:stream:';
/** A consumer that acknowledges nothing for a minute while producers wait on it is taken for gone. */
const DEFAULT_STALL_TIMEOUT_MS = 60_000;
/** As the Redis connector's: a frozen or unreachable server fails a command within this, never hangs it. */
const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;

/**
 * Connections the brokers open fail a command after one reconnect attempt
 * (not ioredis' default 20) and after `commandTimeout` ms without a reply, so
 * a dead or frozen server ends a send or an iteration with an error instead
 * of leaving it pending. Settings in `connection` win.
 */
function settings(connection: RedisOptions, commandTimeout: number): RedisOptions {
  return { maxRetriesPerRequest: 1, commandTimeout, ...connection };
}

/** What bounds each connection's commands, as its timeout errors name it. */
const timeoutNames = new WeakMap<Redis, string>();

function open(connection: RedisConnection, commandTimeoutMs: number): { client: Redis; owned: boolean } {
  if (connection instanceof ioredis.Redis) return { client: connection, owned: false };
  const client = new ioredis.Redis({ lazyConnect: false, ...settings(connection, commandTimeoutMs) });
  timeoutNames.set(client, 'commandTimeoutMs');
  // Connection errors reach the commands that fail; handled here so ioredis does not print them.
  client.on('error', () => undefined);
  return { client, owned: true };
}

/**
 * A connection of its own (for commands that block: XREADGROUP BLOCK,
 * SUBSCRIBE), which this module made and so bounds like its own, also when
 * duplicated from a client given: a command may take `commandTimeoutMs`.
 */
function dedicated(connection: RedisConnection, commandTimeoutMs: number, timeoutName = 'commandTimeoutMs'): Redis {
  const client = connection instanceof ioredis.Redis ? connection.duplicate({ maxRetriesPerRequest: 1, commandTimeout: commandTimeoutMs }) : new ioredis.Redis(settings(connection, commandTimeoutMs));
  timeoutNames.set(client, timeoutName);
  client.on('error', () => undefined);
  return client;
}

function commandTimeoutOption(owner: string, value: number | undefined): number {
  const ms = value ?? DEFAULT_COMMAND_TIMEOUT_MS;
  if (!Number.isSafeInteger(ms) || ms < 1) throw new ConfigError(`${owner}: commandTimeoutMs must be a whole number of milliseconds, at least 1, got ${String(ms)}`);
  return ms;
}

export interface RedisStreamPublisherOptions {
  readonly connection: RedisConnection;
  /** Stream keys are `<prefix><topic>`. */
  readonly prefix?: string;
  /**
   * Backpressure: `send` waits while any consumer group still has this many
   * messages of the topic not yet acknowledged (read but unhandled, or unread).
   * The publisher asks Redis only when its own sends since the last look could
   * have reached the bound, so with several publishers on one topic the bound
   * holds per publisher. Default: no bound.
   */
  readonly maxPending?: number;
  /**
   * How long a send may wait at the `maxPending` bound without any consumer
   * acknowledging a message before it fails with a StreamStalledError (the
   * consumers are gone or stuck). A slow consumer that still acknowledges
   * keeps the send waiting. Default 60 s; `Infinity` waits for ever.
   */
  readonly stallTimeoutMs?: number;
  /**
   * Trim the stream to about this many messages (XADD MAXLEN ~). Acknowledged
   * messages otherwise stay in the stream, a few hundred bytes each. Trimming
   * drops the oldest whether read or not: keep it well above `maxPending`.
   * Default: no trimming.
   */
  readonly maxLength?: number;
  /**
   * Bound on each command on connections the publisher opens: a server that
   * is down or frozen fails `send` with a RedisUnreachableError after it.
   * Default 10 s. A client given as `connection` keeps its own settings.
   */
  readonly commandTimeoutMs?: number;
}

/** XADD for each message; `end(topic)` marks the topic finished for every consumer of every group. */
export class RedisStreamPublisher implements Publisher {
  readonly prefix: string;
  readonly #client: Redis;
  readonly #owned: boolean;
  readonly #maxPending: number | undefined;
  readonly #stallTimeoutMs: number;
  readonly #maxLength: number | undefined;
  /** Topics sent to by this publisher: the first send clears an end mark left by an earlier producer. */
  readonly #opened = new Set<string>();
  /**
   * Per stream, sends that fit under `maxPending` without looking again: the
   * last look's headroom minus the sends since. Consumers only lower what is
   * behind, so the estimate never lets this publisher past the bound.
   */
  readonly #room = new Map<string, number>();

  constructor(options: RedisStreamPublisherOptions) {
    const { client, owned } = open(options.connection, commandTimeoutOption('RedisStreamPublisher', options.commandTimeoutMs));
    this.#client = client;
    this.#owned = owned;
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    const maxPending = options.maxPending;
    if (maxPending !== undefined && (!Number.isSafeInteger(maxPending) || maxPending < 1)) {
      throw new ConfigError(`RedisStreamPublisher: maxPending must be a whole number of messages, at least 1, got ${String(maxPending)}`);
    }
    this.#maxPending = maxPending;
    const stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    if (typeof stallTimeoutMs !== 'number' || Number.isNaN(stallTimeoutMs) || stallTimeoutMs < 0) {
      throw new ConfigError(`RedisStreamPublisher: stallTimeoutMs must be a number of milliseconds (or Infinity), got ${String(stallTimeoutMs)}`);
    }
    this.#stallTimeoutMs = stallTimeoutMs;
    const maxLength = options.maxLength;
    if (maxLength !== undefined && (!Number.isSafeInteger(maxLength) || maxLength < 1)) {
      throw new ConfigError(`RedisStreamPublisher: maxLength must be a whole number of messages, at least 1, got ${String(maxLength)}`);
    }
    this.#maxLength = maxLength;
  }

  async send(topic: string, data: string): Promise<void> {
    const key = this.prefix + topic;
    if (!this.#opened.has(topic)) {
      this.#opened.add(topic);
      await run(this.#client, 'DEL', topic, () => this.#client.del(`${key}:end`));
    }
    if (this.#maxPending !== undefined) await this.#roomIn(topic, key, this.#maxPending);
    const maxLength = this.#maxLength;
    await run(this.#client, 'XADD', topic, () => (maxLength === undefined ? this.#client.xadd(key, '*', 'd', data) : this.#client.xadd(key, 'MAXLEN', '~', maxLength, '*', 'd', data)));
  }

  /** Consumers that find the topic's stream drained and this mark set end their iteration. */
  async end(topic: string): Promise<void> {
    await run(this.#client, 'SET', topic, () => this.#client.set(`${this.prefix}${topic}:end`, '1'));
  }

  async close(): Promise<void> {
    if (this.#owned) await this.#client.quit().catch(() => this.#client.disconnect());
  }

  async #roomIn(topic: string, key: string, maxPending: number): Promise<void> {
    const room = this.#room.get(key) ?? 0;
    if (room > 0) {
      this.#room.set(key, room - 1);
      return;
    }
    let delay = 1;
    /** The fewest messages behind seen while waiting, and since when: fewer means a consumer acknowledged. */
    let least = Number.POSITIVE_INFINITY;
    let since = performance.now();
    for (;;) {
      // A stream not made yet (no send, no consumer) has no group behind.
      const groups = (await run(this.#client, 'XINFO GROUPS', topic, async () => {
        try {
          return await this.#client.xinfo('GROUPS', key);
        } catch (error) {
          if (messageOf(error).includes('no such key')) return [];
          throw error;
        }
      })) as unknown[][];
      // Per group: messages read but not acknowledged, plus messages not read yet (lag; Redis 7).
      const behind = groups.map((fields) => {
        const info = new Map<unknown, unknown>();
        for (let i = 0; i + 1 < fields.length; i += 2) info.set(fields[i], fields[i + 1]);
        return Number(info.get('pending') ?? 0) + Number(info.get('lag') ?? 0);
      });
      const worst = Math.max(0, ...behind);
      if (worst < maxPending) {
        // This send takes one of the free places.
        this.#room.set(key, maxPending - worst - 1);
        return;
      }
      if (worst < least) {
        least = worst;
        since = performance.now();
      } else if (performance.now() - since >= this.#stallTimeoutMs) {
        throw new StreamStalledError(
          `RedisStreamPublisher: topic '${topic}' has ${worst} messages unacknowledged (maxPending ${maxPending}) and no consumer acknowledged any for ${this.#stallTimeoutMs} ms (stallTimeoutMs): start a consumer of the topic's group, or raise stallTimeoutMs`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      // Short: while a group is at the bound, every acknowledgement should let the next send go soon after.
      delay = Math.min(delay * 2, 10);
    }
  }
}

export interface RedisStreamSubscriberOptions {
  readonly connection: RedisConnection;
  /**
   * Consumers of one group share the work: each message goes to one of them.
   * Give each consumer its own group to have every message reach every consumer (fan-out).
   */
  readonly group: string;
  /** This consumer's name in its group. Default: a random one. */
  readonly consumer?: string;
  readonly prefix?: string;
  /** How long one XREADGROUP waits for news before checking for the end mark. Default 250 ms. */
  readonly blockMs?: number;
  /**
   * A message another consumer of the group read but has not acknowledged for
   * this long is taken over (that consumer is presumed dead). Default 10 s.
   * A busy consumer looks for such messages every quarter of it (an idle one
   * on every round), so a takeover comes within 1.25 times it.
   */
  readonly claimIdleMs?: number;
  /**
   * Messages taken per round trip. Default 1: a consumer takes a message only
   * when it is ready for it, so none waits in one consumer's hands (and risks
   * being taken over after `claimIdleMs`) while another is idle.
   */
  readonly batch?: number;
  /**
   * Bound on each command (beyond `blockMs` for the blocking read): a server
   * that is down or frozen ends the iteration with a RedisUnreachableError
   * after it. Default 10 s.
   */
  readonly commandTimeoutMs?: number;
}

/**
 * XREADGROUP in a consumer group: each message comes with `ack`, and one not
 * acknowledged (its consumer died mid-item) is redelivered to another
 * consumer of the group after `claimIdleMs`. A group created by its first
 * consumer starts at the beginning of the stream, so nothing sent before any
 * consumer joined is missed.
 */
export class RedisStreamSubscriber implements Subscriber {
  readonly topics: readonly string[];
  readonly endsByItself = true;
  readonly group: string;
  readonly consumer: string;
  readonly #keys: readonly string[];
  readonly #topics: ReadonlyMap<string, string>;
  readonly #client: Redis;
  /**
   * Acknowledgements go on a connection of their own: the reading one spends
   * most of its time in a blocking XREADGROUP (a consumer reading ahead asks
   * for the next message while it works on this one), and an XACK queued
   * behind it would wait up to `blockMs`, holding back producers that wait
   * for room (`maxPending`).
   */
  readonly #acks: Redis;
  readonly #blockMs: number;
  readonly #claimIdleMs: number;
  readonly #batch: number;
  readonly #prefix: string;
  #closed = false;
  /** When XAUTOCLAIM last ran: messages become claimable only after claimIdleMs, so looking on every message would only cost round trips. */
  #claimedAt = Number.NEGATIVE_INFINITY;

  constructor(topics: string | readonly string[], options: RedisStreamSubscriberOptions) {
    const list = typeof topics === 'string' ? [topics] : [...topics];
    if (list.length === 0) throw new ConfigError('RedisStreamSubscriber: give at least one topic');
    this.topics = list;
    this.#prefix = options.prefix ?? DEFAULT_PREFIX;
    this.#keys = list.map((topic) => this.#prefix + topic);
    this.#topics = new Map(list.map((topic) => [this.#prefix + topic, topic]));
    this.group = options.group;
    this.consumer = options.consumer ?? randomUUID();
    this.#blockMs = options.blockMs ?? 250;
    this.#claimIdleMs = options.claimIdleMs ?? 10_000;
    this.#batch = options.batch ?? 1;
    const commandTimeoutMs = commandTimeoutOption('RedisStreamSubscriber', options.commandTimeoutMs);
    this.#client = dedicated(options.connection, this.#blockMs + commandTimeoutMs, 'blockMs + commandTimeoutMs');
    this.#acks = dedicated(options.connection, commandTimeoutMs);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<BrokerMessage> {
    try {
      yield* this.#messages();
    } catch (error) {
      // close() cuts the blocking read short: that ends the iteration, it is no failure.
      if (!this.#closed) throw error;
    }
  }

  async *#messages(): AsyncGenerator<BrokerMessage> {
    await Promise.all(
      this.#keys.map((key) =>
        this.#run('XGROUP CREATE', key, () =>
          this.#client.xgroup('CREATE', key, this.group, '0', 'MKSTREAM').catch((error: unknown) => {
            if (!messageOf(error).includes('BUSYGROUP')) throw error;
          }),
        ),
      ),
    );
    const ended = new Set<string>();
    let idle = true;
    while (!this.#closed && ended.size < this.#keys.length) {
      let got = 0;
      const sweep = idle || performance.now() - this.#claimedAt >= this.#claimIdleMs / 4;
      if (sweep) this.#claimedAt = performance.now();
      for (const key of sweep ? this.#keys : []) {
        if (ended.has(key)) continue;
        // Messages a dead consumer of the group left unacknowledged come first.
        const [, claimed] = (await this.#run('XAUTOCLAIM', key, () => this.#client.xautoclaim(key, this.group, this.consumer, this.#claimIdleMs, '0-0', 'COUNT', this.#batch))) as [string, [string, string[]][]];
        for (const entry of claimed) {
          got += 1;
          yield this.#message(key, entry, true);
        }
      }
      if (this.#closed) return;
      const live = this.#keys.filter((key) => !ended.has(key));
      const read = (await run(this.#client, 'XREADGROUP', live.map((key) => this.#topics.get(key) ?? key).join(', '), () =>
        this.#client.xreadgroup('GROUP', this.group, this.consumer, 'COUNT', this.#batch, 'BLOCK', this.#blockMs, 'STREAMS', ...live, ...live.map(() => '>')),
      )) as
        | [string, [string, string[]][]][]
        | null;
      for (const [key, entries] of read ?? []) {
        for (const entry of entries) {
          got += 1;
          yield this.#message(key, entry);
        }
      }
      idle = got === 0;
      if (got > 0) continue;
      // Nothing new: a topic whose producer ended and whose group has nothing pending is done for this consumer.
      for (const key of live) {
        if ((await this.#run('EXISTS', key, () => this.#client.exists(`${key}:end`))) === 0) continue;
        const pending = (await this.#run('XPENDING', key, () => this.#client.xpending(key, this.group))) as [number, ...unknown[]];
        const [lag] = await this.#unread(key);
        if (Number(pending[0]) === 0 && lag === 0) ended.add(key);
      }
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    // A blocked XREADGROUP holds the connection: disconnecting ends it at once. Acknowledgements sent go out first.
    this.#client.disconnect();
    await this.#acks.quit().catch(() => this.#acks.disconnect());
  }

  /** Entries of `key` the group has not read yet. */
  async #unread(key: string): Promise<[number]> {
    const groups = (await this.#run('XINFO GROUPS', key, () => this.#client.xinfo('GROUPS', key))) as unknown[][];
    for (const fields of groups) {
      const info = new Map<unknown, unknown>();
      for (let i = 0; i + 1 < fields.length; i += 2) info.set(fields[i], fields[i + 1]);
      if (info.get('name') === this.group) return [Number(info.get('lag') ?? 0)];
    }
    return [0];
  }

  #message(key: string, [id, fields]: [string, string[]], redelivered = false): BrokerMessage {
    const data = fields[fields.indexOf('d') + 1] ?? '';
    const topic = this.#topics.get(key) ?? key;
    return { topic, data, ack: async () => void (await run(this.#acks, 'XACK', topic, () => this.#acks.xack(key, this.group, id))), redelivered };
  }

  #run<R>(command: string, key: string, call: () => Promise<R>): Promise<R> {
    return run(this.#client, command, this.#topics.get(key) ?? key, call);
  }
}

export interface RedisPubSubOptions {
  readonly connection: RedisConnection;
  /** Channels are `<prefix><topic>`. */
  readonly prefix?: string;
  /** Bound on each command (PUBLISH, SUBSCRIBE) on connections opened here. Default 10 s. */
  readonly commandTimeoutMs?: number;
}

/** PUBLISH: every subscriber connected at the time gets the message; nobody else ever will. */
export class RedisPubSubPublisher implements Publisher {
  readonly #client: Redis;
  readonly #owned: boolean;
  readonly #prefix: string;

  constructor(options: RedisPubSubOptions) {
    const { client, owned } = open(options.connection, commandTimeoutOption('RedisPubSubPublisher', options.commandTimeoutMs));
    this.#client = client;
    this.#owned = owned;
    this.#prefix = options.prefix ?? DEFAULT_PREFIX;
  }

  async send(topic: string, data: string): Promise<void> {
    await run(this.#client, 'PUBLISH', topic, () => this.#client.publish(this.#prefix + topic, data));
  }

  async close(): Promise<void> {
    if (this.#owned) await this.#client.quit().catch(() => this.#client.disconnect());
  }
}

/** SUBSCRIBE: fast and fire-and-forget, with no acknowledgement and no redelivery (use Redis Streams for that). */
export class RedisPubSubSubscriber implements Subscriber {
  readonly topics: readonly string[];
  readonly #client: Redis;
  readonly #channels: readonly string[];
  readonly #prefix: string;
  readonly #queue: BrokerMessage[] = [];
  /** How often an iteration checks that the server still answers (see the iterator). */
  readonly #heartbeatMs: number;
  #wake: (() => void) | undefined;
  #closed = false;
  /** Why the iteration ends with an error: the server stopped answering. */
  #failure: { readonly error: unknown } | undefined;
  readonly ready: Promise<void>;

  constructor(topics: string | readonly string[], options: RedisPubSubOptions) {
    this.#prefix = options.prefix ?? DEFAULT_PREFIX;
    this.topics = typeof topics === 'string' ? [topics] : [...topics];
    this.#channels = this.topics.map((topic) => this.#prefix + topic);
    this.#heartbeatMs = commandTimeoutOption('RedisPubSubSubscriber', options.commandTimeoutMs);
    this.#client = dedicated(options.connection, this.#heartbeatMs);
    this.#client.on('message', (channel: string, data: string) => {
      this.#queue.push({ topic: channel.slice(this.#prefix.length), data });
      this.#wake?.();
    });
    /** Resolves once subscribed: messages published before that are not seen. */
    this.ready = run(this.#client, 'SUBSCRIBE', this.topics.join(' '), () => this.#client.subscribe(...this.#channels)).then(() => undefined);
    // Rejected only for whoever awaits it: the iteration does, and throws it.
    this.ready.catch(() => undefined);
  }

  /**
   * Silence is all a subscriber sees of a server that died or froze: while
   * iterating, it pings every `commandTimeoutMs`, and a ping that fails (at
   * most `commandTimeoutMs` later) ends the iteration with a
   * RedisUnreachableError. A connection that drops and comes back in time
   * goes on (messages published meanwhile are lost, as pub/sub loses them).
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<BrokerMessage> {
    await this.ready;
    const heartbeat = setInterval(() => {
      run(this.#client, 'PING', this.topics.join(' '), () => this.#client.ping()).catch((error: unknown) => {
        this.#failure ??= { error };
        this.#wake?.();
      });
    }, this.#heartbeatMs);
    heartbeat.unref();
    try {
      for (;;) {
        const next = this.#queue.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (this.#closed) return;
        if (this.#failure !== undefined) throw this.#failure.error;
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = undefined;
      }
    } finally {
      clearInterval(heartbeat);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#wake?.();
    this.#client.disconnect();
    return Promise.resolve();
  }
}

/** `call`'s result, or its failure as a typed error (see redis-failure.ts) naming the topic. */
async function run<R>(client: Redis, command: string, topic: string, call: () => Promise<R>): Promise<R> {
  try {
    return await call();
  } catch (error) {
    const { host = '127.0.0.1', port = 6379, commandTimeout } = client.options;
    throw redisFailure(client, command, error, {
      address: `${host}:${port}`,
      name: 'redis stream broker',
      timeout: `${String(commandTimeout)} ms (${timeoutNames.get(client) ?? "the client's commandTimeout"})`,
      about: `topic '${topic}'`,
    });
  }
}
