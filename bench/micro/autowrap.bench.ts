/**
 * Auto-wrapping must never make a program slower or leak (issue 14). Compiles
 * one small program twice, with plain tsc and with the transformer (through
 * ts-patch's programmatic API: `require('ts-patch/compiler')`, never a
 * `ts-patch install` into shared node_modules), runs both builds in turns and
 * reports, side by side:
 * - a local-only callee with a hot loop (`mean`), and one touching one element
 *   (`first`): per-call time ratio (goal <= 1.05x) and RSS (goal within 10%);
 * - a callee that submits its 1 MB argument to a piscina executor (by value in
 *   the plain build, auto-wrapped into a shared-memory store in the other):
 *   per-call time, puts per distinct object (goal <= 1), objects left once the
 *   tasks settled (goal 0);
 * - 1,000 sends of one object at once: puts (goal 1) and objects left (goal 0);
 *   and 1,000 in a row with `reuseAcrossTasks` (goal: 1 put);
 * - the submitting callee on BullMQ (a worker process of the package's CLI, a
 *   throwaway redis-server; the auto-wrapped build puts its inputs in Redis):
 *   per-call time (goal: auto-wrapped at least as fast as by value at 1 MB).
 *
 *   npm run bench:autowrap            (builds first)
 *   node dist/bench/micro/autowrap.bench.js [--package <dir of an installed ts-proxystore>] [--rounds N] [--without-bullmq]
 *
 * Figures taken on a loaded machine are noisy: the ratios are medians of
 * rounds that alternate between the builds, so drift hits both alike.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import type * as ts from 'typescript';
import { startRedisServer, type RedisServer } from 'ts-proxystore/testing';
import { formatRatio, median } from '../timing.js';

const STORE = 'autowrap-bench';

/** The user's own functions, as in the issue: two that only read, one that submits. */
const KERNELS = `import type { Executor, ProxyOr } from 'ts-proxystore';
import type { tasks } from './tasks.js';

export function mean(data: ProxyOr<Float64Array>): number {
  let s = 0;
  for (let i = 0; i < data.length; i++) s += data[i]!;
  return s / data.length;
}

export function first(data: ProxyOr<Float64Array>): number {
  return data[0]!;
}

export function submitSum(executor: Executor<typeof tasks>, data: ProxyOr<Float64Array>): Promise<number> {
  return executor.submit('sum', data);
}
`;

const TASKS = `import { defineTasks } from 'ts-proxystore/executors/piscina';

export const tasks = {
  sum: (data: Float64Array): number => {
    let s = 0;
    for (let i = 0; i < data.length; i += 1024) s += data[i]!;
    return s;
  },
};

export default defineTasks(tasks);
`;

