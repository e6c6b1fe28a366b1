/**
 * The futures benchmark's stage: it prepares for `prepMs` (loading a model,
 * say) before it needs its input, then reads the 1 MB input, works for
 * `workMs` and returns 1 MB. With futures, a stage's preparation overlaps
 * the stage before it; with sequential awaits it cannot start until then.
 */
import { defineTasks } from 'ts-proxystore/executors/piscina';

function sleep(ms: number): void {
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export const tasks = {
  stage(input: Float64Array, prepMs: number, workMs: number): Float64Array {
    sleep(prepMs);
    let sum = 0;
    for (let i = 0; i < input.length; i++) sum += input[i] as number;
    sleep(workMs);
    return new Float64Array(input.length).fill(sum / input.length + 1);
  },
};

export default defineTasks(tasks);
