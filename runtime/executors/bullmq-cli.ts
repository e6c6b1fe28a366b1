#!/usr/bin/env node
/**
 * ts-proxystore-worker: a BullMQ worker process for a module of tasks.
 *
 *   ts-proxystore-worker --queue NAME --tasks ./tasks.js [--redis redis://host:6379/0] [--concurrency N]
 *                        [--prefix bull] [--result-threshold BYTES]
 *                        [--lock-duration-ms MS] [--stalled-interval-ms MS] [--max-stalled-count N]
 *
 * The module's default export is a `defineTasks(...)` handler (the same module
 * a piscina pool loads) or a plain object of task functions. The worker prints
 * one "ready" line on stdout once it takes jobs, and on SIGINT/SIGTERM finishes
 * the jobs in hand and exits.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createWorker, redisOptionsFromUrl, type RedisUrlOptions } from './bullmq.js';
import type { AnyTasks } from './executor.js';

const USAGE = 'usage: ts-proxystore-worker --queue NAME --tasks MODULE [--redis URL] [--concurrency N] [--prefix P] [--result-threshold BYTES] [--lock-duration-ms MS] [--stalled-interval-ms MS] [--max-stalled-count N]';

function fail(message: string): never {
  process.stderr.write(`ts-proxystore-worker: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function count(option: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) fail(`--${option} must be a non-negative integer, got ${text}`);
  return value;
}

const { values } = parseArgs({
  options: {
    queue: { type: 'string' },
    tasks: { type: 'string' },
    redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
    concurrency: { type: 'string', default: '1' },
    prefix: { type: 'string' },
    'result-threshold': { type: 'string' },
    'lock-duration-ms': { type: 'string' },
    'stalled-interval-ms': { type: 'string' },
    'max-stalled-count': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (values.help === true) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (values.queue === undefined) fail('--queue is required');
if (values.tasks === undefined) fail('--tasks is required');

const module = (await import(pathToFileURL(path.resolve(values.tasks)).href)) as { default?: unknown };
const optional = {
  prefix: values.prefix,
  resultThreshold: count('result-threshold', values['result-threshold']),
  lockDuration: count('lock-duration-ms', values['lock-duration-ms']),
  stalledInterval: count('stalled-interval-ms', values['stalled-interval-ms']),
  maxStalledCount: count('max-stalled-count', values['max-stalled-count']),
};
let connection: RedisUrlOptions;
try {
  connection = redisOptionsFromUrl(values.redis);
} catch (error) {
  fail(`--redis: ${(error as Error).message}`);
}
const worker = createWorker(values.queue, (module.default ?? module) as AnyTasks, {
  connection,
  concurrency: Math.max(1, count('concurrency', values.concurrency) ?? 1),
  ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
});
worker.on('error', (error) => process.stderr.write(`ts-proxystore-worker: ${String(error)}\n`));

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  // Connections that decoded descriptors opened (e.g. to Redis stores) would keep the process alive.
  void worker.close().finally(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

await worker.waitUntilReady();
process.stdout.write(`ts-proxystore-worker ready: queue '${values.queue}', pid ${process.pid}, concurrency ${worker.concurrency}\n`);
