/**
 * The other process of the futures latency benchmark: reads one JSON line per
 * future (its proxy's descriptor) on stdin, waits for each value without
 * blocking, and prints the wall-clock time it arrived. With argv[2] `poll`,
 * its connectors forget how to wait, so waits fall back to polls.
 */
import { createInterface } from 'node:readline';
import { getStore, proxyReviver, resolveAsync, type Proxy } from '../../../src/index.js';
import '../../../runtime/connectors/redis.js';
import { forgetWaiting } from './future-thread-reader.js';

const poll = process.argv[2] === 'poll';

for await (const line of createInterface({ input: process.stdin })) {
  if (line === '') continue;
  const { p } = JSON.parse(line, proxyReviver()) as { p: Proxy<{ n: number }> };
  if (poll) forgetWaiting(getStore(p)?.connector);
  process.stdout.write('waiting\n');
  const value = await resolveAsync(p);
  process.stdout.write(`${JSON.stringify({ n: value.n, at: performance.timeOrigin + performance.now() })}\n`);
}
process.exit(0);
