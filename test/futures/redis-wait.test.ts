/**
 * Redis futures wait on a blocking read (XREAD BLOCK on the key's notice
 * stream, which `set` appends to) instead of polling: told apart here by the
 * server's own command counts, with readers in other processes.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisConnector } from '../../runtime/connectors/redis.js';
import { ProxyFutureTimeoutError } from '../../runtime/errors.js';
import { Store } from '../../runtime/store/store.js';
import { startRedisServer, type RedisServer } from '../../runtime/testing/redis-server.js';

const READER = path.join(import.meta.dirname, '..', 'fixtures', 'future-reader.mjs');
let redis: RedisServer;
let admin: Redis;
const stores: Store[] = [];
beforeAll(async () => {
  redis = await startRedisServer();
  admin = new Redis({ port: redis.port });
});
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close({ clear: true });
});
afterAll(async () => {
  admin?.disconnect();
  await redis?.stop();
});

function redisStore(name: string): Store {
  const store = new Store(name, new RedisConnector({ port: redis.port, prefix: `proxystore:${name}:` }), { cacheSize: 0 });
  stores.push(store);
  return store;
}
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Calls of `command` the server has run since the last CONFIG RESETSTAT. */
async function calls(command: string): Promise<number> {
  const info = await admin.info('commandstats');
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
}

/** A reader process resolving the future's proxy; resolves with its report once it has exited. */
function reader(descriptor: unknown, how: 'async' | 'sync' = 'async'): { started: Promise<void>; report: Promise<{ ok: boolean; total?: number; at?: number; name?: string }> } {
  const child = spawn(process.execPath, [READER, how], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.end(JSON.stringify(descriptor));
  let output = '';
  let started: () => void = () => undefined;
  const waiting = new Promise<void>((resolve) => (started = resolve));
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    if (output.includes('waiting')) started();
  });
  const report = once(child, 'exit').then(() => JSON.parse(output.split('\n')[1] as string) as { ok: boolean; total?: number; at?: number; name?: string });
  return { started: waiting, report };
}

describe('Redis futures wait without polling', () => {
  it('wakes two reader processes on one setResult, with a handful of reads between them however long they waited', async () => {
    const store = redisStore('fut-block');
    const future = store.future<{ total: number; items: number[] }>({ timeoutMs: 20_000 });
    const readers = [reader({ p: future.proxy() }), reader({ p: future.proxy() })];
    await Promise.all(readers.map(({ started }) => started));
    // Each reader has had its first look and is blocked by now (a process start is far slower than one round trip).
    await sleep(200);
    await admin.config('RESETSTAT');
    // Backed-off polls (1, 2, 4, 8, then every 10 ms) would read the key about 40 times each meanwhile.
    await sleep(400);
    expect(await calls('get')).toBe(0);
    const setAt = Date.now();
    await future.setResult({ total: 99, items: [99] });
    for (const report of await Promise.all(readers.map(({ report }) => report))) {
      expect(report).toMatchObject({ ok: true, total: 99 });
      expect(report.at).toBeGreaterThanOrEqual(setAt);
    }
    // One look each after the wake.
    expect(await calls('get')).toBeLessThanOrEqual(2);
  });

  it('a synchronous first touch in another process sleeps in the sync bridge until the value is set, without polling', async () => {
    const store = redisStore('fut-block-sync');
    const future = store.future<{ total: number; items: number[] }>({ timeoutMs: 20_000 });
    const sync = reader({ p: future.proxy() }, 'sync');
    await sync.started;
    // Its first look, and the bridge worker's start, are done by now.
    await sleep(500);
    await admin.config('RESETSTAT');
    await sleep(400);
    // Backed-off polls through the bridge would read the key about 40 times meanwhile.
    expect(await calls('get')).toBe(0);
    const setAt = Date.now();
    await future.setResult({ total: 7, items: [7] });
    const report = await sync.report;
    expect(report).toMatchObject({ ok: true, total: 7 });
    expect(report.at).toBeGreaterThanOrEqual(setAt);
    expect(report.at! - setAt).toBeLessThan(1_000);
    expect(await calls('get')).toBeLessThanOrEqual(1);
  });

  it('evicting a set key removes its notice too; close() ends a blocked wait at once', async () => {
    const store = redisStore('fut-notice');
    const future = store.future<{ n: number }>();
    await future.setResult({ n: 1 });
    const notice = `${future.key as string}:written`;
    expect(await admin.exists(notice)).toBe(1);
    expect(await admin.pttl(notice)).toBeGreaterThan(0);
    await store.evict(future.key);
    expect(await admin.exists(future.key as string, notice)).toBe(0);

    const other = new Store('fut-close', new RedisConnector({ port: redis.port, prefix: 'proxystore:fut-close:' }));
    const pending = other.future<{ n: number }>({ timeoutMs: 30_000 }).result();
    // Handled from now on: the wait may reject while close() is still finishing.
    const ended = expect(pending).rejects.toThrow();
    await sleep(100);
    const t0 = performance.now();
    await other.close({ clear: true });
    await ended;
    expect(performance.now() - t0).toBeLessThan(2_000);
  });

  it('more waiters than blocking connections fall back to polling, and all get their value', async () => {
    const store = redisStore('fut-many');
    const futures = Array.from({ length: 24 }, () => store.future<{ i: number }>({ timeoutMs: 20_000 }));
    const results = futures.map((future) => future.result());
    await sleep(100);
    await Promise.all(futures.map((future, i) => future.setResult({ i })));
    expect((await Promise.all(results)).map(({ i }) => i)).toEqual(futures.map((_, i) => i));
  });

  it('still times out at the future’s timeout', async () => {
    const store = redisStore('fut-timeout');
    const t0 = performance.now();
    await expect(store.future<{ n: number }>({ timeoutMs: 200 }).result()).rejects.toBeInstanceOf(ProxyFutureTimeoutError);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
    expect(performance.now() - t0).toBeLessThan(3_000);
  });
});
