/**
 * The RSS curve of many round trips of 1 MB through piscina: by value, and by
 * proxy through each store that reaches worker threads: shared memory (its
 * recycled pool, or with `--pool-bytes 0` a fresh segment per put, the scheme
 * before the pool), file, Redis (a throwaway redis-server) and peer. The
 * memory store cannot reach another thread, so its soak runs in this thread:
 * proxy, resolve as a reader would (a store rebuilt from the descriptor, no
 * cache), release. Run after `npm run build`:
 *
 *   node dist/bench/micro/store-rss.js [--calls 20000] [--in-flight 8] [--workers 2] [--pool-bytes N]
 *     [--ways value,shared-memory,file,redis,peer,memory]
 *
 * Prints RSS (MB) every tenth of the calls, then after shutdown, and what the
 * store still holds (it must be nothing); each way runs on its own, one after
 * the other, in this process.
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileConnector, MemoryConnector, SharedMemoryConnector, Store, StoreExecutor, decodeProxies, encodeProxies, isProxy, resolveAsync, type Connector, type Proxy } from 'ts-proxystore';
import { PEER_SECRET_ENV, PeerConnector, peerStats } from 'ts-proxystore/connectors/peer';
import { RedisConnector } from 'ts-proxystore/connectors/redis';
import { PiscinaExecutor } from 'ts-proxystore/executors/piscina';
import { startRedisServer, type RedisServer } from 'ts-proxystore/testing';
import { payload } from '../paper/cases.js';
import type { BenchTasks } from '../paper/engines.js';

const { values: options } = parseArgs({
  options: {
    calls: { type: 'string', default: '20000' },
    'in-flight': { type: 'string', default: '8' },
    workers: { type: 'string', default: '2' },
    bytes: { type: 'string', default: '1000000' },
    'pool-bytes': { type: 'string' },
    ways: { type: 'string', default: 'value,shared-memory,file,redis,peer,memory' },
  },
});
const calls = Number(options.calls);
const inFlight = Number(options['in-flight']);
const workers = Number(options.workers);
const bytes = Number(options.bytes);
const poolBytes = options['pool-bytes'] === undefined ? undefined : Number(options['pool-bytes']);

const TASK_MODULE = fileURLToPath(new URL('../paper/workers/tasks.js', import.meta.url));
const rssMB = (): number => Math.round(process.memoryUsage().rss / 2 ** 20);

type Way = 'value' | 'shared-memory' | 'file' | 'redis' | 'peer' | 'memory';
const WAYS: readonly Way[] = ['value', 'shared-memory', 'file', 'redis', 'peer', 'memory'];

let redis: RedisServer | undefined;
const directory = mkdtempSync(path.join(os.tmpdir(), 'store-rss-'));

async function connectorFor(way: Exclude<Way, 'value'>): Promise<Connector> {
  switch (way) {
    case 'shared-memory':
      return new SharedMemoryConnector(poolBytes === undefined ? {} : { poolBytes });
    case 'file':
      return new FileConnector({ directory: path.join(directory, crypto.randomUUID()) });
    case 'redis':
      redis ??= await startRedisServer();
      return new RedisConnector({ port: redis.port });
    case 'peer':
      // Worker threads inherit the secret through the environment, as a deployment sets it on every peer.
      process.env[PEER_SECRET_ENV] ??= crypto.randomUUID();
      return new PeerConnector();
    case 'memory':
      return new MemoryConnector();
  }
}

/**
 * How many objects the store still holds: listed where the connector can list
 * (file, Redis, memory); for peer, what this process still serves (inputs
 * live here, results in the workers until released). Shared memory cannot
 * tell; its RSS after shutdown says it.
 */
async function held(store: Store, way: Way): Promise<number | 'not countable'> {
  if (way === 'peer') return peerStats().objects;
  if (way === 'shared-memory') return 'not countable';
  const keys: unknown[] = [];
  for await (const { key } of store.list()) keys.push(key);
  return keys.length;
}

async function curve(way: Way): Promise<{ samples: number[]; left: number | 'not countable' }> {
  const store = way === 'value' ? undefined : new Store(`rss-${crypto.randomUUID()}`, await connectorFor(way));
  const input = payload(bytes);
  const samples = [rssMB()];
  const every = Math.max(1, Math.floor(calls / 10));
  let started = 0;
  let call: () => Promise<void>;
  let stop = (): Promise<void> => Promise.resolve();
  if (way === 'memory') {
    // A reader elsewhere rebuilds the store from the descriptor: here, one with no cache, so every call reads and decodes.
    call = async () => {
      const p = await (store as Store).proxy(input, { evict: true });
      const out = await resolveAsync(decodeProxies(JSON.parse(JSON.stringify(encodeProxies(p))) as unknown) as Proxy<Uint8Array>);
      if (out.byteLength !== bytes) throw new Error(`expected ${bytes} bytes back, got ${out.byteLength}`);
    };
  } else {
    const pool = new Piscina({ filename: TASK_MODULE, minThreads: workers, maxThreads: workers, atomics: 'async' });
    const bare = new PiscinaExecutor<BenchTasks>(pool, { closePool: true });
    const executor = store === undefined ? bare : new StoreExecutor(bare, { store, shouldProxy: 'always' });
    call = async () => {
      const result = await executor.run('noop', [input, bytes]);
      const out = isProxy(result) ? await resolveAsync(result) : result;
      if (out.byteLength !== bytes) throw new Error(`expected ${bytes} bytes back, got ${out.byteLength}`);
      if (executor instanceof StoreExecutor) await executor.release(result);
    };
    stop = () => executor.shutdown();
  }
  const lane = async (): Promise<void> => {
    while (started < calls) {
      const n = ++started;
      await call();
      if (n % every === 0) samples.push(rssMB());
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  await stop();
  const left = store === undefined ? 0 : await held(store, way);
  await store?.close({ clear: true });
  // Dropped slabs and buffers go at the next collection, which dropping them prompts: give it a moment.
  await new Promise((resolve) => setTimeout(resolve, 500));
  samples.push(rssMB());
  return { samples, left };
}

const label = poolBytes === 0 ? 'fresh segment per put (no pool)' : `pool of ${poolBytes ?? 'default'} bytes per thread`;
console.log(`${calls} round trips of ${bytes} bytes, ${inFlight} in flight, ${workers} workers; RSS in MB at start, every ${Math.floor(calls / 10)} calls, after shutdown`);
try {
  for (const way of options.ways.split(',') as Way[]) {
    if (!WAYS.includes(way)) throw new Error(`--ways takes ${WAYS.join(', ')}; got ${way}`);
    const { samples, left } = await curve(way);
    const name = way === 'value' ? 'by value' : way === 'shared-memory' ? `by proxy, shared memory, ${label}` : way === 'memory' ? 'memory store, in this thread' : `by proxy, ${way}`;
    console.log(`${name}: ${samples.join(' ')}${way === 'value' ? '' : `; objects left: ${left}`}`);
  }
} finally {
  await redis?.stop();
  rmSync(directory, { recursive: true, force: true });
}
