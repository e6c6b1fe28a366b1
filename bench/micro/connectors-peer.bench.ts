/**
 * Raw `get` through the peer connector from another process on loopback:
 * an owner process puts objects of 1 MB, 10 MB and 100 MB, and this process
 * fetches each repeatedly, so the figure is the connector's own transfer rate
 * (one TCP stream, one copy out of the socket into the reply's buffer). Two
 * ways: keeping every array read (each read lands in fresh memory), and
 * releasing each once read (`releaseViews`, as the store and executors do, so
 * the next read lands in memory written before). For comparison, the same
 * bytes through Redis (`getBuffer` of raw ioredis on a throwaway
 * redis-server) in the same run, alternating, and the machine's floor: a
 * bare TCP socket from a third process, no protocol at all, read into fresh
 * memory the same way (what any transport that keeps its reads pays here).
 *
 * Run: npm run build && node dist/bench/micro/connectors-peer.bench.js
 * The goal (issue 19) is ≥ 1 GB/s for 100 MB from another process.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import readline from 'node:readline';
import { Redis } from 'ioredis';
import { PEER_SECRET_ENV, PeerConnector } from 'ts-proxystore/connectors/peer';
import { startRedisServer } from 'ts-proxystore/testing';
import { median } from '../timing.js';

const SIZES = [
  { label: '1 MB', bytes: 1 << 20, rounds: 100 },
  { label: '10 MB', bytes: 10 << 20, rounds: 30 },
  { label: '100 MB', bytes: 100 << 20, rounds: 8 },
];
// The owner process is the peer tests' fixture (plain ESM importing the built package by name), run from the repository's test folder.
const OWNER = path.join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'peer-owner.mjs');
const GOAL_GB_PER_S = 1;

const rate = (bytes: number, ms: number): string => `${(bytes / 1e6 / ms).toFixed(2)} GB/s`;

/** Serves `sizes[i]` bytes (written once, so its pages are touched) for each request byte `i`: no framing, no checks. */
const BARE_SERVER = `
  const net = require('node:net');
  const objects = JSON.parse(process.argv[1]).map((size) => Buffer.alloc(size, 7));
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (requests) => { for (const i of requests) socket.write(objects[i]); });
  });
  server.listen(0, '127.0.0.1', () => console.log(server.address().port));
  process.stdin.on('end', () => process.exit(0)).resume();
`;

