/**
 * How proxies of futures wait for a value that may not be written yet: below
 * the store factory, which both local proxies and decoded descriptors use, and
 * knowing nothing of ProxyFuture itself (future.ts).
 */
import type { Key } from '../connectors/connector.js';
import { ProxyFutureError, ProxyFutureTimeoutError, messageOf } from '../errors.js';
import type { StoreHandle } from './handle.js';

/** How a proxy of a future waits; travels in its descriptor. */
export interface WaitPolicy {
  readonly timeoutMs: number;
  readonly pollMs: number;
  readonly maxPollMs: number;
}

const MAX_WAIT_MS = 3_600_000;
const DEFAULT_WAIT: WaitPolicy = { timeoutMs: 60_000, pollMs: 1, maxPollMs: 10 };

/** A value that failed in its producer, as it is stored: readers turn it into a ProxyFutureError. */
const FAILURE = '$proxystoreFutureError';

/** How a producer's error is stored in place of the value. */
export function futureFailure(error: unknown): object {
  return { [FAILURE]: 1, name: error instanceof Error ? error.name : 'Error', message: messageOf(error) };
}

/** The wait of `options`, checked; `fail` makes the error to throw for a bad field. */
export function waitPolicy(options: Partial<WaitPolicy>, fail: (what: string) => Error): WaitPolicy {
  const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT.timeoutMs;
  const pollMs = options.pollMs ?? DEFAULT_WAIT.pollMs;
  const maxPollMs = options.maxPollMs ?? Math.max(pollMs, DEFAULT_WAIT.maxPollMs);
  const within = (value: unknown, min: number, max: number): boolean => typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max;
  if (!within(timeoutMs, 0, MAX_WAIT_MS)) throw fail(`timeoutMs must be a number of ms from 0 to ${MAX_WAIT_MS}, got ${String(timeoutMs)}`);
  if (!within(pollMs, 1, 10_000)) throw fail(`pollMs must be a number of ms from 1 to 10000, got ${String(pollMs)}`);
  if (!within(maxPollMs, pollMs, 60_000)) throw fail(`maxPollMs must be a number of ms from pollMs to 60000, got ${String(maxPollMs)}`);
  return { timeoutMs, pollMs, maxPollMs };
}

/** The future's value, or its producer's error, looking with backed-off polls until the deadline. */
export async function waitForValue<T>(store: StoreHandle, key: Key, wait: WaitPolicy): Promise<T> {
  const deadline = performance.now() + wait.timeoutMs;
  let delay = wait.pollMs;
  let quickWake = false;
  for (;;) {
    const value = await store.get<T>(key);
    if (value !== undefined) return unwrapFuture(value, key);
    const left = deadline - performance.now();
    if (left <= 0) throw new ProxyFutureTimeoutError(key, store.name, wait.timeoutMs);
    // Woken by the write itself where the connector can (shared memory, Redis); backed-off polls elsewhere,
    // and once after a wake that came at once yet found nothing (written and evicted meanwhile), so that cannot spin.
    if (!quickWake) {
      const started = performance.now();
      if (await whenWritten(store, key, left)) {
        quickWake = performance.now() - started < wait.pollMs;
        continue;
      }
    }
    quickWake = false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(delay, left)));
    delay = Math.min(delay * 2, wait.maxPollMs);
  }
}

/** Sleeps until the connector sees `key` written (true: look again), or false when it cannot wait for it. */
async function whenWritten(store: StoreHandle, key: Key, timeoutMs: number): Promise<boolean> {
  const { connector } = store;
  if (connector.whenWritten === undefined) return false;
  try {
    return await connector.whenWritten(key, timeoutMs);
  } catch {
    // The next look reports the connector's trouble (closed, unreachable) as a read of the key does.
    return false;
  }
}

/** Like `waitForValue`, blocking the thread: for a proxy's synchronous first touch. */
export function waitForValueSync<T>(store: StoreHandle, key: Key, wait: WaitPolicy): T {
  const deadline = performance.now() + wait.timeoutMs;
  // Objects of a memory store live in this thread's heap: nothing can set them while it blocks.
  const sameThread = store.connector.reach === 'thread';
  let delay = wait.pollMs;
  let quickWake = false;
  for (;;) {
    const value = store.getSync<T>(key);
    if (value !== undefined) return unwrapFuture(value, key);
    const left = deadline - performance.now();
    if (left <= 0 || sameThread) {
      const hint = sameThread ? ' (a memory store is set by this very thread, which a synchronous wait blocks: resolve it with resolveAsync)' : '';
      throw new ProxyFutureTimeoutError(key, store.name, sameThread ? 0 : wait.timeoutMs, hint);
    }
    if (!quickWake) {
      const started = performance.now();
      if (whenWrittenSync(store, key, left)) {
        quickWake = performance.now() - started < wait.pollMs;
        continue;
      }
    }
    quickWake = false;
    Atomics.wait(sleeper, 0, 0, Math.min(delay, left));
    delay = Math.min(delay * 2, wait.maxPollMs);
  }
}

function whenWrittenSync(store: StoreHandle, key: Key, timeoutMs: number): boolean {
  const { connector } = store;
  if (connector.whenWrittenSync === undefined) return false;
  try {
    return connector.whenWrittenSync(key, timeoutMs);
  } catch {
    return false;
  }
}

/** Nothing ever notifies it: `Atomics.wait` on it is a sleep that blocks the thread. */
const sleeper = new Int32Array(new SharedArrayBuffer(4));

function unwrapFuture<T>(value: T, key: Key): T {
  if (typeof value === 'object' && value !== null && Object.hasOwn(value, FAILURE)) {
    const failure = value as { name?: unknown; message?: unknown };
    throw new ProxyFutureError(key, String(failure.name), String(failure.message));
  }
  return value;
}
