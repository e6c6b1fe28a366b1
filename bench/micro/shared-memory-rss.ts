/**
 * The RSS curve of many round trips of 1 MB through piscina: by value, and by
 * proxy through a shared-memory store (its recycled pool, or with
 * `--pool-bytes 0` a fresh segment per put, the scheme before the pool). Run
 * after `npm run build`:
 *
 *   node dist/bench/micro/shared-memory-rss.js [--calls 20000] [--in-flight 8] [--workers 2] [--pool-bytes N] [--ways value,proxy]
 *
 * Prints RSS (MB) every tenth of the calls, then after shutdown; each way runs
 * in a pool of its own, one after the other, in this process.
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { SharedMemoryConnector } from 'ts-proxystore';
import { PiscinaExecutor } from 'ts-proxystore/executors/piscina';
import { StoreExecutor } from 'ts-proxystore';
import { isProxy, resolveAsync } from 'ts-proxystore';
import { Store } from 'ts-proxystore';
import { payload } from '../paper/cases.js';
import type { BenchTasks } from '../paper/engines.js';

const { values: options } = parseArgs({
  options: {
    calls: { type: 'string', default: '20000' },
    'in-flight': { type: 'string', default: '8' },
    workers: { type: 'string', default: '2' },
    bytes: { type: 'string', default: '1000000' },
    'pool-bytes': { type: 'string' },
    ways: { type: 'string', default: 'value,proxy' },
  },
});
const calls = Number(options.calls);
const inFlight = Number(options['in-flight']);
const workers = Number(options.workers);
const bytes = Number(options.bytes);
const poolBytes = options['pool-bytes'] === undefined ? undefined : Number(options['pool-bytes']);

const TASK_MODULE = fileURLToPath(new URL('../paper/workers/tasks.js', import.meta.url));
const rssMB = (): number => Math.round(process.memoryUsage().rss / 2 ** 20);

async function curve(way: 'value' | 'proxy'): Promise<number[]> {
  const pool = new Piscina({ filename: TASK_MODULE, minThreads: workers, maxThreads: workers, atomics: 'async' });
  const bare = new PiscinaExecutor<BenchTasks>(pool, { closePool: true });
  const store = new Store(`rss-${crypto.randomUUID()}`, new SharedMemoryConnector(poolBytes === undefined ? {} : { poolBytes }));
  const executor = way === 'proxy' ? new StoreExecutor(bare, { store, shouldProxy: 'always' }) : bare;
  const input = payload(bytes);
  const samples = [rssMB()];
  const every = Math.max(1, Math.floor(calls / 10));
  let started = 0;
  const lane = async (): Promise<void> => {
    while (started < calls) {
      const n = ++started;
      const result = await executor.run('noop', [input, bytes]);
      const out = isProxy(result) ? await resolveAsync(result) : result;
      if (out.byteLength !== bytes) throw new Error(`expected ${bytes} bytes back, got ${out.byteLength}`);
      if (executor instanceof StoreExecutor) await executor.release(result);
      if (n % every === 0) samples.push(rssMB());
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  await executor.shutdown();
  await store.close({ clear: true });
  // Dropped slabs go at the next collection, which dropping them prompts: give it a moment.
  await new Promise((resolve) => setTimeout(resolve, 500));
  samples.push(rssMB());
  return samples;
}

const label = poolBytes === 0 ? 'fresh segment per put (no pool)' : `pool of ${poolBytes ?? 'default'} bytes per thread`;
console.log(`${calls} round trips of ${bytes} bytes, ${inFlight} in flight, ${workers} workers; RSS in MB at start, every ${Math.floor(calls / 10)} calls, after shutdown`);
for (const way of options.ways.split(',') as ('value' | 'proxy')[]) {
  const samples = await curve(way);
  console.log(`${way === 'proxy' ? `by proxy, ${label}` : 'by value'}: ${samples.join(' ')}`);
}