const MAIN = `import { Piscina } from 'piscina';
import { SharedMemoryConnector, Store, configureAutoProxy, flushPending, type Connector, type Executor, type Key } from 'ts-proxystore';
import { RedisConnector } from 'ts-proxystore/connectors/redis';
import { BullMQExecutor } from 'ts-proxystore/executors/bullmq';
import { PiscinaExecutor } from 'ts-proxystore/executors/piscina';
import { first, mean, submitSum } from './kernels.js';
import type { tasks } from './tasks.js';

const gc = (globalThis as { gc?: () => void }).gc as () => void;
const rss = (): number => {
  gc();
  return process.memoryUsage().rss;
};

// What a store holds, counted at its connector: writes started, objects not yet evicted.
let puts = 0;
const live = new Set<string>();
function counted<C extends Connector>(connector: C): C {
  const startPut = connector.startPut!.bind(connector);
  connector.startPut = (data: Uint8Array) => {
    const started = startPut(data);
    puts++;
    live.add(JSON.stringify(started.key));
    return started;
  };
  const evict = connector.evict.bind(connector);
  connector.evict = async (key: Key) => {
    await evict(key);
    live.delete(JSON.stringify(key));
  };
  return connector;
}
const store = new Store('${STORE}', counted(new SharedMemoryConnector()), { register: true });

/** Sequential submits of distinct 1 MB inputs: median ms per call, puts, objects left once the tasks settled. */
async function submits(executor: Executor<typeof tasks>, inputs: readonly Float64Array[]) {
  for (const input of inputs.slice(0, 2)) await submitSum(executor, input); // warm-up: threads, connections
  await flushPending();
  const putsBefore = puts;
  const times: number[] = [];
  for (const input of inputs) {
    const t0 = performance.now();
    await submitSum(executor, input);
    times.push(performance.now() - t0);
  }
  await flushPending();
  return { perCall: times.sort((a, b) => a - b)[times.length >> 1]!, distinct: inputs.length, puts: puts - putsBefore, left: live.size };
}

/** Milliseconds per call: the median over rounds of \`calls\` calls. */
function perCall(calls: number, call: () => number): number {
  const rounds: number[] = [];
  let sink = 0;
  for (let round = 0; round < 7; round++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) sink += call();
    rounds.push((performance.now() - t0) / calls);
  }
  if (Number.isNaN(sink)) throw new Error('unreachable');
  return rounds.sort((a, b) => a - b)[3]!;
}

const big = Float64Array.from({ length: 100_000 }, (_, i) => i % 13); // 800 kB, as in the issue
const before = rss();
const local = { mean: perCall(300, () => mean(big)), first: perCall(2_000_000, () => first(big)) };
const localRss = rss();
const localPuts = puts;

const pool = new Piscina({ filename: new URL('./tasks.js', import.meta.url).href, minThreads: 2, maxThreads: 2, atomics: 'async' });
const executor = new PiscinaExecutor<typeof tasks>(pool);
const MB = 131_072; // elements of a 1 MB Float64Array
const inputs = Array.from({ length: 24 }, (_, k) => Float64Array.from({ length: MB }, (_, i) => (i + k) % 7));
const submit = await submits(executor, inputs);

const once = inputs[0]!;
const putsBeforeMany = puts;
const t0 = performance.now();
await Promise.all(Array.from({ length: 1000 }, () => submitSum(executor, once)));
const manyMs = performance.now() - t0;
await flushPending();
const many = { sends: 1000, ms: manyMs, puts: puts - putsBeforeMany, left: live.size };

// The same object submitted 1,000 times in a row: each task has settled before the next send.
configureAutoProxy({ reuseAcrossTasks: true });
const putsBeforeLoop = puts;
const t1 = performance.now();
for (let send = 0; send < 1000; send++) await submitSum(executor, once);
const loopMs = performance.now() - t1;
await flushPending();
const loop = { sends: 1000, ms: loopMs, puts: puts - putsBeforeLoop, left: live.size };
configureAutoProxy({});

await executor.shutdown();
await pool.destroy();
await store.close({ clear: true });
// Closing with clear emptied the store, kept copies included.
live.clear();

// BullMQ, with a worker process on the same Redis, which also holds the auto-wrapped inputs.
const port = Number(process.env.AUTOWRAP_REDIS_PORT);
let bullmq;
if (port > 0) {
  // One prefix for every run: the worker keeps the store of the first caller that named it, and its connector reads only keys under its prefix.
  const redisStore = new Store('${STORE}-redis', counted(new RedisConnector({ port, prefix: 'autowrap-bench:' })), { register: true });
  configureAutoProxy({ store: redisStore });
  const queue = new BullMQExecutor<typeof tasks>(process.env.AUTOWRAP_QUEUE!, { connection: { host: '127.0.0.1', port } });
  bullmq = await submits(queue, inputs.slice(0, 12));
  await queue.shutdown();
  await redisStore.close({ clear: true });
}
console.log(JSON.stringify({ local, localPuts, rss: { before, local: localRss }, submit, many, loop, bullmq }));
`;

interface Run {
  readonly local: { mean: number; first: number };
  readonly localPuts: number;
  readonly rss: { before: number; local: number };
  readonly submit: { perCall: number; distinct: number; puts: number; left: number };
  readonly many: { sends: number; ms: number; puts: number; left: number };
  readonly loop: Run['many'];
  readonly bullmq?: Run['submit'];
}

function repoRoot(): string {
  for (let dir = import.meta.dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'node_modules/ts-patch'))) return dir;
    if (path.dirname(dir) === dir) throw new Error('run from within the ts-proxystore repository (node_modules/ts-patch not found)');
  }
}

const { values } = parseArgs({ options: { package: { type: 'string' }, rounds: { type: 'string', default: '3' }, 'without-bullmq': { type: 'boolean', default: false } } });
const root = repoRoot();
const packageDir = path.resolve(values.package ?? root);
const rounds = Number(values.rounds);

function generate(dir: string): void {
  fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(packageDir, path.join(dir, 'node_modules/ts-proxystore'));
  for (const dependency of ['@types', 'piscina', 'bullmq', 'ioredis']) fs.symlinkSync(path.join(root, 'node_modules', dependency), path.join(dir, 'node_modules', dependency));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ private: true, type: 'module' }));
  const compilerOptions = { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, rootDir: 'src', types: ['node'], skipLibCheck: true };
  const plugins = [{ transform: 'ts-proxystore/transformer', threshold: 100_000, store: STORE }];
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...compilerOptions, plugins }, include: ['src'] }));
  fs.writeFileSync(path.join(dir, 'src/kernels.ts'), KERNELS);
  fs.writeFileSync(path.join(dir, 'src/tasks.ts'), TASKS);
  fs.writeFileSync(path.join(dir, 'src/main.ts'), MAIN);
}

