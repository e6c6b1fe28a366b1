import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryConnector } from '../../runtime/connectors/memory.js';
import { PEER_SECRET_ENV, PeerConnector, peerStats } from '../../runtime/connectors/peer.js';
import { RedisConnector } from '../../runtime/connectors/redis.js';
import { DescriptorError, RedisUnreachableError } from '../../runtime/errors.js';
import { Store } from '../../runtime/store/store.js';
import { StreamStalledError } from '../../runtime/stream/broker.js';
import { RedisPubSubPublisher, RedisPubSubSubscriber, RedisStreamPublisher, RedisStreamSubscriber } from '../../runtime/stream/redis.js';
import { StreamConsumer, StreamProducer } from '../../runtime/stream/stream.js';
import { startRedisServer, type RedisServer } from '../../runtime/testing/redis-server.js';
import { eventually } from '../executors/helpers.js';

const CONSUMER = path.join(import.meta.dirname, '..', 'fixtures', 'stream-consumer.mjs');
let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(() => redis?.stop());

interface Item {
  id: number;
  data: Float64Array;
}
interface Line {
  ready?: true;
  id?: number;
  sum?: number;
  holding?: number;
  reused?: boolean;
  done?: true;
}

/** A consumer process; `lines` fills as it prints. */
function consumerProcess(group: string, name: string, mode = 'work', env: NodeJS.ProcessEnv = {}): { child: ChildProcess; lines: Line[]; exited: Promise<unknown> } {
  // Each test's group names its own streams too, so no test reads another's events.
  const child = spawn(process.execPath, [CONSUMER, String(redis.port), `${group}:`, group, name, mode], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  const lines: Line[] = [];
  let buffer = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    for (const part of parts) if (part !== '') lines.push(JSON.parse(part) as Line);
  });
  return { child, lines, exited: once(child, 'exit') };
}

function producerFor(prefix: string): { producer: StreamProducer<{ work: Item }>; store: Store } {
  const store = new Store(`stream-${prefix}`, new RedisConnector({ port: redis.port, prefix: `proxystore:${prefix}:objects:` }));
  const publisher = new RedisStreamPublisher({ connection: { host: '127.0.0.1', port: redis.port }, prefix: `${prefix}:` });
  return { producer: new StreamProducer<{ work: Item }>(publisher, { stores: store }), store };
}
const item = (id: number): Item => ({ id, data: new Float64Array(512).fill(id) });
const held = async (store: Store): Promise<number> => {
  let n = 0;
  for await (const listed of store.list()) if (listed.bytes >= 0) n += 1;
  return n;
};

/**
 * Sends `count` items to a consumer process in `mode`, kills it (SIGKILL) once
 * `stalled` holds, then lets a fresh consumer of the same group finish the stream.
 */
async function takeOver(
  name: string,
  mode: string,
  count: number,
  stalled: (lines: Line[], store: Store) => boolean | Promise<boolean>,
): Promise<{ dying: Line[]; survivor: Line[]; store: Store }> {
  const group = `${name}-${crypto.randomUUID()}`;
  const { producer, store } = producerFor(group);
  const dying = consumerProcess(group, 'dying', mode);
  await eventually(() => dying.lines.some((line) => line.ready === true), 10_000);
  for (let id = 0; id < count; id++) await producer.send('work', item(id));
  await eventually(() => stalled(dying.lines, store), 10_000);
  dying.child.kill('SIGKILL');
  await dying.exited;
  const survivor = consumerProcess(group, 'survivor');
  await producer.close();
  await survivor.exited;
  return { dying: dying.lines, survivor: survivor.lines, store };
}

