/**
 * The worker module: piscina loads it as the pool's file, and
 * `ts-proxystore-worker --tasks` loads it for BullMQ.
 */
import { defineTasks } from '../../runtime/executors/piscina.js';
import { gemm, potrf, syrk, trsm } from './kernels.js';

export const tasks = { potrf, trsm, syrk, gemm };

export default defineTasks(tasks);
