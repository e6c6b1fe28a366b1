/**
 * A caller too busy to read replies for a while (serializing big payloads for
 * dozens of callers) must not take its own stall for a silent server: the
 * BullMQ executor's watch once counted such a stall as an outage, and then
 * failed jobs that had completed meanwhile as lost.
 */
import { once } from 'node:events';
import net from 'node:net';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { settleWithin } from '../../runtime/support/timers.js';

function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // The caller's thread is taken: no timer, no I/O runs.
  }
}

describe('settleWithin', () => {
  it('takes a reply that arrived while the thread was busy past the bound, rather than the bound', async () => {
    // The server answers from a thread of its own, which the caller's busy loop does not hold up.
    const server = new Worker(
      `const net = require('node:net'); const { parentPort } = require('node:worker_threads');
       const server = net.createServer((socket) => socket.on('data', () => socket.write('pong')));
       server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));`,
      { eval: true },
    );
    const [port] = (await once(server, 'message')) as [number];
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    try {
      const reply = new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString())));
      socket.write('ping');
      const settled = settleWithin(reply, 50);
      // The reply comes within a millisecond or two; the thread reads it only after 300 ms, when the bound has passed.
      busyFor(300);
      expect(await settled).toEqual({ value: 'pong' });
      // A reply that never comes still ends at the bound.
      const started = performance.now();
      expect(await settleWithin(new Promise(() => undefined), 50)).toBeUndefined();
      expect(performance.now() - started).toBeLessThan(1_000);
    } finally {
      socket.destroy();
      await server.terminate();
    }
  });
});
