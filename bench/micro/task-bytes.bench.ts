/**
 * What counting a call's bytes costs the worker (`estimateBytes`, run on the
 * arguments and on the result of every call), beside what sending the same
 * value by value costs at the least: one structured clone of it. Side by side
 * in one run, per shape of argument (`node dist/bench/micro/task-bytes.bench.js`).
 */
import { estimateBytes } from '../../runtime/store/size.js';
import { median, timeMany } from '../timing.js';

const BATCH = 200;
const REPS = 25;

const shapes: Record<string, unknown[]> = {
  'a 1 MB Float64Array and a number': [new Float64Array(125_000), 2],
  'a 1 kB record': [{ id: 1, name: 'x'.repeat(900), tags: ['a', 'b'] }],
  '10,000 rows of { id, name }': [Array.from({ length: 10_000 }, (_, i) => ({ id: i, name: `row-${i}` }))],
  '300 × 300 nested number arrays': [Array.from({ length: 300 }, () => Array.from({ length: 300 }, (_, i) => i))],
};

/** timeMany times promises; the work here is synchronous. */
const batch = (work: () => unknown) => (): Promise<void> => {
  for (let i = 0; i < BATCH; i++) work();
  return Promise.resolve();
};

const rows: Record<string, Record<string, string>> = {};
for (const [name, args] of Object.entries(shapes)) {
  const [counted = [], cloned = []] = await timeMany([batch(() => estimateBytes(args)), batch(() => structuredClone(args))], REPS);
  const perCall = (samples: number[]): number => (median(samples) / BATCH) * 1000;
  rows[name] = {
    'count µs': perCall(counted).toFixed(2),
    'clone µs': perCall(cloned).toFixed(2),
    'count ÷ clone': (perCall(counted) / perCall(cloned)).toFixed(3),
    'bytes counted': String(estimateBytes(args)),
  };
}
console.log(`Counting a call's bytes against one structured clone of the same arguments, µs per call (median of batches of ${BATCH})`);
console.table(rows);
