/**
 * When autoProxy writes and frees: nothing for local use, one put per object
 * however often it is sent, copies sent to executor tasks evicted once the
 * tasks settle, copies sent otherwise evicted when the value is collected or
 * the configured lifetime ends. Real connectors, a real piscina pool.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { runInNewContext } from 'node:vm';
import v8 from 'node:v8';
import type { Piscina } from 'piscina';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ContextLifetime,
  FileConnector,
  MemoryConnector,
  SharedMemoryConnector,
  Store,
  autoProxy,
  configureAutoProxy,
  decodeProxies,
  encodeProxies,
  encodeProxiesAsync,
  flushPending,
  getKey,
  isProxy,
  proxyReviver,
  resolveAsync,
  type Connector,
  type Key,
  type Proxy,
} from '../src/index.js';
import { Redis } from 'ioredis';
import { RedisConnector } from '../runtime/connectors/redis.js';
import { BullMQExecutor } from '../runtime/executors/bullmq/executor.js';
import { PiscinaExecutor } from '../runtime/executors/piscina.js';
import { StoreExecutor } from '../runtime/executors/store-executor.js';
import { fixture, sumOf, taskPool, type FixtureTasks } from './executors/helpers.js';
import { startRedisServer, type RedisServer } from '../runtime/testing/redis-server.js';
import { tempDirs } from '../runtime/testing/temp-dirs.js';

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const SITE = 'src/main.ts:1:1';
const THRESHOLD = 1000;

/** Counts the writes a connector starts and the objects it holds (written, not yet evicted). */
function counted<C extends Connector>(connector: C): C & { puts: () => number; live: () => number } {
  const keys = new Set<string>();
  let puts = 0;
  const startPut = (connector.startPut as NonNullable<Connector['startPut']>).bind(connector);
  const evict = connector.evict.bind(connector);
  const evictNow = connector.evictNow?.bind(connector);
  return Object.assign(connector, {
    startPut: (data: Uint8Array) => {
      const started = startPut(data);
      puts++;
      keys.add(JSON.stringify(started.key));
      return started;
    },
    evict: async (key: Key) => {
      await evict(key);
      keys.delete(JSON.stringify(key));
    },
    // The store evicts through evictNow where the connector has it.
    ...(evictNow === undefined
      ? {}
      : {
          evictNow: (key: Key) => {
            const done = evictNow(key);
            if (done) keys.delete(JSON.stringify(key));
            return done;
          },
        }),
    puts: () => puts,
    live: () => keys.size,
  });
}

const stores: Store[] = [];
function storeOver<C extends Connector>(connector: C): { store: Store; connector: ReturnType<typeof counted<C>> } {
  const watched = counted(connector);
  const store = new Store(`auto-${crypto.randomUUID()}`, watched, { register: true });
  stores.push(store);
  return { store, connector: watched };
}

/** What a receiver gets from a decoded message: a proxy, read from the store alone. */
const arrived = (value: unknown): Promise<Float64Array> => resolveAsync(value as Proxy<Float64Array>);

/** Collects garbage until `check` holds: FinalizationRegistry callbacks run in later turns. */
async function collectUntil(check: () => boolean, rounds = 50): Promise<boolean> {
  for (let i = 0; i < rounds && !check(); i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
    await flushPending();
  }
  return check();
}

const dirs = tempDirs('auto-proxy-');

afterEach(async () => {
  configureAutoProxy({});
  await flushPending();
  await Promise.all(stores.splice(0).map((s) => s.close({ clear: true })));
  await dirs.removeAll();
});

describe('local use', () => {
  it('writes nothing, however often the value is wrapped and read, and always gives the same proxy', () => {
    const { store, connector } = storeOver(new MemoryConnector());
    configureAutoProxy({ store, threshold: THRESHOLD });
    const data = new Float64Array(10_000).fill(1);
    const first = autoProxy(data, SITE);
    let total = 0;
    for (let call = 0; call < 1000; call++) {
      const p = autoProxy(data, SITE);
      expect(p).toBe(first);
      total += p[call] as number;
    }
    expect(isProxy(first)).toBe(true);
    expect(total).toBe(1000);
    expect(connector.puts()).toBe(0);
  });
});