/** Emits the project into `outDir` with `typescript` (plain, or ts-patch's patched one, which applies the plugin); returns the JS files. */
function emit(typescript: typeof ts, dir: string, outDir: string): Map<string, string> {
  const parsed = typescript.getParsedCommandLineOfConfigFile(path.join(dir, 'tsconfig.json'), {}, {
    ...typescript.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(typescript.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (parsed === undefined) throw new Error('tsconfig.json unreadable');
  const program = typescript.createProgram({ rootNames: parsed.fileNames, options: { ...parsed.options, outDir: path.join(dir, outDir) } });
  const js = new Map<string, string>();
  const result = program.emit(undefined, (fileName, text) => {
    fs.mkdirSync(path.dirname(fileName), { recursive: true });
    fs.writeFileSync(fileName, text);
    js.set(path.basename(fileName), text);
  });
  const problems = [...typescript.getPreEmitDiagnostics(program), ...result.diagnostics];
  if (problems.length > 0) throw new Error(typescript.formatDiagnostics(problems, { ...typescript.sys, getCanonicalFileName: (f) => f, getNewLine: () => '\n' }));
  return js;
}

const exec = promisify(execFile);

async function runBuild(dir: string, outDir: string, env: Record<string, string>): Promise<Run> {
  const { stdout } = await exec(process.execPath, ['--expose-gc', path.join(dir, outDir, 'main.js')], { cwd: dir, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout) as Run;
}

/** A BullMQ worker process (the package's CLI) for the program's tasks; resolves once it takes jobs. */
async function startWorker(dir: string, queue: string, port: number): Promise<ChildProcess> {
  const cli = path.join(packageDir, 'dist/runtime/executors/bullmq/worker-cli.js');
  const worker = spawn(process.execPath, [cli, '--queue', queue, '--tasks', path.join(dir, 'out-plain/tasks.js'), '--redis', `redis://127.0.0.1:${port}`], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await Promise.race([once(worker.stdout as NodeJS.ReadableStream, 'data'), once(worker, 'exit')])) as [unknown];
  if (!String(line).includes('ready')) throw new Error(`the BullMQ worker did not start: ${String(line)}`);
  return worker;
}

const ms = (x: number): string => (x >= 0.1 ? `${x.toFixed(3)} ms` : x >= 1e-4 ? `${(x * 1000).toFixed(2)} µs` : `${(x * 1e6).toFixed(2)} ns`);
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
const goal = (ok: boolean): string => (ok ? 'ok' : 'over goal');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autowrap-bench-'));
let redis: RedisServer | undefined;
let worker: ChildProcess | undefined;
try {
  generate(dir);
  const require = createRequire(import.meta.url);
  const plainTs = require(path.join(root, 'node_modules/typescript')) as typeof ts;
  const patchedTs = require(path.join(root, 'node_modules/ts-patch/compiler')) as typeof ts;
  const plainJs = emit(plainTs, dir, 'out-plain');
  const transformedJs = emit(patchedTs, dir, 'out-transformed');
  const wrapped = (js: Map<string, string>): number => [...js.values()].reduce((n, text) => n + (text.match(/\.autoProxy(Each)?\(/g)?.length ?? 0), 0);
  const sameKernels = plainJs.get('kernels.js') === transformedJs.get('kernels.js') && plainJs.get('tasks.js') === transformedJs.get('tasks.js');

  const env: Record<string, string> = {};
  if (values['without-bullmq'] !== true) {
    redis = await startRedisServer();
    env.AUTOWRAP_REDIS_PORT = String(redis.port);
    env.AUTOWRAP_QUEUE = `autowrap-bench-${process.pid}`;
    worker = await startWorker(dir, env.AUTOWRAP_QUEUE, redis.port);
  }
  const plain: Run[] = [];
  const transformed: Run[] = [];
  for (let round = 0; round < rounds; round++) {
    // Alternating, so that a change in the machine's load hits both builds.
    if (round % 2 === 0) {
      plain.push(await runBuild(dir, 'out-plain', env));
      transformed.push(await runBuild(dir, 'out-transformed', env));
    } else {
      transformed.push(await runBuild(dir, 'out-transformed', env));
      plain.push(await runBuild(dir, 'out-plain', env));
    }
  }
  const med = (runs: Run[], pick: (r: Run) => number): number => median(runs.map(pick));
  const last = transformed[transformed.length - 1] as Run;

  console.log(`ts-proxystore auto-wrapping, plain tsc build vs tspc + transformer (ts-patch programmatic API), median of ${rounds} runs of each`);
  console.log(`wrapped call sites: ${wrapped(transformedJs)} (the submitSum calls); kernels.js and tasks.js identical to plain tsc: ${String(sameKernels)}`);
  console.log('the local-only calls are the same bytes in both builds: their ratio shows the machine\'s noise (per-run spread in brackets)\n');
  console.log('case                                   plain          transformed    ratio');
  for (const [name, pick] of [
    ['local-only, hot loop: mean(800 kB)', (r: Run) => r.local.mean],
    ['local-only, one element: first(800 kB)', (r: Run) => r.local.first],
  ] as const) {
    const [p, t] = [med(plain, pick), med(transformed, pick)];
    const perRun = transformed.map((run, i) => pick(run) / pick(plain[i] as Run));
    const spread = `[${Math.min(...perRun).toFixed(2)}-${Math.max(...perRun).toFixed(2)}]`;
    console.log(`${name.padEnd(38)} ${ms(p).padEnd(14)} ${ms(t).padEnd(14)} ${formatRatio(t / p, 1.05)} ${spread} (goal <= 1.05x)`);
  }
  const [rssPlain, rssTransformed] = [med(plain, (r) => r.rss.local), med(transformed, (r) => r.rss.local)];
  const rssChange = rssTransformed / rssPlain - 1;
  console.log(`${'RSS after the local-only calls'.padEnd(38)} ${mb(rssPlain).padEnd(14)} ${mb(rssTransformed).padEnd(14)} ${(rssChange * 100).toFixed(1)}% ${goal(Math.abs(rssChange) <= 0.1)} (goal within 10%); puts: ${last.localPuts}`);
  const [subPlain, subTransformed] = [med(plain, (r) => r.submit.perCall), med(transformed, (r) => r.submit.perCall)];
  console.log(`${'submit 1 MB to piscina (by value | auto)'.padEnd(38)} ${ms(subPlain).padEnd(14)} ${ms(subTransformed).padEnd(14)} ${(subTransformed / subPlain).toFixed(2)}x`);
  const { submit, many } = last;
  console.log(`  ${submit.distinct} distinct objects: ${submit.puts} puts, ${(submit.puts / submit.distinct).toFixed(2)} per object ${goal(submit.puts <= submit.distinct)} (goal <= 1); objects left after the tasks settled: ${submit.left} ${goal(submit.left === 0)} (goal 0)`);
  const [manyPlain, manyTransformed] = [med(plain, (r) => r.many.ms), med(transformed, (r) => r.many.ms)];
  console.log(`${'1,000 sends of one 1 MB object at once'.padEnd(38)} ${ms(manyPlain).padEnd(14)} ${ms(manyTransformed).padEnd(14)} ${(manyTransformed / manyPlain).toFixed(2)}x`);
  console.log(`  puts: ${many.puts} ${goal(many.puts === 1)} (goal 1); objects left after the tasks settled: ${many.left} ${goal(many.left === 0)} (goal 0)`);
  const [loopPlain, loopTransformed] = [med(plain, (r) => r.loop.ms), med(transformed, (r) => r.loop.ms)];
  console.log(`${'1,000 sends in a row, reuseAcrossTasks'.padEnd(38)} ${ms(loopPlain).padEnd(14)} ${ms(loopTransformed).padEnd(14)} ${(loopTransformed / loopPlain).toFixed(2)}x`);
  console.log(`  puts: ${last.loop.puts} ${goal(last.loop.puts === 1)} (goal 1); kept while the object lives: ${last.loop.left}`);
  const queued = last.bullmq;
  if (queued !== undefined) {
    const [qPlain, qTransformed] = [med(plain, (r) => r.bullmq?.perCall ?? NaN), med(transformed, (r) => r.bullmq?.perCall ?? NaN)];
    console.log(`${'submit 1 MB to BullMQ (by value | auto)'.padEnd(38)} ${ms(qPlain).padEnd(14)} ${ms(qTransformed).padEnd(14)} ${formatRatio(qTransformed / qPlain, 1)} (goal <= 1x)`);
    console.log(`  ${queued.distinct} distinct objects: ${queued.puts} puts ${goal(queued.puts <= queued.distinct)} (goal <= 1 each); objects left after the tasks settled: ${queued.left} ${goal(queued.left === 0)} (goal 0)`);
  }
} finally {
  worker?.kill('SIGTERM');
  if (worker !== undefined && worker.exitCode === null) await once(worker, 'exit');
  await redis?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
