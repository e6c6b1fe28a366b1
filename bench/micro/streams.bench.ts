/**
 * Streams of 1 MB items from this process to 1 and 2 consumer processes
 * through Redis Streams (one consumer group: the consumers share the work):
 * items/s with the bytes in the stream (by value, base64 in each event)
 * against proxies, with the bytes in a Redis store or kept by this process
 * and fetched from it by the consumers (peer connector); a descriptor in each event.
 * Goals (issue 20): by proxy ≥ 3x the items/s of by value; with the peer connector ≥ 5x.
 * Run: `npm run build && node dist/bench/micro/streams.bench.js` (starts its own redis-server; about two and a half minutes).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { Store } from '../../src/index.js';
import { PEER_SECRET_ENV, PeerConnector } from '../../runtime/connectors/peer.js';
import { RedisConnector } from '../../runtime/connectors/redis.js';
import { RedisStreamPublisher } from '../../runtime/stream/redis.js';
import { StreamProducer } from '../../runtime/stream/stream.js';
import { startRedisServer } from '../../runtime/testing/redis-server.js';
import { median } from '../timing.js';

/**
 * Items each lane's consumers handle before any is clocked. A stream's
 * consumer is a long-lived process, and V8 optimizes the code an item runs
 * through over its first 1,500 items or so (each item calls every function
 * only a few times): by proxy, where that code is the stream and store
 * machinery, a consumer's CPU per item fell from 1.56 ms over items 1–500 to
 * 1.32 ms over 501–1,000 and 1.06 ms over 1,001–1,500, then stayed at about
 * 1.0 ms to item 6,000 (peer lane, main thread; the compiler's own threads
 * took another 0.5 ms per item at first); with 1,000 unclocked, the first
 * clocked round was the slowest of three in every run. By value, most of the
 * work is JSON.parse and base64, built in. The consumers stay up for the
 * whole bench, so every round is clocked warm; the first items' rate is
 * shown apart (cold).
 */
const WARMUP = 1500;
/** Items per clocked round: enough that the items/s is the stream's steady rate. */
const ITEMS = 400;
/**
 * Sends each lane's producer keeps in flight: a send waits for its put and
 * then for the broker, so a producer awaiting each one in turn spends most of
 * its time waiting on round trips (1 MB items by proxy through a Redis store:
 * 266 items/s with one in flight, 364 with two; by value, the same rule).
 */
const IN_FLIGHT = 2;
/** Items of the cold figure: the first ones each lane's new consumers handled. */
const COLD = 300;
const ROUNDS = 3;
const item = new Float64Array(131_072).fill(1); // 1 MB
const modes = ['value', 'proxy', 'peer'] as const;
type Mode = (typeof modes)[number];

/** Shared with the consumers through their environment, as a deployment would: peer requests are signed with it. */
const peerSecret = randomUUID();
const here = path.dirname(new URL(import.meta.url).pathname);

/** One lane: its consumer processes, which stay up, and the producer side in this process. */
interface Lane {
  /** Sends `count` items and waits until the consumers have handled them all. */
  readonly send: (count: number) => Promise<void>;
  /** Ends the topic; resolves with when each item was handled (ms on the machine's clock), in order. */
  readonly finish: () => Promise<number[]>;
}