describe('sends outside executors', () => {
  it('1,000 sends of one object (encoders and JSON.stringify) store it once, under one key', async () => {
    const { store, connector } = storeOver(new MemoryConnector());
    configureAutoProxy({ store, threshold: THRESHOLD });
    const data = new Float64Array(10_000).fill(2);
    const keys = new Set<string>();
    for (let send = 0; send < 1000; send++) {
      const p = autoProxy(data, SITE);
      const message = send % 3 === 0 ? JSON.stringify({ p }) : JSON.stringify(send % 3 === 1 ? encodeProxies({ p }) : await encodeProxiesAsync({ p }));
      keys.add(JSON.stringify((JSON.parse(message) as { p: { key: Key } }).p.key));
    }
    expect(connector.puts()).toBe(1);
    expect(keys.size).toBe(1);
    // What was sent resolves elsewhere from the store alone.
    const received = JSON.parse(JSON.stringify({ p: autoProxy(data, SITE) }), proxyReviver()) as { p: Float64Array };
    expect(sumOf(await arrived(received.p))).toBe(20_000);
  });

  it('by default, keeps a sent copy while the value lives here and evicts it once the value is collected', async () => {
    const { store, connector } = storeOver(new MemoryConnector());
    configureAutoProxy({ store, threshold: THRESHOLD });
    const here: { data?: Float64Array } = { data: new Float64Array(10_000).fill(3) };
    const message = encodeProxies({ p: autoProxy(here.data, SITE) });
    expect(connector.live()).toBe(1);
    // Still alive here: collections must not take the copy a receiver may still need.
    expect(await collectUntil(() => connector.live() === 0, 5)).toBe(false);
    expect(sumOf(await arrived(decodeProxies(message).p))).toBe(30_000);
    delete here.data;
    expect(await collectUntil(() => connector.live() === 0)).toBe(true);
  });

  it('with a lifetime configured, a sent copy is evicted when the lifetime ends, and a later send writes it again', async () => {
    const { store, connector } = storeOver(new MemoryConnector());
    const lifetime = new ContextLifetime(store);
    configureAutoProxy({ store, threshold: THRESHOLD, lifetime });
    const data = new Float64Array(10_000).fill(4);
    const first = encodeProxies(autoProxy(data, SITE)) as unknown as { key: Key };
    expect(connector.live()).toBe(1);
    await lifetime.close();
    expect(connector.live()).toBe(0);
    const again = encodeProxies(autoProxy(data, SITE)) as unknown as { key: Key };
    expect(again.key).not.toEqual(first.key);
    expect(connector.puts()).toBe(2);
    expect(sumOf((await store.get(again.key)) as Float64Array)).toBe(40_000);
  });

  it('with evict: true, every send writes its own single-use copy, which its receiver evicts', async () => {
    const { store, connector } = storeOver(new MemoryConnector());
    configureAutoProxy({ store, threshold: THRESHOLD, evict: true });
    const p = autoProxy(new Float64Array(10_000).fill(5), SITE);
    const messages = [encodeProxies(p), encodeProxies(p)];
    expect(connector.puts()).toBe(2);
    for (const message of messages) expect(sumOf(await arrived(decodeProxies(message)))).toBe(50_000);
    expect(connector.live()).toBe(0);
  });
});

