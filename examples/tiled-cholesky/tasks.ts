/**
 * The worker module: piscina loads it as the pool's file, and
 * `ts-proxystore-worker --tasks` loads it for BullMQ.
 */
import { defineTasks } from 'ts-proxystore/executors';
import { gemm, potrf, syrk, trsm } from './kernels.js';

export const tasks = { potrf, trsm, syrk, gemm };

export default defineTasks(tasks);