describe('streams through Redis Streams, consumers in other processes', () => {
  it('two consumers in one group share the work: every item handled once, every object freed', async () => {
    const group = `share-${crypto.randomUUID()}`;
    const { producer, store } = producerFor(group);
    const a = consumerProcess(group, 'a', 'slow');
    const b = consumerProcess(group, 'b', 'slow');
    for (let id = 0; id < 30; id++) await producer.send('work', item(id));
    await producer.close();
    await Promise.all([a.exited, b.exited]);
    const handled = [...a.lines, ...b.lines].filter((line) => line.id !== undefined);
    expect(handled.map((line) => line.id).sort((x, y) => x! - y!)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(handled.every((line) => line.sum === line.id! * 512)).toBe(true);
    expect(a.lines.filter((line) => line.id !== undefined).length).toBeGreaterThan(0);
    expect(b.lines.filter((line) => line.id !== undefined).length).toBeGreaterThan(0);
    expect(await held(store)).toBe(0);
    await store.close({ clear: true });
  });

  it.each([
    ['raw', 'keeps every item in memory of its own: none is read where an earlier one was'],
    ['raw-release', 'with releaseItems hands the memory of each item done with back to the peer store, and later items are read into it'],
  ])('a consumer reading from a peer store in mode %s %s', async (mode) => {
    const group = `peer-${mode}-${crypto.randomUUID()}`;
    const secret = crypto.randomUUID();
    const store = new Store(`stream-${group}`, new PeerConnector({ space: group, secret }));
    const publisher = new RedisStreamPublisher({ connection: { host: '127.0.0.1', port: redis.port }, prefix: `${group}:` });
    const producer = new StreamProducer<{ work: Float64Array }>(publisher, { stores: store });
    const consumer = consumerProcess(group, 'reader', mode, { [PEER_SECRET_ENV]: secret });
    // Big enough for the peer connector to read them into pooled memory (64 kB and more).
    const count = 16;
    const length = 16_384;
    for (let id = 0; id < count; id++) await producer.send('work', new Float64Array(length).fill(id));
    await producer.close();
    await consumer.exited;
    const handled = consumer.lines.filter((line) => line.id !== undefined);
    expect(handled.map((line) => line.id)).toEqual(Array.from({ length: count }, (_, i) => i));
    // Each item read whole and right while its loop step ran, memory reused or not.
    expect(handled.every((line) => line.sum === line.id! * length)).toBe(true);
    const reused = handled.filter((line) => line.reused === true).length;
    if (mode === 'raw-release') expect(reused).toBeGreaterThanOrEqual(count / 2);
    else expect(reused).toBe(0);
    // Every item evicted once done, by the consumer over the peer connection.
    expect(peerStats().objects).toBe(0);
    await store.close({ clear: true });
  });

  it('a consumer killed mid-item does not lose it: another consumer of the group takes it over, object intact', async () => {
    const { dying, survivor, store } = await takeOver('crash', 'die', 10, (lines) => lines.some((line) => line.holding !== undefined));
    const lost = dying.find((line) => line.holding !== undefined)!.holding!;
    const handled = survivor.filter((line) => line.id !== undefined);
    expect(handled.map((line) => line.id)).toContain(lost);
    expect(handled.find((line) => line.id === lost)?.sum).toBe(lost * 512);
    expect(new Set(handled.map((line) => line.id)).size).toBe(10);
    expect(await held(store)).toBe(0);
    await store.close({ clear: true });
  });

  it('a consumer that dies between evicting items and acknowledging them: the next one skips those items and takes every other', async () => {
    const idsOf = (lines: Line[]): number[] => lines.flatMap((line) => (line.id === undefined ? [] : [line.id]));
    // It stalls once readAhead acknowledgements are outstanding, every item it handled evicted.
    const { dying, survivor, store } = await takeOver('unacked', 'no-ack', 12, async (lines, objects) => idsOf(lines).length > 0 && (await held(objects)) === 12 - idsOf(lines).length);
    const done = idsOf(dying);
    const handled = survivor.filter((line) => line.id !== undefined);
    expect(survivor.at(-1)).toEqual({ done: true });
    expect(handled.every((line) => line.sum === line.id! * 512)).toBe(true);
    expect(idsOf(survivor).filter((id) => done.includes(id))).toEqual([]);
    expect([...done, ...idsOf(survivor)].sort((x, y) => x - y)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(await held(store)).toBe(0);
    await store.close({ clear: true });
  });
});

describe('a malformed message on a Redis Streams topic', () => {
  it('ends the loop that meets it with a DescriptorError, once: it is acknowledged, so the next consumer of the group gets every other item', async () => {
    const group = `poison-${crypto.randomUUID()}`;
    const { producer, store } = producerFor(group);
    const admin = new Redis({ port: redis.port });
    const consumer = (): StreamConsumer<Item> =>
      new StreamConsumer<Item>(new RedisStreamSubscriber('work', { connection: { host: '127.0.0.1', port: redis.port }, prefix: `${group}:`, group, blockMs: 100, claimIdleMs: 300 }), { readAhead: false });
    try {
      await producer.send('work', item(0));
      await admin.xadd(`${group}:work`, '*', 'd', 'not json');
      for (let id = 1; id <= 3; id++) await producer.send('work', item(id));
      await producer.close();
      const first: number[] = [];
      let error: unknown;
      try {
        for await (const got of consumer()) first.push(got.id);
      } catch (caught) {
        error = caught;
      }
      expect(first).toEqual([0]);
      expect(error).toBeInstanceOf(DescriptorError);
      // Past claimIdleMs, when a message left pending would be handed to the next consumer.
      await new Promise((resolve) => setTimeout(resolve, 600));
      const next: number[] = [];
      for await (const got of consumer()) next.push(got.id);
      expect(next).toEqual([1, 2, 3]);
      expect(await admin.xpending(`${group}:work`, group)).toEqual([0, null, null, null]);
    } finally {
      admin.disconnect();
      await store.close({ clear: true });
    }
  });
});

describe('Redis Streams backpressure', () => {
  it('send waits while a group has maxPending messages unacknowledged, goes on at the next acknowledgement, and looks only when it could be at the bound', async () => {
    const admin = new Redis({ port: redis.port });
    const prefix = `bp-${crypto.randomUUID()}:`;
    const key = `${prefix}t`;
    await admin.xgroup('CREATE', key, 'g', '$', 'MKSTREAM');
    const publisher = new RedisStreamPublisher({ connection: { host: '127.0.0.1', port: redis.port }, prefix, maxPending: 3 });
    try {
      await admin.config('RESETSTAT');
      for (let i = 0; i < 3; i++) await publisher.send('t', `m${i}`);
      // One look before the first send found room for all three.
      const looks = async (): Promise<number> => Number(/cmdstat_xinfo\|groups:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
      expect(await looks()).toBe(1);
      let sent = false;
      const fourth = publisher.send('t', 'm3').then(() => (sent = true));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(sent).toBe(false);
      expect(await admin.xlen(key)).toBe(3);
      const read = (await admin.xreadgroup('GROUP', 'g', 'c', 'COUNT', 1, 'STREAMS', key, '>')) as [string, [string, string[]][]][];
      const id = read[0]?.[1][0]?.[0];
      expect(id).toBeTypeOf('string');
      await admin.xack(key, 'g', id as string);
      await fourth;
      expect(sent).toBe(true);
      expect(await admin.xlen(key)).toBe(4);
    } finally {
      await publisher.close();
      admin.disconnect();
    }
  });

  it('a send at the bound fails with StreamStalledError once no consumer acknowledged for stallTimeoutMs, and waits on while one still does', async () => {
    const admin = new Redis({ port: redis.port });
    const prefix = `stall-${crypto.randomUUID()}:`;
    const key = `${prefix}t`;
    await admin.xgroup('CREATE', key, 'g', '$', 'MKSTREAM');
    const publisher = new RedisStreamPublisher({ connection: { host: '127.0.0.1', port: redis.port }, prefix, maxPending: 2, stallTimeoutMs: 1_500 });
    const acknowledgeOne = async (): Promise<void> => {
      const read = (await admin.xreadgroup('GROUP', 'g', 'c', 'COUNT', 1, 'STREAMS', key, '>')) as [string, [string, string[]][]][];
      await admin.xack(key, 'g', read[0]![1][0]![0]);
    };
    try {
      await publisher.send('t', 'm0');
      await publisher.send('t', 'm1');
      // A slow consumer: one acknowledgement every 300 ms keeps six sends waiting 1.8 s in all, longer than the bound, none of them failing.
      const started = performance.now();
      const slow = setInterval(() => void acknowledgeOne(), 300);
      try {
        for (let i = 2; i < 8; i++) await publisher.send('t', `m${i}`);
      } finally {
        clearInterval(slow);
      }
      expect(performance.now() - started).toBeGreaterThan(1_500);
      // The consumer is gone: the next send fails after the stall bound, naming it, and adds nothing.
      const before = await admin.xlen(key);
      const stalledAt = performance.now();
      const error = await publisher.send('t', 'late').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StreamStalledError);
      expect(error).toMatchObject({ code: 'PS_STREAM_STALLED', message: expect.stringMatching(/topic 't'.*stallTimeoutMs/) as unknown });
      expect(performance.now() - stalledAt).toBeGreaterThanOrEqual(1_490);
      expect(performance.now() - stalledAt).toBeLessThan(15_000);
      expect(await admin.xlen(key)).toBe(before);
    } finally {
      await publisher.close();
      admin.disconnect();
    }
  });
});

describe('Redis brokers when the server fails', () => {
  /**
   * A producer and an in-process consumer (items in a memory store, so only
   * the broker talks to Redis) on a server of their own; `fault` strikes once
   * the consumer has had three items. What the consumer's loop and the next
   * send end with, and how long after the fault.
   */
  async function afterFault(
    broker: 'streams' | 'pub/sub',
    fault: (server: RedisServer) => Promise<void> | void,
  ): Promise<{ loop: unknown; loopMs: number; send: unknown; sendMs: number; seen: number[] }> {
    const server = await startRedisServer();
    const store = new Store(`stream-fault-${crypto.randomUUID()}`, new MemoryConnector(), { register: true });
    const connection = { host: '127.0.0.1', port: server.port };
    const publisher = broker === 'streams' ? new RedisStreamPublisher({ connection, commandTimeoutMs: 1_000 }) : new RedisPubSubPublisher({ connection, commandTimeoutMs: 1_000 });
    const subscriber =
      broker === 'streams' ? new RedisStreamSubscriber('t', { connection, group: 'g', blockMs: 100, commandTimeoutMs: 1_000 }) : new RedisPubSubSubscriber('t', { connection, commandTimeoutMs: 1_000 });
    if (subscriber instanceof RedisPubSubSubscriber) await subscriber.ready;
    const producer = new StreamProducer<{ t: Item }>(publisher, { stores: store });
    const consumer = new StreamConsumer<Item>(subscriber);
    const seen: number[] = [];
    let faultAt = Number.NaN;
    const loop = (async () => {
      for await (const got of consumer) seen.push(got.id);
      return 'ended';
    })().then(
      (end) => ({ loop: end, loopMs: performance.now() - faultAt }),
      (error: unknown) => ({ loop: error, loopMs: performance.now() - faultAt }),
    );
    try {
      for (let id = 0; id < 3; id++) await producer.send('t', item(id));
      await eventually(() => seen.length === 3, 10_000);
      faultAt = performance.now();
      await fault(server);
      const send = await producer.send('t', item(3)).then(
        () => 'sent',
        (error: unknown) => error,
      );
      const sendMs = performance.now() - faultAt;
      return { ...(await loop), send, sendMs, seen };
    } finally {
      server.resume();
      await server.stop();
      await store.close({ clear: true });
    }
  }

  it.each(['streams', 'pub/sub'] as const)('%s: a killed server ends the consumer loop and fails a send with RedisUnreachableError, each within seconds', async (broker) => {
    const { loop, loopMs, send, sendMs, seen } = await afterFault(broker, (server) => server.kill());
    expect(seen).toEqual([0, 1, 2]);
    for (const error of [loop, send]) {
      expect(error).toBeInstanceOf(RedisUnreachableError);
      expect(error).toMatchObject({ code: 'PS_REDIS_UNREACHABLE', message: expect.stringContaining("topic 't'") as unknown });
    }
    expect(loopMs).toBeLessThan(8_000);
    expect(sendMs).toBeLessThan(8_000);
  });

  it.each(['streams', 'pub/sub'] as const)('%s: a frozen server ends the consumer loop and fails a send once a command goes unanswered for commandTimeoutMs, instead of leaving them pending', async (broker) => {
    const { loop, loopMs, send, sendMs } = await afterFault(broker, (server) => server.pause());
    for (const error of [loop, send]) {
      expect(error).toBeInstanceOf(RedisUnreachableError);
      // The stream's blocking read may be the one to go unanswered: its bound is blockMs more.
      expect((error as Error).message).toMatch(/no reply within (1000 ms \(commandTimeoutMs\)|1100 ms \(blockMs \+ commandTimeoutMs\))/);
    }
    // The send's command went out after the fault; so did the stream's next read (the one before blocks only blockMs).
    expect(sendMs).toBeGreaterThanOrEqual(990);
    if (broker === 'streams') expect(loopMs).toBeGreaterThanOrEqual(990);
    // Then the acknowledgements in flight and the goodbye, each bounded alike; pub/sub notices at its next heartbeat.
    expect(loopMs).toBeLessThan(8_000);
    expect(sendMs).toBeLessThan(8_000);
  });
});

describe('streams through Redis pub/sub', () => {
  it('deliver every item to every subscriber connected, fan-out', async () => {
    const store = new Store('stream-pubsub', new RedisConnector({ port: redis.port, prefix: 'proxystore:pubsub:' }), { register: true });
    const connection = { host: '127.0.0.1', port: redis.port };
    const subscribers = [new RedisPubSubSubscriber('news', { connection }), new RedisPubSubSubscriber('news', { connection })];
    await Promise.all(subscribers.map((s) => s.ready));
    const producer = new StreamProducer<{ news: { n: number } }>(new RedisPubSubPublisher({ connection }), { stores: store, evict: false });
    const reading = subscribers.map(async (subscriber) => {
      const got: number[] = [];
      for await (const value of new StreamConsumer<{ n: number }>(subscriber).values()) got.push(value.n);
      return got;
    });
    for (let n = 0; n < 5; n++) await producer.send('news', { n });
    await producer.close();
    for (const got of await Promise.all(reading)) expect(got).toEqual([0, 1, 2, 3, 4]);
    await store.close({ clear: true });
  });
});