/** A bare socket to the floor server: each `get` reads one object into fresh memory, straight from the socket as the peer connector does. */
async function bareReader(sizes: readonly number[]): Promise<{ get(index: number): Promise<Uint8Array>; close(): void }> {
  const server = spawn(process.execPath, ['-e', BARE_SERVER, JSON.stringify(sizes)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await readline.createInterface({ input: server.stdout })[Symbol.asyncIterator]().next();
  if (line.done === true) throw new Error('the bare socket server exited before listening');
  const scratch = Buffer.allocUnsafe(64 * 1024);
  let body: Uint8Array | undefined;
  let filled = 0;
  let done: (() => void) | undefined;
  const landed = (size: number): void => {
    filled += size;
    if (body !== undefined && filled === body.byteLength) done?.();
  };
  const socket = net.connect({
    host: '127.0.0.1',
    port: Number(line.value),
    noDelay: true,
    onread: {
      buffer: () => (body !== undefined && filled < body.byteLength ? body.subarray(filled) : scratch),
      callback: (size: number, buffer: Uint8Array) => {
        if (buffer === scratch) {
          if (body === undefined) throw new Error('bare socket: bytes arrived with no request in flight');
          body.set(scratch.subarray(0, size), filled);
        }
        landed(size);
        return true;
      },
    },
  });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return {
    get: (index) =>
      new Promise((resolve) => {
        const target = new Uint8Array(Buffer.allocUnsafeSlow(sizes[index] as number).buffer);
        body = target;
        filled = 0;
        done = () => {
          body = undefined;
          resolve(target);
        };
        socket.write(Uint8Array.of(index));
      }),
    close: () => {
      socket.destroy();
      server.stdin.end();
    },
  };
}

async function main(): Promise<void> {
  const secret = randomUUID();
  const space = `bench-${randomUUID()}`;
  const owner = spawn(process.execPath, [OWNER, space, JSON.stringify(SIZES.map((s) => s.bytes))], {
    env: { ...process.env, [PEER_SECRET_ENV]: secret },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = readline.createInterface({ input: owner.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done === true) throw new Error('the owner process exited before serving');
  const { keys } = JSON.parse(first.value) as { keys: string[] };
  const reader = new PeerConnector({ space, secret, requestTimeoutMs: 60_000 });
  const bare = await bareReader(SIZES.map((s) => s.bytes));
  const server = await startRedisServer();
  const redis = new Redis({ host: server.host, port: server.port });
  const rows: Record<string, string>[] = [];
  try {
    for (const [i, { label, bytes, rounds }] of SIZES.entries()) {
      const key = keys[i] as string;
      const redisKey = `bench:${randomUUID()}`;
      await redis.set(redisKey, Buffer.alloc(bytes, 7));
      const peerTimes: number[] = [];
      const releasedTimes: number[] = [];
      const redisTimes: number[] = [];
      const bareTimes: number[] = [];
      const kept: Uint8Array[] = [];
      // Two warm-up rounds, then alternating so load on the machine hits both alike.
      for (let round = 0; round < rounds + 2; round++) {
        let t0 = performance.now();
        const got = await reader.get(key);
        const peerMs = performance.now() - t0;
        if (got?.byteLength !== bytes) throw new Error(`peer: read ${String(got?.byteLength)} bytes, expected ${bytes}`);
        // Held until the next round, as a reader that keeps what it read would: this read's memory is not reused.
        kept.splice(0, 1, got);
        t0 = performance.now();
        const released = await reader.get(key);
        const releasedMs = performance.now() - t0;
        if (released?.byteLength !== bytes) throw new Error(`peer: read ${String(released?.byteLength)} bytes, expected ${bytes}`);
        reader.releaseViews(key);
        t0 = performance.now();
        const viaRedis = await redis.getBuffer(redisKey);
        const redisMs = performance.now() - t0;
        if (viaRedis?.byteLength !== bytes) throw new Error(`redis: read ${String(viaRedis?.byteLength)} bytes, expected ${bytes}`);
        t0 = performance.now();
        const bareRead = await bare.get(i);
        const bareMs = performance.now() - t0;
        if (bareRead[bytes - 1] !== 7) throw new Error('bare socket: the last byte did not arrive');
        // Kept like the peer read: the next round's peer read lands in fresh memory as before.
        kept.splice(0, 1, bareRead);
        if (round >= 2) {
          bareTimes.push(bareMs);
          peerTimes.push(peerMs);
          releasedTimes.push(releasedMs);
          redisTimes.push(redisMs);
        }
      }
      kept.length = 0;
      await redis.unlink(redisKey);
      const peerMs = median(peerTimes);
      const releasedMs = median(releasedTimes);
      const redisMs = median(redisTimes);
      const bareMs = median(bareTimes);
      rows.push({
        size: label,
        'peer get ms': peerMs.toFixed(2),
        'peer rate': rate(bytes, peerMs),
        'released ms': releasedMs.toFixed(2),
        'released rate': rate(bytes, releasedMs),
        'redis getBuffer ms': redisMs.toFixed(2),
        'redis rate': rate(bytes, redisMs),
        'bare socket rate': rate(bytes, bareMs),
      });
      if (bytes === 100 << 20) {
        const gbPerS = bytes / 1e6 / peerMs;
        console.log(
          `goal: raw get of 100 MB from another process ≥ ${GOAL_GB_PER_S} GB/s: ${gbPerS.toFixed(2)} GB/s ${gbPerS >= GOAL_GB_PER_S ? 'met' : 'NOT MET'}` +
            ` (a bare socket into fresh memory, the floor of any transport here: ${rate(bytes, bareMs)}; peer ÷ bare ${(bareMs / peerMs).toFixed(2)}x)`,
        );
      }
    }
  } finally {
    redis.disconnect();
    await server.stop();
    await reader.close();
    bare.close();
    owner.stdin.end();
  }
  console.table(rows);
}

await main();
