import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisConnector } from '../../runtime/connectors/redis.js';
import { BullMQExecutor } from '../../runtime/executors/bullmq/executor.js';
import { StoreExecutor } from '../../runtime/executors/store-executor.js';
import { Store } from '../../runtime/store/store.js';
import { startRedisServer, type RedisServer } from '../../runtime/testing/redis-server.js';
import { fixture, floats, sumOf, type FixtureTasks } from '../executors/helpers.js';

/** The worker half runs the build, as a deployed worker would. */
const dist = (await import(path.join(import.meta.dirname, '..', '..', 'dist', 'runtime', 'executors', 'bullmq', 'executor.js'))) as typeof import('../../runtime/executors/bullmq/executor.js');
const fixtureTasks = ((await import(fixture('executor-tasks.mjs'))) as { default: object }).default as FixtureTasks;

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(() => server?.stop());

describe('executor stats on BullMQ', () => {
  it('count calls, failures and durations per task, with the worker’s own split of the time sent back', async () => {
    const queue = `stats-${crypto.randomUUID()}`;
    const connection = { host: '127.0.0.1', port: server.port };
    const worker = dist.createWorker(queue, fixtureTasks, { connection });
    const store = new Store(`stats-${crypto.randomUUID()}`, new RedisConnector({ port: server.port }));
    const engine = new BullMQExecutor<FixtureTasks>(queue, { connection });
    const executor = new StoreExecutor(engine, { store });
    try {
      const input = floats(400_000);
      expect(await executor.run('sum', [input])).toBe(sumOf(input));
      expect(await executor.run('sum', [floats(800)])).toBe(sumOf(floats(800)));
      await expect(executor.run('throws', ['no'])).rejects.toThrow('no');

      for (const stats of [executor.stats(), engine.stats()]) {
        expect(stats['sum']).toMatchObject({ calls: 2, inFlight: 0, done: 2, failed: 0 });
        expect(stats['throws']).toMatchObject({ calls: 1, done: 0, failed: 1 });
        expect(stats['sum']!.durations.reduce((a, b) => a + b, 0)).toBe(2);
      }
      const { worker: timing, totalMs } = executor.stats()['sum']!;
      expect(timing.calls).toBe(2);
      // The 400 kB input went by proxy: the worker fetched it before the task ran.
      expect(timing.inputMs).toBeGreaterThan(0);
      expect(timing.inputMs + timing.taskMs + timing.outputMs).toBeLessThan(totalMs);
    } finally {
      await executor.shutdown();
      await worker.close();
      await store.close({ clear: true });
    }
  });
});
