import { parentPort } from 'node:worker_threads';
import { decodeProxies, extract, type Encoded, type Proxy } from 'ts-proxystore';

export type DemoRequest =
  | { readonly mode: 'value'; readonly data: Float64Array }
  | { readonly mode: 'proxy'; readonly data: Encoded<Proxy<Float64Array>> };

export interface DemoReply {
  readonly sum: number;
}

function sum(values: Float64Array): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i] as number;
  return total;
}

parentPort?.on('message', (request: DemoRequest) => {
  // Extract once: every access through a proxy costs a trap, so hot loops use the real array.
  const data = request.mode === 'value' ? request.data : extract(decodeProxies(request.data));
  parentPort?.postMessage({ sum: sum(data) } satisfies DemoReply);
});
