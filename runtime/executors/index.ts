/// <reference types="node" preserve="true" />
/**
 * `ts-proxystore/executors`: what every engine shares, without loading any
 * engine. A worker module (`defineTasks`, `resultArray`, `taskSignal`) serves
 * piscina threads and BullMQ worker processes alike; the caller side wraps an
 * engine from `ts-proxystore/executors/piscina` or `/bullmq` in a StoreExecutor.
 */
export { defineTasks } from './piscina.js';
export { resultArray, taskSignal, type TaskHandler, type WorkerTaskOptions } from './worker/task-runner.js';
export { StoreExecutor, type StoreExecutorOptions, type StoreTaskResult, type ShouldProxy } from './store-executor.js';
export {
  BaseExecutor,
  type Executor,
  type AnyTasks,
  type TaskTable,
  type TaskFunction,
  type TaskName,
  type TaskArgs,
  type TaskResult,
  type RunOptions,
  type FutureTarget,
  type StoredArgs,
  type ExecutorFlags,
  type TaskOutcome,
  type Launched,
} from './executor.js';
export * from './errors.js';
