/**
 * The main job for now: send a 64 MB Float64Array to 2 worker threads by value
 * (structured clone into each worker) and by proxy (a few hundred bytes of
 * reference each; the workers view the same shared bytes), and print both times.
 */
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { SharedMemoryConnector, Store, encodeProxies, getKey } from 'ts-proxystore';
import type { DemoReply, DemoRequest } from './demo-worker.js';
import { median } from '../timing.js';

const WORKERS = 2;
const ROUNDS = 5;
const SIZE_MB = 64;

async function roundTrip(workers: readonly Worker[], request: DemoRequest, expected: number): Promise<number> {
  const t0 = performance.now();
  const replies = workers.map((w) => once(w, 'message') as Promise<[DemoReply]>);
  for (const w of workers) w.postMessage(request);
  for (const [reply] of await Promise.all(replies)) {
    if (reply.sum !== expected) throw new Error(`a worker computed ${reply.sum}, expected ${expected}`);
  }
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const store = new Store('demo', new SharedMemoryConnector(), { register: true });
  const workers = Array.from({ length: WORKERS }, () => new Worker(new URL('./demo-worker.js', import.meta.url)));
  try {
    const data = new Float64Array((SIZE_MB * 1024 * 1024) / 8).map((_, i) => i % 1000);
    const expected = data.reduce((a, b) => a + b, 0);
    const byValue: number[] = [];
    const byProxy: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate, so drift in machine load hits both sides alike.
      byValue.push(await roundTrip(workers, { mode: 'value', data }, expected));
      const t0 = performance.now();
      const p = await store.proxy(data);
      byProxy.push(performance.now() - t0 + (await roundTrip(workers, { mode: 'proxy', data: encodeProxies(p) }, expected)));
      const key = getKey(p);
      if (key !== undefined) await store.evict(key);
    }
    const mv = median(byValue);
    const mp = median(byProxy);
    console.log(`${SIZE_MB} MB Float64Array into ${WORKERS} worker threads, median of ${ROUNDS} rounds (shared-memory connector; proxy time includes the put)`);
    console.table({
      'by value': { 'median ms': Number(mv.toFixed(1)), runs: byValue.map((x) => x.toFixed(1)).join(' ') },
      'by proxy': { 'median ms': Number(mp.toFixed(1)), runs: byProxy.map((x) => x.toFixed(1)).join(' ') },
    });
    console.log(`by value / by proxy: ${(mv / mp).toFixed(2)}x`);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
    await store.close({ clear: true });
  }
}

await main();
