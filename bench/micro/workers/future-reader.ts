/**
 * The other process of the futures latency benchmark: reads one JSON line per
 * future (its proxy's descriptor) on stdin, waits for each value without
 * blocking, and prints the wall-clock time it arrived.
 */
import { createInterface } from 'node:readline';
import { proxyReviver, resolveAsync, type Proxy } from 'ts-proxystore';
import '../../../runtime/connectors/redis.js';

for await (const line of createInterface({ input: process.stdin })) {
  if (line === '') continue;
  const { p } = JSON.parse(line, proxyReviver()) as { p: Proxy<{ n: number }> };
  process.stdout.write('waiting\n');
  const value = await resolveAsync(p);
  process.stdout.write(`${JSON.stringify({ n: value.n, at: performance.timeOrigin + performance.now() })}\n`);
}
process.exit(0);
