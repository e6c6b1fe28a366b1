/**
 * Streams of 1 MB items from this process to 1 and 2 consumer processes
 * through Redis Streams (one consumer group: the consumers share the work):
 * items/s with the bytes in the stream (by value, base64 in each event)
 * against proxies, with the bytes in a Redis store or kept by this process
 * and fetched from it by the consumers (peer connector); a descriptor in each event.
 * Goals (issue 20): by proxy ≥ 3x the items/s of by value; with the peer connector ≥ 5x.
 * Run: `npm run build && node dist/bench/micro/streams.bench.js` (starts its own redis-server; about a minute).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Store } from '../../src/index.js';
import { randomUUID } from 'node:crypto';
import { PEER_SECRET_ENV, PeerConnector } from '../../runtime/connectors/peer.js';
import { RedisConnector } from '../../runtime/connectors/redis.js';
import { RedisStreamPublisher } from '../../runtime/stream/redis.js';
import { StreamProducer } from '../../runtime/stream/stream.js';
import { startRedisServer } from '../../runtime/testing/redis-server.js';
import { median } from '../timing.js';

const here = path.dirname(new URL(import.meta.url).pathname);
/**
 * Items per run: enough that the items/s is the stream's steady rate. With 60
 * (a run of a quarter to half a second) the consumers' first item, which
 * connects its store, weighed on every lane and most on the fastest: by proxy
 * measured 1.6x and 2.4x by value at 60 items, 2.6x and 4.3x at 300.
 */
const ITEMS = 300;
/**
 * Items each run sends first, unclocked. A consumer process is new at every
 * run, and V8 optimizes the code an item runs through over its first hundreds
 * of items: by proxy, where that code is the stream and store machinery, it
 * ran slower for longer than by value (mostly JSON.parse and base64, which
 * are built in), so the first items measured start-up. Every lane gets the
 * same warm-up; the clock runs from the last warm-up item handled to the last item.
 */
const WARMUP = 150;
const ROUNDS = 3;
const item = new Float64Array(131_072).fill(1); // 1 MB

/** Shared with the consumers through their environment, as a deployment would: peer requests are signed with it. */
const peerSecret = randomUUID();

async function run(port: number, mode: 'value' | 'proxy' | 'peer', consumers: number): Promise<number> {
  const prefix = `bench-${mode}-${consumers}-${crypto.randomUUID()}:`;
  const children = Array.from({ length: consumers }, () =>
    spawn(process.execPath, [path.join(here, 'workers', 'stream-consumer.js'), String(port), prefix, 'group', mode === 'value' ? 'value' : 'proxy'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, [PEER_SECRET_ENV]: peerSecret },
    }),
  );
  const outputs = children.map((child) => createInterface({ input: child.stdout })[Symbol.asyncIterator]());
  await Promise.all(outputs.map((lines) => lines.next())); // 'ready'
  const connection = { host: '127.0.0.1', port };
  // Both ways bounded alike: the producer waits while 8 items are unhandled, so neither floods Redis.
  const publisher = new RedisStreamPublisher({ connection, prefix, maxPending: 8 });
  const connector = mode === 'peer' ? new PeerConnector({ space: `stream-bench-${randomUUID()}`, secret: peerSecret }) : new RedisConnector({ port, prefix: `proxystore:${prefix}objects:` });
  const store = new Store(`stream-bench-${mode}`, connector);
  const sent = WARMUP + ITEMS;
  if (mode !== 'value') {
    const producer = new StreamProducer<{ items: Float64Array }>(publisher, { stores: store });
    for (let i = 0; i < sent; i++) await producer.send('items', item);
    await producer.close();
  } else {
    const b64 = Buffer.from(item.buffer).toString('base64');
    for (let i = 0; i < sent; i++) await publisher.send('items', JSON.stringify({ v: 1, b64 }));
    await publisher.end('items');
    await publisher.send('items', JSON.stringify({ v: 1, end: true }));
    await publisher.close();
  }
  const reports = await Promise.all(outputs.map(async (lines) => JSON.parse((await lines.next()).value as string) as { handled: number; stamps: number[] }));
  await Promise.all(children.filter((child) => child.exitCode === null).map((child) => once(child, 'exit')));
  const counts = reports.map((report) => report.handled);
  if (counts.reduce((a, b) => a + b, 0) !== sent) throw new Error(`consumers handled ${counts.join('+')} of ${sent} items`);
  await store.close({ clear: true });
  // When each item was handled, on the machine's clock, whichever consumer handled it.
  const stamps = reports.flatMap((report) => report.stamps).sort((a, b) => a - b);
  return ITEMS / (((stamps[sent - 1] as number) - (stamps[WARMUP - 1] as number)) / 1000);
}

const server = await startRedisServer();
try {
  const rows: Record<string, Record<string, string>> = {};
  for (const consumers of [1, 2]) {
    // Alternating rounds, the median of each: load from other jobs then hits every lane alike.
    const rates: Record<'value' | 'proxy' | 'peer', number[]> = { value: [], proxy: [], peer: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of ['value', 'proxy', 'peer'] as const) rates[mode].push(await run(server.port, mode, consumers));
    }
    const [byValue, byProxy, byPeer] = [median(rates.value), median(rates.proxy), median(rates.peer)];
    rows[`${consumers} consumer${consumers > 1 ? 's' : ''}`] = {
      'by value items/s': byValue.toFixed(1),
      'by proxy (Redis store) items/s': byProxy.toFixed(1),
      'by proxy (peer) items/s': byPeer.toFixed(1),
      'Redis store / value': `${(byProxy / byValue).toFixed(2)}x (goal ≥ 3x: ${byProxy / byValue >= 3 ? 'met' : 'not met'})`,
      'peer / value': `${(byPeer / byValue).toFixed(2)}x (goal ≥ 5x: ${byPeer / byValue >= 5 ? 'met' : 'not met'})`,
    };
  }
  console.log(`Streams of 1 MB items through Redis Streams, producer → consumer processes: items/s over ${ITEMS} items after ${WARMUP} unclocked (median of ${ROUNDS} alternating rounds)`);
  console.table(rows);
} finally {
  await server.stop();
}
