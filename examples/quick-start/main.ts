import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { FileConnector, Store, encodeProxies } from 'ts-proxystore';

const store = new Store('quick-start', new FileConnector({ directory: path.join(os.tmpdir(), 'quick-start-store') }));
const weights = new Float64Array(8_000_000).fill(0.5); // 64 MB

const p = await store.proxy(weights); // stored once; p behaves like weights
console.log(p.length, p instanceof Float64Array); // 8000000 true: no store access, p holds weights

// A raw proxy cannot be posted (structured clone refuses ES Proxies): encode it, a few hundred bytes.
const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: encodeProxies({ weights: p }) });
const sum = await new Promise<number>((resolve, reject) => {
  worker.once('message', resolve);
  worker.once('error', reject);
});
console.log('sum from the worker:', sum); // 4000000
await worker.terminate();
await store.close({ clear: true }); // only now: the worker has read the weights
