/**
 * What debug logging costs: a 1 kB put + get + evict on a memory store with
 * logs off (the default), with the store's namespace on but its lines thrown
 * away (what formatting a line costs), and with metrics on, side by side.
 * Goal (issue 21): logs off is free, i.e. within noise of a build without
 * logging; compare the "off" row across builds (`node dist/bench/micro/logging.bench.js`).
 */
import { disable, enable, namespaces } from 'obug';
import { MemoryConnector, Store } from 'ts-proxystore';
import { storeLog } from '../../runtime/support/log.js';
import { median, timeMany } from '../timing.js';

const REPS = 20_000;
const ROUNDS = 7;

function loop(store: Store, value: object): () => Promise<void> {
  return async () => {
    for (let i = 0; i < 100; i++) {
      const key = await store.put(value);
      await store.get(key);
      await store.evict(key);
    }
  };
}

const value = { id: 1, name: 'x'.repeat(900), tags: ['a', 'b'] };
const plain = new Store('log-off', new MemoryConnector(), { cacheSize: 0 });
const measured = new Store('log-metrics', new MemoryConnector(), { cacheSize: 0, metrics: true });
const before = namespaces();
const offCase = loop(plain, value);
const metricsCase = loop(measured, value);
const onCase = async (): Promise<void> => {
  enable('ts-proxystore:store,ts-proxystore:connector:*');
  const keep = storeLog.log;
  storeLog.log = () => undefined;
  try {
    await offCase();
  } finally {
    storeLog.log = keep;
    disable();
    if (before !== '') enable(before);
  }
};

const [off = [], on = [], metrics = []] = await timeMany([offCase, onCase, metricsCase], Math.ceil(REPS / 100 / ROUNDS) * ROUNDS);
const perOp = (samples: number[]): number => (median(samples) / 100) * 1000;
console.log('1 kB put+get+evict on a memory store, µs per round trip (median of batches of 100)');
console.table({
  'logs off (default)': { 'µs': perOp(off).toFixed(2), 'vs off': '1.00x' },
  'store logs on, lines discarded': { 'µs': perOp(on).toFixed(2), 'vs off': `${(perOp(on) / perOp(off)).toFixed(2)}x` },
  'metrics on': { 'µs': perOp(metrics).toFixed(2), 'vs off': `${(perOp(metrics) / perOp(off)).toFixed(2)}x` },
});
await plain.close({ clear: true });
await measured.close({ clear: true });