describe('sends to executor tasks (piscina, shared memory)', () => {
  let pool: Piscina;
  beforeAll(() => {
    pool = taskPool();
  });
  afterAll(() => pool.destroy());

  it('tasks in flight share one put; the copy is evicted once the last one settled', async () => {
    const { store, connector } = storeOver(new SharedMemoryConnector());
    configureAutoProxy({ store, threshold: THRESHOLD });
    const executor = new PiscinaExecutor<FixtureTasks>(pool);
    const data = new Float64Array(50_000).fill(1);
    const launched = Array.from({ length: 8 }, () => executor.launch('sum', [autoProxy(data, SITE)]));
    const sums = await Promise.all(launched.map((l) => l.outcome));
    expect(sums.map((s) => s.value)).toEqual(Array(8).fill(50_000));
    expect(connector.puts()).toBe(1);
    await Promise.all(launched.map((l) => l.finished));
    expect(connector.live()).toBe(0);
    await executor.shutdown();
  });

  it('a send after the tasks settled writes a fresh copy, so a changed object never reaches a task as it was', async () => {
    const { store, connector } = storeOver(new SharedMemoryConnector());
    configureAutoProxy({ store, threshold: THRESHOLD });
    await using executor = new StoreExecutor(new PiscinaExecutor<FixtureTasks>(pool), { store });
    const data = new Float64Array(50_000).fill(1);
    expect(await executor.submit('sum', autoProxy(data, SITE))).toBe(50_000);
    data.fill(2);
    expect(await executor.submit('sum', autoProxy(data, SITE))).toBe(100_000);
    expect(connector.puts()).toBe(2);
    await executor.shutdown();
    expect(connector.live()).toBe(0);
  });

  it('with reuseAcrossTasks, one object submitted in a loop is written once, and freed once it is collected', async () => {
    const { store, connector } = storeOver(new SharedMemoryConnector());
    configureAutoProxy({ store, threshold: THRESHOLD, reuseAcrossTasks: true });
    const executor = new PiscinaExecutor<FixtureTasks>(pool);
    const here: { data?: Float64Array } = { data: new Float64Array(50_000).fill(1) };
    for (let send = 0; send < 20; send++) expect(await executor.submit('sum', autoProxy(here.data as Float64Array, SITE))).toBe(50_000);
    await executor.shutdown();
    expect(connector.puts()).toBe(1);
    expect(connector.live()).toBe(1);
    delete here.data;
    expect(await collectUntil(() => connector.live() === 0)).toBe(true);
  });

  it('a copy also sent outside tasks stays after the tasks settle, under the policy for such sends', async () => {
    const { store, connector } = storeOver(new SharedMemoryConnector());
    configureAutoProxy({ store, threshold: THRESHOLD });
    const executor = new PiscinaExecutor<FixtureTasks>(pool);
    const data = new Float64Array(50_000).fill(1);
    const p = autoProxy(data, SITE);
    const message = encodeProxies({ p });
    await executor.submit('sum', p);
    await executor.shutdown();
    expect(connector.puts()).toBe(1);
    expect(connector.live()).toBe(1);
    expect(getKey(decodeProxies(message).p)).toEqual(getKey(p));
  });
});

