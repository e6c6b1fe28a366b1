import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relativeResidual, spdMatrix } from '../../examples/tiled-cholesky/kernels.js';
import { startRedisServer, type RedisServer } from '../../runtime/testing/redis-server.js';

/** The build: the example starts workers on its compiled task module. */
const { runExample } = (await import(path.join(import.meta.dirname, '..', '..', 'dist', 'examples', 'tiled-cholesky', 'run.js'))) as typeof import('../../examples/tiled-cholesky/run.js');

describe('tiled Cholesky example', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(() => server.stop());

  it('gives the same L, bit for bit, by value and by proxy on piscina and on BullMQ', async () => {
    const size = 512;
    const common = { size, tile: 128, workers: 2, redis: `redis://127.0.0.1:${server.port}` };
    const runs = [];
    for (const engine of ['piscina', 'bullmq'] as const) {
      for (const mode of ['value', 'proxy'] as const) runs.push(await runExample({ ...common, engine, mode }));
    }
    const [reference, ...others] = runs.map((run) => run.result);
    for (const other of others) expect(Buffer.from(other.buffer).equals(Buffer.from(reference!.buffer))).toBe(true);
    expect(relativeResidual(spdMatrix(size), reference!, size)).toBeLessThan(1e-12);
    expect(runs.map((run) => run.tasks)).toEqual([20, 20, 20, 20]);
  });
});
