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
 * counted over 1,000 warm-up calls and then over `calls` more: the
 * difference, divided by `calls`, is the figure. TurboFan is still optimizing
 * the library's functions over those calls (on this very thread), and what it
 * spends depends on what it decides to inline, which a small change of code
 * elsewhere moves by 10%; so its share (everything under V8's
 * `Compiler::CompileOptimized`, told apart by `callgrind_annotate`) is
 * reported on its own, and the rest, the calls' own work, is the figure to
 * compare builds by.
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { PiscinaExecutor } from 'ts-proxystore/executors/piscina';
import { SharedMemoryConnector, Store, StoreExecutor } from 'ts-proxystore';
import { byHand, byProxy, byValue, payload, type Case } from '../paper/cases.js';
import type { BenchTasks } from '../paper/engines.js';
import handler from '../paper/workers/tasks.js';

const exec = promisify(execFile);
const WARMUP_CALLS = 1000;
/** What optimizing costs: everything V8's TurboFan entry points run, OSR's included. */
const TURBOFAN_ENTRIES = ['v8::internal::Compiler::CompileOptimized(', 'v8::internal::Compiler::CompileOptimizedOSR('];
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
    const perCall = (total.all - warm.all) / calls;
    const compiling = (total.compiling - warm.compiling) / calls;
    const running = perCall - compiling;
    if (way === 'value') byValue = running;
    const thousands = (n: number): string => (n / 1e3).toFixed(0);
    rows.push(`| ${way} | ${thousands(perCall)} | ${thousands(compiling)} | ${thousands(running)} | ${byValue === undefined ? '' : `${(running / byValue).toFixed(2)}x`} |`);
  }
  process.stdout.write(
    [
      `Instructions per round trip of a no-op task of ${bytes} bytes in and out, both halves in one thread (callgrind, ${calls} calls after ${WARMUP_CALLS}), thousands per call:`,
      '',
      '| way | in all | TurboFan compiling | the calls themselves | themselves ÷ by value |',
      '|---|---|---|---|---|',
      ...rows,
      '',
    ].join('\n'),
  );
}

/** Instructions of a whole run of `n` calls of `way`, in all and under TurboFan, as callgrind counts them. */
async function count(way: Way, n: number): Promise<{ all: number; compiling: number }> {
  const script = fileURLToPath(import.meta.url);
  const out = path.join(os.tmpdir(), `per-call-instructions-${process.pid}-${way}-${n}.callgrind`);
  const args = ['--tool=callgrind', `--callgrind-out-file=${out}`, '--smc-check=all-non-file', process.execPath, '--single-threaded', script, '--child', way, '--bytes', String(bytes), '--calls', String(n)];
  try {
    await exec('valgrind', args).catch((error: { message: string; stderr?: string }) => {
      throw new Error(`valgrind on ${way} × ${n} failed (is it installed?): ${error.message}\n${String(error.stderr ?? '').slice(-2000)}`);
    });
    // Inclusive costs of every function, one per line ("1,234 (5.6%)  ???:name(args) [object]"), and the program's total.
    const { stdout } = await exec('callgrind_annotate', ['--inclusive=yes', '--threshold=100', out], { maxBuffer: 256 << 20 });
    const lines = stdout.split('\n');
    const instructions = (line: string | undefined): number => Number(/^\s*([\d,]+)/.exec(line ?? '')?.[1]?.replaceAll(',', '') ?? NaN);
    const entries = lines.filter((line) => TURBOFAN_ENTRIES.some((entry) => line.includes(`:${entry}`)));
    // A thousand calls always get something optimized: none found means callgrind could not name node's functions.
    if (entries.length === 0) throw new Error(`callgrind found no ${TURBOFAN_ENTRIES[0]}…) in ${process.execPath}: a node binary without symbols cannot tell compiling apart`);
    return { all: instructions(lines.find((line) => line.includes('PROGRAM TOTALS'))), compiling: entries.reduce((sum, line) => sum + instructions(line), 0) };
  } finally {
    rmSync(out, { force: true });
  }
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
