import { afterEach, describe, expect, it } from 'vitest';
import { MemoryConnector } from '../../runtime/connectors/memory.js';
import { DescriptorError, ProxyResolveError, ProxyResolveMissingKeyError } from '../../runtime/errors.js';
import { getKey, isProxy, isResolved } from '../../runtime/proxy/proxy.js';
import { Store } from '../../runtime/store/store.js';
import type { BrokerMessage, Subscriber } from '../../runtime/stream/broker.js';
import { QueueBroker } from '../../runtime/stream/queue-broker.js';
import { StreamConsumer, StreamProducer } from '../../runtime/stream/stream.js';
import { countingConnector } from '../helpers/counting-connector.js';

interface Frame {
  id: number;
  data: Float64Array;
}
const stores: Store[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close({ clear: true });
});
function memoryStore(name: string): { store: Store; held: () => number } {
  const connector = new MemoryConnector();
  const store = new Store(name, connector, { register: true });
  stores.push(store);
  return { store, held: () => connector.list().length };
}
const frame = (id: number): Frame => ({ id, data: new Float64Array(1000).fill(id) });

describe('streams over the in-process queue broker', () => {
  it('deliver each item as a proxy, evict it once the loop moves on, and end when the producer closes', async () => {
    const { store, held } = memoryStore('stream-frames');
    const broker = new QueueBroker();
    const consumer = new StreamConsumer<Frame>(broker.subscriber('frames'));
    const producer = new StreamProducer<{ frames: Frame }>(broker.publisher(), { stores: store });
    const sending = (async () => {
      for (let id = 0; id < 5; id++) await producer.send('frames', frame(id));
      await producer.close();
    })();
    const seen: number[] = [];
    for await (const item of consumer) {
      expect(isProxy(item)).toBe(true);
      // Read ahead without blocking, so touching it costs no wait (no sync bridge for stores that need one).
      expect(isResolved(item)).toBe(true);
      seen.push(item.id);
      expect(item.data[999]).toBe(item.id);
    }
    await sending;
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(held()).toBe(0);
  });

  it('take overlapping sends: two send loops at once, batched or not, deliver every item once and leave nothing stored', async () => {
    for (const batchSize of [1, 3]) {
      const { store, held } = memoryStore(`stream-overlap-${batchSize}`);
      const broker = new QueueBroker();
      const consumer = new StreamConsumer<Frame>(broker.subscriber('frames'));
      const producer = new StreamProducer<{ frames: Frame }>(broker.publisher(), { stores: store, batchSize });
      let next = 0;
      const loop = async (): Promise<void> => {
        while (next < 40) await producer.send('frames', frame(next++));
      };
      const sending = Promise.all([loop(), loop()]).then(() => producer.close());
      const seen: number[] = [];
      for await (const item of consumer) {
        expect(item.data[999]).toBe(item.id);
        seen.push(item.id);
      }
      await sending;
      expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
      expect(held()).toBe(0);
    }
  });

  it('end with a DescriptorError on an event whose item is no proxy descriptor, handing nothing to the loop', async () => {
    const events = [JSON.stringify({ v: 1, items: [{ p: { v: 1, key: 'x', store: { name: 'evil' } } }] }), JSON.stringify({ v: 1, items: [{ p: 42 }] })];
    for (const data of events) {
      const subscriber: Subscriber = {
        topics: ['t'],
        close: () => Promise.resolve(),
        async *[Symbol.asyncIterator](): AsyncGenerator<BrokerMessage> {
          yield await Promise.resolve({ topic: 't', data });
        },
      };
      const handed: unknown[] = [];
      const looping = (async () => {
        for await (const item of new StreamConsumer<Frame>(subscriber)) handed.push(item);
      })();
      const error: unknown = await looping.then(() => undefined, (failure: unknown) => failure);
      expect(error).toBeInstanceOf(DescriptorError);
      expect((error as Error).message).toContain('not a proxy descriptor');
      expect(handed).toEqual([]);
    }
  });

  it('read up to readAhead items before the loop reaches them, and evict each only once the loop is done with it', async () => {
    const { connector, live, reads } = countingConnector();
    const store = new Store('stream-ahead', connector, { register: true, cacheSize: 0 });
    stores.push(store);
    const broker = new QueueBroker();
    const consumer = new StreamConsumer<Frame>(broker.subscriber('frames'), { readAhead: 3 });
    const producer = new StreamProducer<{ frames: Frame }>(broker.publisher(), { stores: store });
    for (let id = 0; id < 8; id++) await producer.send('frames', frame(id));
    await producer.close();
    const seen: { id: number; reads: number; live: number }[] = [];
    for await (const item of consumer) {
      // Let the reads started ahead land before counting.
      await new Promise((resolve) => setTimeout(resolve, 5));
      seen.push({ id: item.id, reads: reads(), live: live() });
    }
    expect(seen.map((s) => s.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // At the first item: it and the next 3 are read, no more; nothing is evicted yet.
    expect(seen[0]).toEqual({ id: 0, reads: 4, live: 8 });
    // Each later item: one more read ahead (until the stream runs out), the item before it evicted.
    expect(seen[1]).toEqual({ id: 1, reads: 5, live: 7 });
    expect(seen[4]).toEqual({ id: 4, reads: 8, live: 4 });
    expect(seen[7]).toEqual({ id: 7, reads: 8, live: 1 });
    expect(live()).toBe(0);
    expect(() => new StreamConsumer(broker.subscriber('x'), { readAhead: -1 })).toThrow(/readAhead must be/);
    expect(() => new StreamConsumer(broker.subscriber('x'), { releaseItems: 'yes' as unknown as boolean })).toThrow(/releaseItems must be a boolean/);
  });

  it('hand items over unread with readAhead: false, to be read on first touch', async () => {
    const { store } = memoryStore('stream-unread');
    const broker = new QueueBroker();
    const consumer = new StreamConsumer<Frame>(broker.subscriber('frames'), { readAhead: false });
    const producer = new StreamProducer<{ frames: Frame }>(broker.publisher(), { stores: store });
    const sending = (async () => {
      for (let id = 0; id < 3; id++) await producer.send('frames', frame(id));
      await producer.close();
    })();
    const seen: number[] = [];
    for await (const item of consumer) {
      expect(isResolved(item)).toBe(false);
      seen.push(item.id);
      expect(isResolved(item)).toBe(true);
    }
    await sending;
    expect(seen).toEqual([0, 1, 2]);
  });

  it('hand over an item whose object is missing, for touching it to throw, and go on with the next (values() ends there: it has no value to give)', async () => {
    const { store } = memoryStore('stream-missing');
    const broker = new QueueBroker();
    // Fan-out: the objects stay for every consumer, so one evicted by someone else is missing for all of them.
    const proxies = new StreamConsumer<Frame>(broker.subscriber('frames'));
    const values = new StreamConsumer<Frame>(broker.subscriber('frames'));
    const producer = new StreamProducer<{ frames: Frame }>(broker.publisher(), { stores: store, evict: false });
    for (let id = 0; id < 3; id++) await producer.send('frames', frame(id));
    await producer.close();
    const [, second] = (store.connector as MemoryConnector).list();
    await store.evict(second!.key);
    const seen: (number | string)[] = [];
    for await (const item of proxies) {
      try {
        seen.push(item.id);
      } catch (error) {
        seen.push(`${(error as Error).name}: ${((error as Error).cause as Error).name}`);
      }
    }
    expect(seen).toEqual([0, 'ProxyResolveError: ProxyResolveMissingKeyError', 2]);
    const got: number[] = [];
    const ending = (async () => {
      for await (const value of values.values()) got.push(value.id);
    })();
    await expect(ending).rejects.toBeInstanceOf(ProxyResolveError);
    await expect(ending).rejects.toHaveProperty('cause', expect.any(ProxyResolveMissingKeyError));
    expect(got).toEqual([0]);
  });

  it.each([
    [true, 'release the memory of an object once the last consumer of this thread reading it has moved on'],
    [false, 'never release what a consumer without releaseItems read, whatever the other consumer of the same objects does'],
  ])('with releaseItems, consumers sharing objects (the other one releasing: %s) %s', async (otherReleases) => {
    const released: string[] = [];
    const { connector } = countingConnector();
    const store = new Store('stream-shared-reads', { ...connector, releaseViews: (key) => void released.push(key as string) }, { register: true });
    stores.push(store);
    const broker = new QueueBroker();
    // Both subscribe before anything is sent: each gets every item (fan-out).
    const a = new StreamConsumer<Frame>(broker.subscriber('frames'), { releaseItems: true })[Symbol.asyncIterator]();
    const b = new StreamConsumer<Frame>(broker.subscriber('frames'), { releaseItems: otherReleases })[Symbol.asyncIterator]();
    const producer = new StreamProducer<{ frames: Frame }>(broker.publisher(), { stores: store, evict: false });
    for (let id = 0; id < 4; id++) await producer.send('frames', frame(id));
    await producer.close();
    const keys: string[] = [];
    for (let id = 0; id < 4; id++) {
      const fromA = (await a.next()).value as Frame;
      // a has moved past the last item, b not yet: it still reads it.
      expect(released).toEqual(otherReleases ? keys.slice(0, -1) : []);
      const fromB = (await b.next()).value as Frame;
      expect(released).toEqual(otherReleases ? keys : []);
      expect([fromA.id, fromB.id]).toEqual([id, id]);
      keys.push(getKey(fromA) as string);
    }
    expect((await a.next()).done).toBe(true);
    expect((await b.next()).done).toBe(true);
    expect(released).toEqual(otherReleases ? keys : []);
  });

  it('with releaseItems, release the item a loop broke off at, and any read ahead of it, each once', async () => {
    const released: string[] = [];
    const { connector } = countingConnector();
    const store = new Store('stream-broken-off', { ...connector, releaseViews: (key) => void released.push(key as string) }, { register: true });
    stores.push(store);
    const broker = new QueueBroker();
    const consumer = new StreamConsumer<Frame>(broker.subscriber('frames'), { releaseItems: true, readAhead: 3 });
    const producer = new StreamProducer<{ frames: Frame }>(broker.publisher(), { stores: store, evict: false });
    for (let id = 0; id < 6; id++) await producer.send('frames', frame(id));
    const keys: string[] = [];
    for await (const item of consumer) {
      keys.push(getKey(item) as string);
      if (item.id === 1) break;
    }
    expect(keys.length).toBe(2);
    // Item 0 when the loop moved on; item 1 and the ones read ahead when it broke off.
    expect(released[0]).toBe(keys[0]);
    expect(released).toContain(keys[1]);
    expect(new Set(released).size).toBe(released.length);
    await producer.close();
  });

  it('filter on both sides, batch events, route topics to their own stores, and give values on request', async () => {
    const small = memoryStore('stream-small');
    const big = memoryStore('stream-big');
    const broker = new QueueBroker();
    const published: string[] = [];
    const publisher = broker.publisher();
    const counting = { send: (topic: string, data: string) => (published.push(data), publisher.send(topic, data)), close: () => publisher.close() };
    const producer = new StreamProducer<{ a: { n: number }; b: { n: number } }>(counting, {
      stores: { a: small.store, default: big.store },
      batchSize: 3,
      filter: (_topic, value) => (value as { n: number }).n !== 13,
    });
    const consumer = new StreamConsumer<{ n: number }>(broker.subscriber(['a', 'b']), { filter: (metadata) => metadata['keep'] !== false });
    for (const n of [1, 2, 13, 3, 4]) await producer.send('a', { n }, { metadata: { keep: n !== 2 } });
    await producer.send('b', { n: 100 });
    // 13 never reached a store; the rest wait in their topic's store.
    expect(small.held()).toBe(4);
    expect(big.held()).toBe(1);
    await producer.close();
    const values: number[] = [];
    for await (const value of consumer.values()) values.push(value.n);
    expect(values.sort((x, y) => x - y)).toEqual([1, 3, 4, 100]);
    // a: one full batch of 3 and a flushed batch of 1; b: a batch of 1; then an end event per topic.
    expect(published.filter((data) => data.includes('"items"')).map((data) => (JSON.parse(data) as { items: unknown[] }).items.length).sort()).toEqual([1, 1, 3]);
    expect(small.held() + big.held()).toBe(0);
  });

  it('go on while up to readAhead messages are still being evicted and acknowledged, acknowledging in order and throwing a failed eviction', async () => {
    const refused = new Set<string>();
    const { connector } = countingConnector({
      beforeEvict: (key) => {
        if (refused.has(key as string)) throw new Error('evict refused');
      },
    });
    const store = new Store('stream-behind', connector, { register: true });
    stores.push(store);
    const broker = new QueueBroker();
    const source = broker.subscriber('t');
    const producer = new StreamProducer<{ t: { n: number } }>(broker.publisher(), { stores: store });
    for (let n = 0; n < 6; n++) await producer.send('t', { n });
    await producer.close();
    // The queue's messages, numbered, each acknowledged only when the test lets it.
    const keys: string[] = [];
    const acked: number[] = [];
    const asked: (() => void)[] = [];
    const subscriber: Subscriber = {
      topics: ['t'],
      close: () => source.close(),
      async *[Symbol.asyncIterator](): AsyncGenerator<BrokerMessage> {
        for await (const message of source) {
          const n = keys.push((JSON.parse(message.data) as { items?: { p: { key: string } }[] }).items?.[0]?.p.key ?? '') - 1;
          yield { ...message, ack: () => new Promise<void>((resolve) => asked.push(() => (acked.push(n), resolve()))) };
        }
      },
    };
    const iterator = new StreamConsumer<{ n: number }>(subscriber, { readAhead: 2 })[Symbol.asyncIterator]();
    const nextN = async (): Promise<number> => ((await iterator.next()).value as { n: number }).n;
    const within = <V>(p: Promise<V>): Promise<V | 'waiting'> => Promise.race([p, new Promise<'waiting'>((resolve) => setTimeout(() => resolve('waiting'), 200))]);
    expect(await within((async () => [await nextN(), await nextN(), await nextN()])())).toEqual([0, 1, 2]);
    // Three items handed over with none of their messages acknowledged; the fourth waits for the first acknowledgement.
    expect(acked).toEqual([]);
    const fourth = nextN();
    expect(await within(fourth)).toBe('waiting');
    // Acknowledgements go out in order, each once the one before is done: only the first is asked for.
    expect(asked).toHaveLength(1);
    refused.add(keys[4] as string);
    asked.shift()?.();
    expect(await fourth).toBe(3);
    expect(acked).toEqual([0]);
    const release = setInterval(() => {
      while (asked.length > 0) asked.shift()?.();
    }, 5);
    try {
      const rest: number[] = [];
      const failure = await (async () => {
        for (;;) {
          const step = await iterator.next();
          if (step.done === true) return undefined;
          rest.push((step.value as { n: number }).n);
        }
      })().catch((error: unknown) => error);
      // The failed eviction is thrown by the loop, and neither its message nor any later one is acknowledged.
      expect((failure as Error | undefined)?.message).toMatch(/evict refused/);
      expect(rest[0]).toBe(4);
      // (The end event's message, 6, is acknowledged on its own.)
      const items = acked.filter((n) => n !== 6);
      expect(items).toEqual([0, 1, 2, 3].slice(0, items.length));
    } finally {
      clearInterval(release);
    }
  });

  it('throw a failed eviction while waiting for the next item, not only when one comes (a producer that died sends none)', async () => {
    const { connector } = countingConnector({
      beforeEvict: () => {
        throw new Error('evict refused');
      },
    });
    const store = new Store('stream-last', connector, { register: true });
    stores.push(store);
    const broker = new QueueBroker();
    const consumer = new StreamConsumer<{ n: number }>(broker.subscriber('t'));
    const producer = new StreamProducer<{ t: { n: number } }>(broker.publisher(), { stores: store });
    await producer.send('t', { n: 1 });
    // No further item and no close: the producer is gone.
    const seen: number[] = [];
    const loop = (async () => {
      for await (const item of consumer) seen.push(item.n);
    })().then(
      () => 'ended',
      (error: unknown) => error,
    );
    const outcome = await Promise.race([loop, new Promise((resolve) => setTimeout(() => resolve('still waiting'), 2_000))]);
    expect(seen).toEqual([1]);
    expect((outcome as Error).message).toMatch(/evict refused/);
  });

  it('apply backpressure: send waits while the consumer is a full queue behind', async () => {
    const { store } = memoryStore('stream-pressure');
    const broker = new QueueBroker({ capacity: 2 });
    const consumer = new StreamConsumer<{ n: number }>(broker.subscriber('t'));
    const producer = new StreamProducer<{ t: { n: number } }>(broker.publisher(), { stores: store });
    await producer.send('t', { n: 1 });
    await producer.send('t', { n: 2 });
    let third = false;
    const pending = producer.send('t', { n: 3 }).then(() => (third = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(third).toBe(false);
    const iterator = consumer[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect((first.value as { n: number }).n).toBe(1);
    await pending;
    expect(third).toBe(true);
    await consumer.close();
    expect((await iterator.next()).done).toBe(true);
  });

  it('close at the end of an await using scope: the producer ends its topics and closes its publisher, the consumer its subscription', async () => {
    const { store } = memoryStore('stream-scoped');
    const broker = new QueueBroker();
    const closed: string[] = [];
    const subscriber = broker.subscriber('t');
    const publisher = broker.publisher();
    const tracked = <T extends { close(): Promise<void> }>(end: T, name: string): T => {
      const close = end.close.bind(end);
      end.close = async () => {
        closed.push(name);
        await close();
      };
      return end;
    };
    let iterator: AsyncIterator<{ n: number }>;
    {
      await using consumer = new StreamConsumer<{ n: number }>(tracked(subscriber, 'subscriber'));
      {
        await using producer = new StreamProducer<{ t: { n: number } }>(tracked(publisher, 'publisher'), { stores: store });
        await producer.send('t', { n: 1 });
        await producer.send('t', { n: 2 });
      }
      expect(closed).toEqual(['publisher']);
      iterator = consumer[Symbol.asyncIterator]();
      const first = await iterator.next();
      expect(first.done !== true && first.value.n).toBe(1);
    }
    expect(closed).toEqual(['publisher', 'subscriber']);
    // The scope's end stopped the iteration before the second item.
    expect((await iterator.next()).done).toBe(true);
  });
});
