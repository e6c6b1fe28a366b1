/**
 * What one small call costs in CPU, by value, by proxy and by hand, on the
 * main bench's piscina engine (1 worker, shared-memory connector, the same
 * three cases). Run after `npm run build`:
 *
 *   node dist/bench/micro/per-call.bench.js [--calls 2000] [--rounds 5] [--sizes 1000,100000]
 *
 * Wall-clock round trips of a few hundred microseconds mostly measure who
 * else has the CPU on a loaded machine; CPU time does not count the time the
 * threads wait for a core. `process.cpuUsage()` covers every thread of the
 * process (the caller and the worker), so each figure is the whole call's
 * CPU. The cases alternate by round, so drift hits them alike, and the
 * medians of the rounds are reported with each way's excess over by value.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { byHand, byProxy, byValue, payload, type Case } from '../paper/cases.js';
import { startEngine } from '../paper/engines.js';
import { formatBytes } from '../paper/stats.js';
import { median } from '../timing.js';

const { values } = parseArgs({
  options: { calls: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '5' }, sizes: { type: 'string', default: '1000,100000' } },
});
const calls = Number(values.calls);
const rounds = Number(values.rounds);
const sizes = values.sizes.split(',').map(Number);

/** CPU microseconds per call of `run`, over `n` calls in a row. */
async function cpuPerCall(run: Case, n: number): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) await run();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

const load = os.loadavg()[0] ?? 0;
await using engine = await startEngine({ name: 'piscina', workers: 1, connectors: ['shared-memory'] });
const lane = engine.lanes[0];
if (lane === undefined) throw new Error('no shared-memory lane');
const rows: string[] = [];
for (const bytes of sizes) {
  const input = payload(bytes);
  const ways: Record<'value' | 'proxy' | 'hand', Case> = { value: byValue(engine, input, bytes), proxy: byProxy(lane, input, bytes), hand: byHand(engine, lane, input, bytes) };
  const names = Object.keys(ways) as (keyof typeof ways)[];
  // Warm: the JIT, the pool's slots, the stores built in the worker.
  for (const name of names) await cpuPerCall(ways[name], Math.min(calls, 500));
  const samples: Record<keyof typeof ways, number[]> = { value: [], proxy: [], hand: [] };
  for (let round = 0; round < rounds; round++) {
    for (let step = 0; step < names.length; step++) {
      const name = names[(round + step) % names.length] as keyof typeof ways;
      samples[name].push(await cpuPerCall(ways[name], calls));
    }
  }
  const [value, proxy, hand] = [median(samples.value), median(samples.proxy), median(samples.hand)];
  const excess = (way: number): string => `${way.toFixed(0)} (${way >= value ? '+' : '−'}${Math.abs(way - value).toFixed(0)})`;
  rows.push(`| ${formatBytes(bytes)} | ${value.toFixed(0)} | ${excess(proxy)} | ${excess(hand)} | ${(proxy / value).toFixed(2)}x | ${(proxy / hand).toFixed(2)}x |`);
}
process.stdout.write(
  [
    `CPU per round trip, piscina (1 worker), shared memory, µs (median of ${rounds} rounds of ${calls} calls); load average ${load.toFixed(1)} → ${(os.loadavg()[0] ?? 0).toFixed(1)}`,
    '',
    '| payload | by value | by proxy (excess) | by hand (excess) | proxy ÷ value | proxy ÷ hand |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n'),
);
