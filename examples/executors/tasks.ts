// The worker module: a piscina pool loads it, and so does `ts-proxystore-worker --tasks` for BullMQ.
import { defineTasks } from 'ts-proxystore/executors';

export const tasks = {
  sum(values: Float64Array): number {
    let total = 0;
    for (const v of values) total += v;
    return total;
  },
  scale(values: Float64Array, by: number): Float64Array {
    return values.map((v) => v * by);
  },
};

export default defineTasks(tasks);