describe('sends to executor tasks (BullMQ, a worker process, Redis)', () => {
  let server: RedisServer;
  let worker: ChildProcess;
  const queue = `auto-${crypto.randomUUID()}`;
  beforeAll(async () => {
    server = await startRedisServer();
    const cli = path.join(import.meta.dirname, '..', 'dist', 'runtime', 'executors', 'bullmq', 'worker-cli.js');
    worker = spawn(process.execPath, [cli, '--queue', queue, '--redis', `redis://127.0.0.1:${server.port}`, '--tasks', fixture('executor-tasks.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [ready] = (await Promise.race([once(worker.stdout as NodeJS.ReadableStream, 'data'), once(worker, 'exit')])) as [unknown];
    expect(String(ready)).toContain('ts-proxystore-worker ready');
  });
  afterAll(async () => {
    worker.kill('SIGTERM');
    if (worker.exitCode === null) await once(worker, 'exit');
    await server.stop();
  });

  it('concurrent jobs share one put, a later job writes afresh, and Redis is empty once the jobs settled', async () => {
    const connector = new RedisConnector({ port: server.port });
    const { store, connector: watched } = storeOver(connector);
    configureAutoProxy({ store, threshold: THRESHOLD });
    const executor = new BullMQExecutor<FixtureTasks>(queue, { connection: { host: '127.0.0.1', port: server.port } });
    const data = new Float64Array(50_000).fill(1);
    const launched = Array.from({ length: 5 }, () => executor.launch('sum', [autoProxy(data, SITE)]));
    expect((await Promise.all(launched.map((l) => l.outcome))).map((o) => o.value)).toEqual(Array(5).fill(50_000));
    expect(watched.puts()).toBe(1);
    await Promise.all(launched.map((l) => l.finished));
    data.fill(2);
    expect(await executor.submit('sum', autoProxy(data, SITE))).toBe(100_000);
    await executor.shutdown();
    expect(watched.puts()).toBe(2);
    // Counted on the server itself, not by the connector.
    const client = new Redis({ port: server.port });
    try {
      expect(await client.keys(`${connector.prefix}*`)).toEqual([]);
    } finally {
      client.disconnect();
    }
  });
});

describe('soak: 10,000 calls', { timeout: 180_000 }, () => {
  /**
   * What the objects would occupy if any were kept: the JS heap and array
   * buffers, after a collection. RSS also moves with the allocator's own
   * caching of freed memory, which the machine's load changes (a clean-clone
   * run once saw it grow 77 MB here with every object freed).
   */
  const retained = (): number => {
    gc();
    const { heapUsed, arrayBuffers } = process.memoryUsage();
    return heapUsed + arrayBuffers;
  };

  it('wrapped, read and sent 10,000 times (100 kB each), memory stays flat and the store ends empty', async () => {
    const { store, connector } = storeOver(new MemoryConnector());
    configureAutoProxy({ store, threshold: THRESHOLD });
    const calls = 10_000;
    let checksum = 0;
    let warm = 0;
    for (let call = 0; call < calls; call++) {
      const data = new Float64Array(12_500).fill(1);
      const p = autoProxy(data, SITE);
      checksum += p[call % 12_500] as number;
      // Every tenth call also crosses a boundary: a copy is written, to be freed when `data` is collected.
      if (call % 10 === 0) encodeProxies({ p });
      if (call === 999) {
        await collectUntil(() => connector.live() === 0);
        warm = retained();
      }
      if (call % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(checksum).toBe(calls);
    expect(connector.puts()).toBe(calls / 10);
    expect(await collectUntil(() => connector.live() === 0)).toBe(true);
    const grown = retained() - warm;
    // A leak of the objects would be 10,000 x 100 kB (~1 GB) of targets, or 1,000 x 100 kB of copies.
    expect(grown).toBeLessThan(48 * 1024 * 1024);
  });

  // A file store, not shared memory: worker threads free shared memory only when they collect it, which says nothing about the caller.
  // 4,000 tasks, not 10,000: the suite runs files side by side, and this one keeps both cores busy while it runs.
  it('sent to a task 4,000 times (distinct 80 kB arrays), every copy is freed after its task and memory stays flat', async () => {
    const directory = await dirs.make();
    const { store, connector } = storeOver(new FileConnector({ directory }));
    configureAutoProxy({ store, threshold: THRESHOLD });
    const pool = taskPool();
    const executor = new PiscinaExecutor<FixtureTasks>(pool);
    const calls = 4_000;
    const inFlight = 16;
    let warm = 0;
    let total = 0;
    for (let start = 0; start < calls; start += inFlight) {
      const batch = Array.from({ length: inFlight }, () => executor.launch('sum', [autoProxy(new Float64Array(10_000).fill(1), SITE)]));
      for (const { outcome } of batch) total += (await outcome).value;
      await Promise.all(batch.map((l) => l.finished));
      if (start === 992) warm = retained();
    }
    await executor.shutdown();
    await pool.destroy();
    expect(total).toBe(calls * 10_000);
    expect(connector.puts()).toBe(calls);
    expect(connector.live()).toBe(0);
    expect(readdirSync(directory)).toEqual([]);
    expect(retained() - warm).toBeLessThan(48 * 1024 * 1024);
  });
});
