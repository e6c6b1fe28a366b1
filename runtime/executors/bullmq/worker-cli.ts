#!/usr/bin/env node
/**
 * ts-proxystore-worker: a BullMQ worker process for a module of tasks.
 *
 *   ts-proxystore-worker --queue NAME --tasks ./tasks.js [--redis redis://host:6379/0] [--concurrency N]
 *                        [--prefix bull] [--result-threshold BYTES]
 *                        [--lock-duration-ms MS] [--stalled-interval-ms MS] [--max-stalled-count N]
 *                        [--peer-host HOST] [--peer-port PORT] [--peer-advertise HOST] [--redis-timeout-ms MS]
 *                        [--allow-host HOST[:PORT]]... [--file-root DIR]... [--credential-server [USER@]HOST:PORT[/DB]]...
 *                        [--redis-prefix PREFIX]...
 *
 * The --peer-* options say where results in a peer store are served from (bind
 * address, and the address callers reach it at; PROXYSTORE_PEER_SECRET gives
 * the shared secret).
 *
 * The module's default export is a `defineTasks(...)` handler (the same module
 * a piscina pool loads) or a plain object of task functions. The worker prints
 * one "ready" line on stdout once it takes jobs, and on SIGINT/SIGTERM finishes
 * the jobs in hand and exits. When Redis cannot be reached it says so once,
 * keeps retrying for `--redis-timeout-ms` (default 30 s), and then exits with
 * status 1 and a message naming the server, instead of retrying (and
 * printing) for ever.
 *
 * One worker serves any number of callers: stores are told apart by name and
 * connector config (docs/security.md). The policy flags set the reference
 * policy for unsigned descriptors in job data (each repeatable; given, they
 * replace the module's own policy field by field; the --redis server always
 * gets PROXYSTORE_REDIS_PASSWORD); with PROXYSTORE_SECRET set, only
 * descriptors signed with it are accepted.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Worker } from 'bullmq';
import { createWorker, redisOptionsFromUrl, type RedisUrlOptions } from './executor.js';
import { settleWithin } from '../../support/timers.js';
import type { ReferencePolicy } from '../../connectors/connector.js';
import { resolvePolicy } from '../../connectors/kinds.js';
import type { AnyTasks } from '../executor.js';
import { taskTableOf } from '../worker/task-runner.js';

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN']);

const USAGE =
  'usage: ts-proxystore-worker --queue NAME --tasks MODULE [--redis URL] [--concurrency N] [--prefix P] [--result-threshold BYTES] [--lock-duration-ms MS] [--stalled-interval-ms MS] [--max-stalled-count N] [--redis-timeout-ms MS] ' +
  '[--peer-host HOST] [--peer-port PORT] [--peer-advertise HOST] [--allow-host HOST[:PORT]]... [--file-root DIR]... [--credential-server [USER@]HOST:PORT[/DB]]... [--redis-prefix PREFIX]...';
const DEFAULT_REDIS_TIMEOUT_MS = 30_000;
/** How often the worker's connection is checked during an outage. */
const OUTAGE_CHECK_MS = 250;

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

