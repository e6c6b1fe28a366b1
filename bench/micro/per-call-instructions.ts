/**
 * Instructions one small call executes, by value, by hand and by proxy,
 * counted by Valgrind's callgrind: the one measure of per-call work that a
 * shared, noisy machine does not move (repeated runs agree within 0.5%,
 * where CPU time drifts by 30%). Run after `npm run build`, with `valgrind`
 * installed (Debian: `apt-get install valgrind`):
 *
 *   node dist/bench/micro/per-call-instructions.js [--bytes 1000] [--calls 2000] [--ways value,hand,proxy]
 *
 * Both halves of each call run in this one thread: the bench's own cases
 * (cases.ts) and task module, on a PiscinaExecutor whose pool hands the
 * structured clone of each call to the task handler and the clone of its
 * reply back, as piscina's message port would. What piscina and the thread
 * wake-ups cost is left out, alike for every way; what is left is the code
 * each way runs. V8 runs single-threaded (`--single-threaded`), so that its
 * compiler and collector threads count the same in every run. Each way is
 * counted over 1,000 warm-up calls (V8 compiles on this very thread now, so
 * the warm-up is long) and then over `calls` more: the difference, divided
 * by `calls`, is the figure.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PiscinaExecutor } from 'ts-proxystore/executors/piscina';
import { SharedMemoryConnector, Store, StoreExecutor } from 'ts-proxystore';
import { byHand, byProxy, byValue, payload, type Case } from '../paper/cases.js';
import type { BenchTasks } from '../paper/engines.js';
import handler from '../paper/workers/tasks.js';

const WARMUP_CALLS = 1000;
const WAYS = ['value', 'hand', 'proxy'] as const;
type Way = (typeof WAYS)[number];

const { values } = parseArgs({
  options: {
    bytes: { type: 'string', default: '1000' },
    calls: { type: 'string', default: '2000' },
    ways: { type: 'string', default: WAYS.join(',') },
    // Internal: run `calls` calls of one way in this process (under callgrind), and exit.
    child: { type: 'string' },
  },
});
const bytes = Number(values.bytes);
const calls = Number(values.calls);

if (values.child !== undefined) {
  await runCalls(values.child as Way, bytes, calls);
} else {
  const ways = values.ways.split(',') as Way[];
  const rows: string[] = [];
  let byValue: number | undefined;
  for (const way of ways) {
    // The two counts of a way run side by side: each is a process of its own.
    const [warm, total] = await Promise.all([count(way, WARMUP_CALLS), count(way, WARMUP_CALLS + calls)]);
    const perCall = (total - warm) / calls;
    if (way === 'value') byValue = perCall;
    rows.push(`| ${way} | ${(perCall / 1e3).toFixed(0)} | ${byValue === undefined ? '' : `${(perCall / byValue).toFixed(2)}x`} |`);
  }
  process.stdout.write(
    [
      `Instructions per round trip of a no-op task of ${bytes} bytes in and out, both halves in one thread (callgrind, ${calls} calls after ${WARMUP_CALLS}):`,
      '',
      '| way | thousand instructions per call | ÷ by value |',
      '|---|---|---|',
      ...rows,
      '',
    ].join('\n'),
  );
}

/** Instructions of a whole run of `n` calls of `way`, as callgrind counts them. */
async function count(way: Way, n: number): Promise<number> {
  const script = fileURLToPath(import.meta.url);
  const args = ['--tool=callgrind', '--callgrind-out-file=/dev/null', '--smc-check=all-non-file', process.execPath, '--single-threaded', script, '--child', way, '--bytes', String(bytes), '--calls', String(n)];
  const child = spawn('valgrind', args, { stdio: ['ignore', 'inherit', 'pipe'] });
  let log = '';
  child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', (error) => reject(new Error(`cannot run valgrind (is it installed?): ${error.message}`)));
    child.on('close', resolve);
  });
  const collected = /Collected : (\d+)/.exec(log)?.[1];
  if (code !== 0 || collected === undefined) throw new Error(`valgrind on ${way} × ${n} failed (exit ${String(code)}):\n${log.slice(-2000)}`);
  return Number(collected);
}

/** `n` round trips of `way`, both halves in this thread. */
async function runCalls(way: Way, size: number, n: number): Promise<void> {
  // What piscina's port does to a call and its reply: a structured clone each way.
  const pool = { run: async (call: unknown) => structuredClone(await handler(structuredClone(call) as never)), close: () => Promise.resolve() };
  const executor = new PiscinaExecutor<BenchTasks>(pool);
  const store = new Store(`per-call-instructions-${crypto.randomUUID()}`, new SharedMemoryConnector());
  const lane = { store, byProxy: new StoreExecutor(executor, { store, shouldProxy: 'always' }) };
  const engine = { byValue: executor };
  const input = payload(size);
  const cases: Record<Way, Case> = { value: byValue(engine, input, size), hand: byHand(engine, lane, input, size), proxy: byProxy(lane, input, size) };
  for (let i = 0; i < n; i++) await cases[way]();
  await lane.byProxy.shutdown();
  await store.close({ clear: true });
}
