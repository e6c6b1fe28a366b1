/**
 * Round trip of a Float64Array through the default serializer, next to the
 * alternatives a user would otherwise reach for. Run after `npm run build`:
 *
 *   node dist/bench/serialize.bench.js
 *
 * Goals: at least 2x faster than node:v8's round trip, within 3x of a plain copy.
 * The goal ratios use medians: on a shared machine the means carry GC pauses
 * and other processes' noise, which land on whichever task happens to run then.
 */
import { deserialize as v8Deserialize, serialize as v8Serialize } from 'node:v8';
import { Bench } from 'tinybench';
import { deserialize, serialize } from '../runtime/serialize.js';

const MiB = 1024 * 1024;
const OURS = 'ts-proxystore serialize + deserialize';
const V8 = 'v8.serialize + v8.deserialize';
const COPY = 'plain copy (Float64Array#slice)';

interface Case {
  readonly sizeBytes: number;
  readonly time: number;
}

const CASES: readonly Case[] = [
  { sizeBytes: 1 * MiB, time: 2000 },
  { sizeBytes: 64 * MiB, time: 3000 },
];

interface Row {
  readonly size: string;
  readonly method: string;
  readonly meanMs: number;
  readonly medianMs: number;
  readonly samples: number;
}

function sampleData(sizeBytes: number): Float64Array {
  return Float64Array.from({ length: sizeBytes / Float64Array.BYTES_PER_ELEMENT }, (_, i) => i * 0.5 - 1e6);
}

/** Each task returns its result, so the engine cannot drop the work as unused. */
function methods(source: Float64Array): Record<string, () => unknown> {
  const encoded = serialize(source);
  return {
    [OURS]: () => deserialize(serialize(source)),
    [V8]: (): unknown => v8Deserialize(v8Serialize(source)),
    structuredClone: () => structuredClone(source),
    [COPY]: () => source.slice(),
    'ts-proxystore deserialize only (zero copy)': () => deserialize(encoded),
  };
}

function checkRoundTrip(source: Float64Array): void {
  const decoded = deserialize(serialize(source));
  const last = source.length - 1;
  if (!(decoded instanceof Float64Array) || decoded.length !== source.length || decoded[last] !== source[last]) {
    throw new Error('the round trip did not reproduce the source array');
  }
}

/** Runs every task a few times first, so JIT and allocator warm-up are not billed to whichever task runs first. */
function warmUp(tasks: Record<string, () => unknown>): void {
  for (const run of Object.values(tasks)) {
    for (let i = 0; i < 5; i++) {
      run();
    }
  }
}

async function measure({ sizeBytes, time }: Case): Promise<Row[]> {
  const source = sampleData(sizeBytes);
  checkRoundTrip(source);
  const tasks = methods(source);
  warmUp(tasks);
  const bench = new Bench({ time, iterations: 20, throws: true });
  for (const [name, run] of Object.entries(tasks)) {
    bench.add(name, run);
  }
  await bench.run();
  return bench.tasks.map((task) => {
    const result = task.result;
    if (result.state !== 'completed') {
      throw new Error(`${task.name} did not complete: ${result.state}`);
    }
    return {
      size: `${sizeBytes / MiB} MiB`,
      method: task.name,
      meanMs: result.latency.mean,
      medianMs: result.latency.p50,
      samples: result.latency.samplesCount,
    };
  });
}

function medianOf(rows: readonly Row[], method: string): number {
  const row = rows.find((candidate) => candidate.method === method);
  if (row === undefined) {
    throw new Error(`no result for ${method}`);
  }
  return row.medianMs;
}

function report(sizeBytes: number, rows: readonly Row[]): void {
  const ours = medianOf(rows, OURS);
  console.table(
    rows.map((row) => ({
      size: row.size,
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
    `${rows[0]?.size}: ours is ${speedup.toFixed(2)}x faster than the v8 round trip (goal >= 2x: ${speedup >= 2 ? 'met' : 'NOT met'}); ` +
      `${overCopy.toFixed(2)}x a plain copy's time (goal <= 3x: ${overCopy <= 3 ? 'met' : 'NOT met'})\n`,
  );
}

console.log(`Node ${process.version}, ${process.platform}/${process.arch}. 'median / ours' above 1 means slower than ours.\n`);
for (const benchCase of CASES) {
  report(benchCase.sizeBytes, await measure(benchCase));
}