/**
 * One no-op task three ways. Each call ends with the task's output bytes in the
 * caller's hands — by proxy the result is resolved, by hand it is read back —
 * so every way pays for the same bytes, and with whatever cleanup a user of
 * that way would have to do.
 */
import { isProxy, resolveAsync } from 'ts-proxystore';
import type { Engine, Lane } from './engines.js';

type Way = 'value' | 'proxy' | 'hand';

export type Case = () => Promise<void>;

/** Bytes filled with a pattern, so nothing downstream can treat them as untouched zero pages. */
export function payload(bytes: number): Uint8Array {
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += 4096) data[i] = i & 0xff;
  return data;
}

function check(bytes: Uint8Array | undefined, expected: number, way: Way): void {
  if (bytes?.byteLength !== expected) throw new Error(`${way}: expected ${expected} bytes back, got ${String(bytes?.byteLength)}`);
}

export function byValue(engine: Pick<Engine, 'byValue'>, input: Uint8Array, outBytes: number): Case {
  return async () => check(await engine.byValue.run('noop', [input, outBytes]), outBytes, 'value');
}

export function byProxy(lane: Pick<Lane, 'byProxy'>, input: Uint8Array, outBytes: number): Case {
  return async () => {
    const result = await lane.byProxy.run('noop', [input, outBytes]);
    check(isProxy(result) ? await resolveAsync(result) : result, outBytes, 'proxy');
    // The input the executor stored is freed by the executor itself once the task has settled.
    await lane.byProxy.release(result);
  };
}

/** What a careful user writes without the library: put, pass the key, read the result's key, free both. */
export function byHand(engine: Pick<Engine, 'byValue'>, lane: Pick<Lane, 'store'>, input: Uint8Array, outBytes: number): Case {
  const { connector } = lane.store;
  const config = connector.config();
  return async () => {
    const key = await connector.put(input);
    const resultKey = await engine.byValue.run('noopByKey', [config, key, outBytes]);
    check(await connector.get(resultKey), outBytes, 'hand');
    connector.releaseViews?.(resultKey);
    await Promise.all([connector.evict(key), connector.evict(resultKey)]);
  };
}

/** The paper's throughput loop: `inFlight` tasks at a time, a new one as each finishes, until `total` are done. */
export function keepInFlight(one: Case, total: number, inFlight: number): Case {
  return async () => {
    let started = 0;
    const lane = async (): Promise<void> => {
      while (started < total) {
        started++;
        await one();
      }
    };
    await Promise.all(Array.from({ length: Math.min(inFlight, total) }, lane));
  };
}
