import { Piscina } from 'piscina';
import { SharedMemoryConnector, Store, extract, isProxy } from 'ts-proxystore';
import { StoreExecutor } from 'ts-proxystore/executors';
import { PiscinaExecutor } from 'ts-proxystore/executors/piscina';
import type { tasks } from './tasks.js';

// atomics: 'async' lets idle threads answer the shared-memory connector (see PiscinaExecutor).
const pool = new Piscina({ filename: new URL('./tasks.js', import.meta.url).href, maxThreads: 2, atomics: 'async' });
const store = new Store('piscina-example', new SharedMemoryConnector());
{
  await using executor = new StoreExecutor(new PiscinaExecutor<typeof tasks>(pool), { store, shouldProxy: { minBytes: 100_000 } });
  const big = new Float64Array(1_000_000).fill(1); // 8 MB: goes to the thread as a proxy, not a copy
  console.log('sum:', await executor.submit('sum', big)); // 1000000
  const doubled = await executor.submit('scale', big, 2); // an 8 MB result comes back as a proxy
  console.log('doubled:', isProxy(doubled), extract(doubled)[0]); // true 2: a proxy, extracted once here
}
await pool.close();
await store.close({ clear: true });
