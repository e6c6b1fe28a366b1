/**
 * The worker module: piscina loads it as the pool's file, and
 * `ts-proxystore-worker --tasks` loads it for BullMQ.
 *
 * Each kernel writes into `resultArray`: where the result goes back as a
 * proxy in shared memory, the tile is born in the store and returning it
 * copies nothing; by value, or through Redis, it is a plain new array.
 */
import { defineTasks, resultArray } from 'ts-proxystore/executors';
import { gemm, potrf, syrk, trsm } from './kernels.js';

const tile = (like: Float64Array, zeroed = false): Float64Array => resultArray(Float64Array, like.length, { zeroed });

export const tasks = {
  // The factor's upper triangle is never written, so it must start at zero.
  potrf: (a: Float64Array): Float64Array => potrf(a, tile(a, true)),
  trsm: (l: Float64Array, a: Float64Array): Float64Array => trsm(l, a, tile(a)),
  syrk: (c: Float64Array, a: Float64Array): Float64Array => syrk(c, a, tile(c)),
  gemm: (c: Float64Array, a: Float64Array, bt: Float64Array): Float64Array => gemm(c, a, bt, tile(c)),
};

export default defineTasks(tasks);