async function openLane(port: number, mode: Mode, consumers: number, admin: Redis): Promise<Lane> {
  const prefix = `bench-${mode}-${consumers}-${randomUUID()}:`;
  const children: ChildProcess[] = Array.from({ length: consumers }, () =>
    spawn(process.execPath, [path.join(here, 'workers', 'stream-consumer.js'), String(port), prefix, 'group', mode === 'value' ? 'value' : 'proxy'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, [PEER_SECRET_ENV]: peerSecret },
    }),
  );
  const outputs = children.map((child) => createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]());
  await Promise.all(outputs.map((lines) => lines.next())); // 'ready': each has joined the group
  const connection = { host: '127.0.0.1', port };
  // Both ways bounded alike: the producer waits while 8 items are unhandled, so neither floods Redis, and
  // the stream keeps about the last 100 events (by value, 1.4 MB each: every handled one kept would be gigabytes).
  const publisher = new RedisStreamPublisher({ connection, prefix, maxPending: 8, maxLength: 100 });
  const connector = mode === 'peer' ? new PeerConnector({ space: `stream-bench-${randomUUID()}`, secret: peerSecret }) : new RedisConnector({ port, prefix: `proxystore:${prefix}objects:` });
  const store = new Store(`stream-bench-${mode}`, connector);
  const producer = mode === 'value' ? undefined : new StreamProducer<{ items: Float64Array }>(publisher, { stores: store });
  const b64 = Buffer.from(item.buffer).toString('base64');
  let sent = 0;
  const drained = async (): Promise<void> => {
    // Handled means acknowledged: nothing pending in the group, nothing unread.
    for (;;) {
      const groups = (await admin.xinfo('GROUPS', `${prefix}items`)) as unknown[][];
      const fields = groups[0] ?? [];
      const info = new Map<unknown, unknown>();
      for (let i = 0; i + 1 < fields.length; i += 2) info.set(fields[i], fields[i + 1]);
      if (Number(info.get('pending')) === 0 && Number(info.get('lag')) === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  return {
    async send(count) {
      let left = count;
      const sender = async (): Promise<void> => {
        while (left > 0) {
          left--;
          if (producer !== undefined) await producer.send('items', item);
          else await publisher.send('items', JSON.stringify({ v: 1, b64 }));
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, sender));
      sent += count;
      await drained();
    },
    async finish() {
      if (producer !== undefined) await producer.close();
      else {
        await publisher.end('items');
        await publisher.send('items', JSON.stringify({ v: 1, end: true }));
        await publisher.close();
      }
      const reports = await Promise.all(outputs.map(async (lines) => JSON.parse((await lines.next()).value as string) as { handled: number; stamps: number[] }));
      await Promise.all(children.filter((child) => child.exitCode === null).map((child) => once(child, 'exit')));
      const counts = reports.map((report) => report.handled);
      if (counts.reduce((a, b) => a + b, 0) !== sent) throw new Error(`${mode}: consumers handled ${counts.join('+')} of ${sent} items`);
      await store.close({ clear: true });
      // Whichever consumer handled it.
      return reports.flatMap((report) => report.stamps).sort((a, b) => a - b);
    },
  };
}

/** Items/s between the first and the last item handled of `stamps[from, to)`. */
function rate(stamps: readonly number[], from: number, to: number): number {
  return (to - from - 1) / (((stamps[to - 1] as number) - (stamps[from] as number)) / 1000);
}

const server = await startRedisServer();
const admin = new Redis({ host: '127.0.0.1', port: server.port });
try {
  const rows: Record<string, Record<string, string>> = {};
  const coldRows: Record<string, Record<string, string>> = {};
  for (const consumers of [1, 2]) {
    const lanes = {} as Record<Mode, Lane>;
    for (const mode of modes) {
      lanes[mode] = await openLane(server.port, mode, consumers, admin);
      await lanes[mode].send(WARMUP);
    }
    // Alternating rounds, the median of each: load from other jobs then hits every lane alike.
    for (let round = 0; round < ROUNDS; round++) for (const mode of modes) await lanes[mode].send(ITEMS);
    const rates = {} as Record<Mode, number>;
    const cold = {} as Record<Mode, number>;
    const each: string[] = [];
    for (const mode of modes) {
      const stamps = await lanes[mode].finish();
      const rounds = Array.from({ length: ROUNDS }, (_, round) => rate(stamps, WARMUP + round * ITEMS, WARMUP + (round + 1) * ITEMS));
      rates[mode] = median(rounds);
      cold[mode] = rate(stamps, 0, COLD);
      each.push(`${mode} ${rounds.map((r) => r.toFixed(0)).join(' / ')}`);
    }
    const label = `${consumers} consumer${consumers > 1 ? 's' : ''}`;
    console.log(`${label}, items/s of each round: ${each.join(', ')}`);
    rows[label] = {
      'by value items/s': rates.value.toFixed(1),
      'by proxy (Redis store) items/s': rates.proxy.toFixed(1),
      'by proxy (peer) items/s': rates.peer.toFixed(1),
      'Redis store / value': `${(rates.proxy / rates.value).toFixed(2)}x (goal ≥ 3x: ${rates.proxy / rates.value >= 3 ? 'met' : 'not met'})`,
      'peer / value': `${(rates.peer / rates.value).toFixed(2)}x (goal ≥ 5x: ${rates.peer / rates.value >= 5 ? 'met' : 'not met'})`,
    };
    coldRows[label] = {
      'by value items/s': cold.value.toFixed(1),
      'by proxy (Redis store) items/s': cold.proxy.toFixed(1),
      'by proxy (peer) items/s': cold.peer.toFixed(1),
      'Redis store / value': `${(cold.proxy / cold.value).toFixed(2)}x`,
      'peer / value': `${(cold.peer / cold.value).toFixed(2)}x`,
    };
  }
  console.log(`Streams of 1 MB items through Redis Streams, producer → consumer processes that stay up: items/s over ${ITEMS} items (median of ${ROUNDS} alternating rounds), after ${WARMUP} unclocked`);
  console.table(rows);
  console.log(`Cold: the first ${COLD} items each lane's new consumer processes handled (one sample each, not a goal)`);
  console.table(coldRows);
} finally {
  admin.disconnect();
  await server.stop();
}
