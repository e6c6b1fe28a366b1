/**
 * Instructions one call executes, by value, by hand and by proxy, counted by
 * Valgrind's callgrind: the one measure of per-call work that a shared, noisy
 * machine does not move (CPU time drifts by a third from run to run). Run
 * after `npm run build`, with `valgrind` installed (Debian: `apt-get install
 * valgrind`):
 *
 *   node dist/bench/micro/per-call-instructions.js [--bytes 1000] [--warm-up 5000] [--calls 4000] [--ways value,hand,proxy]
 *
 * The bench's own cases (cases.ts) and engine run as in `npm run bench`: a
 * piscina pool of one worker thread and a shared-memory store, so the caller
 * and the worker are real threads, their messages real structured clones
 * through piscina's port. Callgrind counts each thread apart
 * (`--separate-threads`), and the caller and the worker are reported
 * apart. Counting both halves of a call in one thread, as this tool did
 * first, understated what by proxy adds on the caller by two thirds: the
 * two halves then shared one heap, one set of shared-memory slabs and one
 * set of inline caches. V8 runs single-threaded (`--single-threaded`), so
 * that its compiler and collector threads count the same in every run. Each
 * way is counted over `warm-up` calls and then over `calls` more: the
 * difference, divided by `calls`, is the figure. TurboFan, on each counted
 * thread, is still optimizing now and then, and what it spends depends on
 * what it decides to inline, which a small change elsewhere moves; its share
 * (everything under V8's `Compiler::CompileOptimized`, told apart by
 * `callgrind_annotate`) is left out, and the rest, the calls' own work, is the
 * figure to compare builds by. What the collector does in the window varies
 * by a few thousand instructions per call from run to run.
 */
import { execFile } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { byHand, byProxy, byValue, payload, type Case } from '../paper/cases.js';
import { startEngine } from '../paper/engines.js';

const exec = promisify(execFile);
/** What optimizing costs: everything V8's TurboFan entry points run, OSR's included. */
const TURBOFAN_ENTRIES = ['v8::internal::Compiler::CompileOptimized(', 'v8::internal::Compiler::CompileOptimizedOSR('];
const WAYS = ['value', 'hand', 'proxy'] as const;
type Way = (typeof WAYS)[number];

const { values } = parseArgs({
  options: {
    bytes: { type: 'string', default: '1000' },
    'warm-up': { type: 'string', default: '5000' },
    calls: { type: 'string', default: '4000' },
    ways: { type: 'string', default: WAYS.join(',') },
    // Internal: run `calls` calls of one way in this process (under callgrind), and exit.
    child: { type: 'string' },
  },
});
const bytes = Number(values.bytes);
const warmUp = Number(values['warm-up']);
const calls = Number(values.calls);

if (values.child !== undefined) {
  await runCalls(values.child as Way, bytes, calls);
} else {
  const ways = values.ways.split(',') as Way[];
  const rows: string[] = [];
  const thousands = (n: number): string => (n / 1e3).toFixed(0);
  for (const way of ways) {
    // The two counts of a way run side by side: each is a process of its own.
    const [warm, total] = await Promise.all([count(way, warmUp), count(way, warmUp + calls)]);
    const perCall = (thread: 'caller' | 'worker'): number => (total[thread].all - total[thread].compiling - (warm[thread].all - warm[thread].compiling)) / calls;
    const compiling = (total.caller.compiling + total.worker.compiling - warm.caller.compiling - warm.worker.compiling) / calls;
    rows.push(`| ${way} | ${thousands(perCall('caller'))} | ${thousands(perCall('worker'))} | ${thousands(perCall('caller') + perCall('worker'))} | ${thousands(compiling)} |`);
  }
  process.stdout.write(
    [
      `Instructions per round trip of a no-op task of ${bytes} bytes in and out, on a caller and one piscina worker thread (callgrind, ${calls} calls after ${warmUp}), thousands per call, TurboFan's compiling apart:`,
      '',
      '| way | caller | worker | both | TurboFan compiling (both) |',
      '|---|---|---|---|---|',
      ...rows,
      '',
    ].join('\n'),
  );
}

interface ThreadCount {
  readonly all: number;
  readonly compiling: number;
}

/** Instructions of a whole run of `n` calls of `way` on the caller's thread and on the worker's, in all and under TurboFan, as callgrind counts them. */
async function count(way: Way, n: number): Promise<{ caller: ThreadCount; worker: ThreadCount }> {
  const script = fileURLToPath(import.meta.url);
  const dir = os.tmpdir();
  const prefix = `per-call-instructions-${process.pid}-${way}-${n}.callgrind`;
  const out = path.join(dir, prefix);
  const args = ['--tool=callgrind', '--separate-threads=yes', `--callgrind-out-file=${out}`, '--smc-check=all-non-file', process.execPath, '--single-threaded', script, '--child', way, '--bytes', String(bytes), '--calls', String(n)];
  try {
    await exec('valgrind', args, { maxBuffer: 64 << 20 }).catch((error: { message: string; stderr?: string }) => {
      throw new Error(`valgrind on ${way} × ${n} failed (is it installed?): ${error.message}\n${String(error.stderr ?? '').slice(-2000)}`);
    });
    // One file per thread, `<out>-01` the main thread; the worker is the other thread that ran the most.
    const threads = await Promise.all(
      readdirSync(dir)
        .filter((name) => name.startsWith(`${prefix}-`))
        .map(async (name) => ({ name, ...(await threadCount(path.join(dir, name))) })),
    );
    const caller = threads.find((t) => t.name.endsWith('-01'));
    const worker = threads.filter((t) => t !== caller).sort((a, b) => b.all - a.all)[0];
    if (caller === undefined || worker === undefined) throw new Error(`callgrind wrote no file for the caller's or the worker's thread (${threads.map((t) => t.name).join(', ')})`);
    return { caller, worker };
  } finally {
    for (const name of readdirSync(dir)) if (name.startsWith(prefix)) rmSync(path.join(dir, name), { force: true });
  }
}

async function threadCount(file: string): Promise<ThreadCount> {
  // Inclusive costs of every function, one per line ("1,234 (5.6%)  ???:name(args) [object]"), and the thread's total.
  const { stdout } = await exec('callgrind_annotate', ['--inclusive=yes', '--threshold=100', file], { maxBuffer: 256 << 20 });
  const lines = stdout.split('\n');
  const instructions = (line: string | undefined): number => Number(/^\s*([\d,]+)/.exec(line ?? '')?.[1]?.replaceAll(',', '') ?? NaN);
  const entries = lines.filter((line) => TURBOFAN_ENTRIES.some((entry) => line.includes(`:${entry}`)));
  return { all: instructions(lines.find((line) => line.includes('PROGRAM TOTALS'))), compiling: entries.reduce((sum, line) => sum + instructions(line), 0) };
}

/** `n` round trips of `way` on the bench's piscina engine: one worker thread, a shared-memory store. */
async function runCalls(way: Way, size: number, n: number): Promise<void> {
  await using engine = await startEngine({ name: 'piscina', workers: 1, connectors: ['shared-memory'] });
  const lane = engine.lanes[0];
  if (lane === undefined) throw new Error('the engine opened no shared-memory lane');
  const input = payload(size);
  const cases: Record<Way, Case> = { value: byValue(engine, input, size), hand: byHand(engine, lane, input, size), proxy: byProxy(lane, input, size) };
  for (let i = 0; i < n; i++) await cases[way]();
}
