/**
 * Deployment shape: one long-running `ts-proxystore-worker` process serves
 * caller processes that come and go, each with a Redis store of the same name
 * but its own prefix (the connector's random default). Every caller must get
 * its own inputs and results, whether it starts before or after the others.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startRedisServer, type RedisServer } from '../../runtime/testing/redis-server.js';
import { fixture, startCli, type CliWorker } from './helpers.js';

const CALLER_BOUND_MS = 30_000;

describe('one ts-proxystore-worker process, many caller processes', () => {
  let server: RedisServer;
  let worker: CliWorker;
  const queue = `long-running-${crypto.randomUUID()}`;
  beforeAll(async () => {
    server = await startRedisServer();
    worker = await startCli(queue, server.port);
  });
  afterAll(async () => {
    worker.child.kill('SIGTERM');
    await worker.exited;
    await server.stop();
  });

  const call = async (caller: number, on = queue, prefix?: string): Promise<{ caller: number; prefix: string; sum: number; proxied: boolean; second: number }> => {
    const args = [fixture('bullmq-caller.mjs'), String(server.port), on, String(caller), ...(prefix === undefined ? [] : [prefix])];
    const { stdout } = await promisify(execFile)(process.execPath, args, { timeout: CALLER_BOUND_MS });
    return JSON.parse(stdout.trim().split('\n').at(-1) as string) as { caller: number; prefix: string; sum: number; proxied: boolean; second: number };
  };

  it('serves five successive callers whose same-named stores use different Redis prefixes', async () => {
    const prefixes = new Set<string>();
    for (let caller = 0; caller < 5; caller++) {
      const result = await call(caller);
      const base = caller * 10_000;
      expect(result).toMatchObject({ caller, sum: 4096 * base + (4095 * 4096) / 2, proxied: true, second: 2 * (base + 1) });
      prefixes.add(result.prefix);
    }
    expect(prefixes.size).toBe(5);
  }, 5 * CALLER_BOUND_MS);

  it('a caller whose Redis prefix the worker did not agree to gets a DescriptorError naming the policy; --redis-prefix agrees to it', async () => {
    const refused = await call(7, queue, 'app:').then(
      () => 'no error',
      (error: unknown) => String((error as { stderr?: string }).stderr),
    );
    expect(refused).toMatch(/DescriptorError.*prefix "app:".*policy\.redisPrefixes/);
    const otherQueue = `${queue}-apps`;
    const agreeing = await startCli(otherQueue, server.port, ['--redis-prefix', 'app:', '--redis-prefix', 'proxystore:']);
    try {
      expect(await call(8, otherQueue, 'app:')).toMatchObject({ caller: 8, prefix: 'app:', proxied: true });
      expect(await call(9, otherQueue)).toMatchObject({ caller: 9, proxied: true });
    } finally {
      agreeing.child.kill('SIGTERM');
      await agreeing.exited;
    }
  }, 4 * CALLER_BOUND_MS);

  it('serves a caller that started before the worker, and one after', async () => {
    const lateQueue = `${queue}-late`;
    const early = call(10, lateQueue);
    // The caller's job waits in the queue until a worker exists.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const late = await startCli(lateQueue, server.port);
    try {
      expect(await early).toMatchObject({ caller: 10, proxied: true, second: 2 * (10 * 10_000 + 1) });
      expect(await call(11, lateQueue)).toMatchObject({ caller: 11, proxied: true, second: 2 * (11 * 10_000 + 1) });
    } finally {
      late.child.kill('SIGTERM');
      await late.exited;
    }
  }, 3 * CALLER_BOUND_MS);

  it('serves callers running at the same time', async () => {
    const results = await Promise.all([5, 6].map((caller) => call(caller)));
    expect(results.map((r) => r.caller)).toEqual([5, 6]);
    expect(results.every((r, i) => r.second === 2 * ((5 + i) * 10_000 + 1))).toBe(true);
  }, 2 * CALLER_BOUND_MS);
});

describe('a worker and its callers on a password-protected Redis', () => {
  const PASSWORD = 'queue-and-store-password-7';
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer({ args: ['--requirepass', PASSWORD] });
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await server.stop();
  });

  it('resolves callers\u2019 stores on the queue\u2019s own server with PROXYSTORE_REDIS_PASSWORD, and no further flag', async () => {
    // Inherited by the worker and the callers, as a deployment sets it for each.
    vi.stubEnv('PROXYSTORE_REDIS_PASSWORD', PASSWORD);
    const queue = `secured-${crypto.randomUUID()}`;
    const worker = await startCli(queue, server.port, [], PASSWORD);
    try {
      for (const caller of [0, 1]) {
        const { stdout } = await promisify(execFile)(process.execPath, [fixture('bullmq-caller.mjs'), String(server.port), queue, String(caller)], { timeout: CALLER_BOUND_MS });
        expect(JSON.parse(stdout.trim())).toMatchObject({ caller, proxied: true, second: 2 * (caller * 10_000 + 1) });
      }
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
  }, 3 * CALLER_BOUND_MS);
});
