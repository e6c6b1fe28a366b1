/**
 * Round trip of a Float64Array through the default serializer, next to the
 * alternatives a user would otherwise reach for. Run after `npm run build`:
 *
 *   node dist/bench/micro/serialize.bench.js
 *
 * Goals: at least 2x faster than node:v8's round trip, within 3x of a plain copy.
 *
 * Every method here allocates a fresh buffer per call, and whether that memory
 * page-faults depends on malloc's state, which depends on what ran just before
 * and on when GC last freed buffers. Run in one block per task, the first task
 * regularly paid 5x for this. So the tasks run in several rounds, each in a
 * rotated order, their samples are pooled, and the goals use medians.
 */
import { deserialize as v8Deserialize, serialize as v8Serialize } from 'node:v8';
import { Bench } from 'tinybench';
import { deserialize, serialize } from 'ts-proxystore';
import { median } from '../timing.js';

const MiB = 1024 * 1024;
const ROUNDS = 5;
const OURS = 'ts-proxystore serialize + deserialize';
const V8 = 'v8.serialize + v8.deserialize';
const COPY = 'plain copy (Float64Array#slice)';

interface Case {
  readonly sizeBytes: number;
  /** Time budget per task and round, in ms. */
  readonly time: number;
  /** Minimum samples per task and round. */
  readonly iterations: number;
}

const CASES: readonly Case[] = [
  { sizeBytes: 1 * MiB, time: 400, iterations: 50 },
  { sizeBytes: 64 * MiB, time: 600, iterations: 8 },
];

type Task = readonly [name: string, run: () => unknown];

interface Row {
  readonly method: string;
  readonly meanMs: number;
  readonly medianMs: number;
  readonly samples: number;
}

function sampleData(sizeBytes: number): Float64Array {
  return Float64Array.from({ length: sizeBytes / Float64Array.BYTES_PER_ELEMENT }, (_, i) => i * 0.5 - 1e6);
}

/** Each task returns its result, so the engine cannot drop the work as unused. */
function tasksFor(source: Float64Array): Task[] {
  const encoded = serialize(source);
  return [
    [OURS, () => deserialize(serialize(source))],
    [V8, (): unknown => v8Deserialize(v8Serialize(source))],
    ['structuredClone', () => structuredClone(source)],
    [COPY, () => source.slice()],
    ['ts-proxystore deserialize only (zero copy)', () => deserialize(encoded)],
  ];
}

function checkRoundTrip(source: Float64Array): void {
  const decoded = deserialize(serialize(source));
  const last = source.length - 1;
  if (!(decoded instanceof Float64Array) || decoded.length !== source.length || decoded[last] !== source[last]) {
    throw new Error('the round trip did not reproduce the source array');
  }
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const start = by % items.length;
  return [...items.slice(start), ...items.slice(0, start)];
}

async function runRound(tasks: readonly Task[], { time, iterations }: Case): Promise<Map<string, readonly number[]>> {
  const bench = new Bench({ time, iterations, retainSamples: true, throws: true });
  for (const [name, run] of tasks) {
    bench.add(name, run);
  }
  await bench.run();
  return new Map(
    bench.tasks.map((task) => {
      const result = task.result;
      if (result.state !== 'completed' || result.latency.samples === undefined) {
        throw new Error(`${task.name} did not complete: ${result.state}`);
      }
      return [task.name, result.latency.samples];
    }),
  );
}

function summarize(method: string, samples: number[]): Row {
  const sorted = samples.sort((a, b) => a - b);
  const mean = sorted.reduce((sum, sample) => sum + sample, 0) / sorted.length;
  return { method, meanMs: mean, medianMs: median(sorted), samples: sorted.length };
}

async function measure(benchCase: Case): Promise<Row[]> {
  const source = sampleData(benchCase.sizeBytes);
  checkRoundTrip(source);
  const tasks = tasksFor(source);
  const pooled = new Map<string, (readonly number[])[]>(tasks.map(([name]) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, samples] of await runRound(rotate(tasks, round), benchCase)) {
      pooled.get(name)?.push(samples);
    }
  }
  return [...pooled].map(([method, rounds]) => summarize(method, rounds.flat()));
}

function medianOf(rows: readonly Row[], method: string): number {
  const row = rows.find((candidate) => candidate.method === method);
  if (row === undefined) {
    throw new Error(`no result for ${method}`);
  }
  return row.medianMs;
}

function report(sizeBytes: number, rows: readonly Row[]): void {
  const size = `${sizeBytes / MiB} MiB`;
  const ours = medianOf(rows, OURS);
  console.table(
    rows.map((row) => ({
      size,
      method: row.method,
      'mean µs': (row.meanMs * 1000).toFixed(1),
      'median µs': (row.medianMs * 1000).toFixed(1),
      'MB/s (median)': Math.round(sizeBytes / 1e6 / (row.medianMs / 1000)),
      'median / ours': (row.medianMs / ours).toFixed(2),
      samples: row.samples,
    })),
  );
  const speedup = medianOf(rows, V8) / ours;
  const overCopy = ours / medianOf(rows, COPY);
  console.log(
    `${size}: v8's round trip takes ${speedup.toFixed(2)}x our time (goal >= 2x: ${speedup >= 2 ? 'met' : 'NOT met'}); ` +
      `we take ${overCopy.toFixed(2)}x a plain copy's time (goal <= 3x: ${overCopy <= 3 ? 'met' : 'NOT met'})\n`,
  );
}

console.log(`Node ${process.version}, ${process.platform}/${process.arch}; ${ROUNDS} rounds in rotated order. 'median / ours' above 1 means slower than ours.\n`);
for (const benchCase of CASES) {
  report(benchCase.sizeBytes, await measure(benchCase));
}
