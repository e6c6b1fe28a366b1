/**
 * The worker thread of the shared-memory futures latency benchmark: for each
 * message (a future's proxy, encoded) it waits for the value, asynchronously
 * or on a synchronous first touch, and posts the time it arrived. With
 * `poll`, its connector forgets how to wait, so the wait falls back to polls.
 */
import { parentPort } from 'node:worker_threads';
import { decodeProxies, getStore, resolveAsync, type Proxy } from '../../../src/index.js';

async function read({ encoded, how, poll }: { encoded: unknown; how: 'sync' | 'async'; poll: boolean }): Promise<void> {
  const { p } = decodeProxies(encoded) as { p: Proxy<{ n: number }> };
  if (poll) forgetWaiting(getStore(p)?.connector);
  parentPort?.postMessage('waiting');
  const n = how === 'sync' ? p.n : (await resolveAsync(p)).n;
  parentPort?.postMessage({ n, at: performance.timeOrigin + performance.now() });
}

// A failed read is an unhandled rejection, which ends the worker: the benchmark then fails rather than wait.
parentPort?.on('message', (message: Parameters<typeof read>[0]) => void read(message));

/** The polling lane: hides the connector's wait, as a connector without one would be. */
export function forgetWaiting(connector: object | undefined): void {
  if (connector === undefined) throw new Error('the proxy names no store');
  Object.defineProperties(connector, { whenWritten: { value: undefined }, whenWrittenSync: { value: undefined } });
}
