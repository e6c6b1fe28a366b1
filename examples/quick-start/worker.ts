import { parentPort, workerData } from 'node:worker_threads';
import { decodeProxies, extract, type Encoded, type Proxy } from 'ts-proxystore';

const { weights } = decodeProxies(workerData as Encoded<{ weights: Proxy<Float64Array> }>); // lazy: nothing read yet
const w = extract(weights); // read once from the store, here
let sum = 0;
for (const x of w) sum += x;
parentPort?.postMessage(sum);