function parse() {
  try {
    return parseArgs({
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
        'peer-host': { type: 'string' },
        'peer-port': { type: 'string' },
        'peer-advertise': { type: 'string' },
        'redis-timeout-ms': { type: 'string' },
        'allow-host': { type: 'string', multiple: true },
        'file-root': { type: 'string', multiple: true },
        'credential-server': { type: 'string', multiple: true },
        'redis-prefix': { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (error) {
    return fail((error as Error).message);
  }
}

const values = parse();
if (values.help === true) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (values.queue === undefined) fail('--queue is required');
if (values.tasks === undefined) fail('--tasks is required');

let connection: RedisUrlOptions;
try {
  connection = redisOptionsFromUrl(values.redis);
} catch (error) {
  fail(`--redis: ${(error as Error).message}`);
}
const modulePath = path.resolve(values.tasks);
let tasks: unknown;
try {
  const module = (await import(pathToFileURL(modulePath).href)) as { default?: unknown };
  tasks = module.default ?? module;
} catch (error) {
  fail(`--tasks: cannot load ${modulePath}: ${(error as Error).message}`);
}
if (values['peer-host'] !== undefined || values['peer-port'] !== undefined || values['peer-advertise'] !== undefined) {
  const { setPeerDefaults } = await import('../../connectors/peer.js');
  try {
    setPeerDefaults({ host: values['peer-host'], port: count('peer-port', values['peer-port']), advertiseHost: values['peer-advertise'] });
  } catch (error) {
    fail(`--peer-*: ${(error as Error).message}`);
  }
}
const optional = {
  prefix: values.prefix,
  resultThreshold: count('result-threshold', values['result-threshold']),
  lockDuration: count('lock-duration-ms', values['lock-duration-ms']),
  stalledInterval: count('stalled-interval-ms', values['stalled-interval-ms']),
  maxStalledCount: count('max-stalled-count', values['max-stalled-count']),
};
/**
 * The module's policy with the fields the flags give replaced. The queue's own
 * Redis server always gets this process's credentials: the operator already
 * sends it the URL's, so a store on the queue's server works with
 * PROXYSTORE_REDIS_PASSWORD and no further flag.
 */
function policyFromFlags(): ReferencePolicy {
  let own: ReferencePolicy | undefined;
  try {
    own = taskTableOf(tasks).options.policy;
  } catch (error) {
    fail(`--tasks ${modulePath}: ${(error as Error).message}`);
  }
  const { host, port, username } = connection;
  const queueServer = `${username === undefined ? '' : `${username}@`}${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
  const flags = {
    hosts: values['allow-host'],
    fileRoots: values['file-root']?.map((root) => path.resolve(root)),
    credentialServers: [...(values['credential-server'] ?? own?.credentialServers ?? []), queueServer],
    redisPrefixes: values['redis-prefix'],
  };
  try {
    return resolvePolicy({ ...own, ...Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) });
  } catch (error) {
    return fail((error as Error).message);
  }
}
const policy = policyFromFlags();

let worker: Worker;
try {
  worker = createWorker(values.queue, tasks as AnyTasks, {
    connection,
    concurrency: Math.max(1, count('concurrency', values.concurrency) ?? 1),
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
    policy,
  });
} catch (error) {
  fail(`--tasks ${modulePath}: ${(error as Error).message}`);
}
const redisTimeoutMs = count('redis-timeout-ms', values['redis-timeout-ms']) ?? DEFAULT_REDIS_TIMEOUT_MS;
const address = `${connection.host}:${connection.port}`;
/** Since when Redis has been unreachable; undefined while connected. */
let outageSince: number | undefined;
let lastConnectionError = '';
const say = (line: string): boolean => process.stderr.write(`ts-proxystore-worker: ${line}\n`);

/** Whether the worker's own connection to Redis is up. */
async function connected(): Promise<boolean> {
  const client = await settleWithin(worker.getBackend().client, OUTAGE_CHECK_MS).catch(() => undefined);
  return (client?.value as { status?: string } | undefined)?.status === 'ready';
}

// ioredis reports every reconnect attempt: an outage is reported once, its end once, and it is bounded.
setInterval(() => {
  void connected().then((up) => {
    if (up) {
      if (outageSince !== undefined) say(`Redis at ${address} reachable again`);
      outageSince = undefined;
      return;
    }
    outageSince ??= performance.now();
    if (performance.now() - outageSince < redisTimeoutMs) return;
    say(`Redis at ${address} unreachable for ${redisTimeoutMs} ms (--redis-timeout-ms)${lastConnectionError === '' ? '' : `: ${lastConnectionError}`}; giving up. Check that redis-server runs there, or pass --redis URL`);
    process.exit(1);
  });
}, OUTAGE_CHECK_MS);
worker.on('error', (error) => {
  if (!isConnectionError(error)) {
    say(String(error));
    return;
  }
  if (lastConnectionError === '' || outageSince === undefined) say(`Redis at ${address} unreachable (${error.message}); retrying for up to ${redisTimeoutMs} ms`);
  lastConnectionError = error.message;
  outageSince ??= performance.now();
});

function isConnectionError(error: Error): boolean {
  const code = (error as { code?: unknown }).code;
  return (typeof code === 'string' && CONNECTION_CODES.has(code)) || /Connection is closed|connect ETIMEDOUT|getaddrinfo/.test(error.message);
}

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  // The outage watch stays on: a job in hand can only finish against Redis, so with Redis gone for
  // --redis-timeout-ms the watch ends the process (status 1) instead of close() waiting for ever.
  // Exiting, not waiting for the event loop: connections that decoded descriptors opened would keep it alive.
  void worker.close().finally(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

try {
  await worker.waitUntilReady();
} catch (error) {
  say(`Redis at ${address}: ${(error as Error).message}`);
  process.exit(1);
}
process.stdout.write(`ts-proxystore-worker ready: queue '${values.queue}', pid ${process.pid}, concurrency ${worker.concurrency}\n`);
