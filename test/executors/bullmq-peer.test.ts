/**
 * A peer store on both sides of BullMQ, on loopback (the multi-host test does
 * the same across network namespaces, as root): inputs are read from the
 * caller, results are served by the worker process that made them until the
 * caller reads and releases them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEER_SECRET_ENV, PeerConnector, peerStats } from '../../runtime/connectors/peer.js';
import { BullMQExecutor } from '../../runtime/executors/bullmq/executor.js';
import { StoreExecutor } from '../../runtime/executors/store-executor.js';
import { getKey, resolveAsync } from '../../runtime/proxy/proxy.js';
import { Store } from '../../runtime/store/store.js';
import type { Proxy } from '../../src/types.js';
import { freePort, startRedisServer, type RedisServer } from '../../runtime/testing/redis-server.js';
import { fixture } from './helpers.js';

const CLI = path.join(import.meta.dirname, '..', '..', 'dist', 'runtime', 'executors', 'bullmq', 'worker-cli.js');
const SECRET = 'bullmq-peer-test-secret';
const LENGTH = (1 << 20) / 8;

/** The signatures of test/fixtures/multihost-tasks.mjs. */
interface PeerTasks {
  scale(input: Float64Array, k: number): Float64Array;
}

let server: RedisServer;
const workers: ChildProcess[] = [];
const scratch = mkdtempSync(path.join(os.tmpdir(), 'bullmq-peer-'));

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  for (const worker of workers) worker.kill('SIGKILL');
  await server?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** A ts-proxystore-worker serving its results from a fixed loopback port. */
async function startWorker(queue: string, port: number): Promise<{ child: ChildProcess; stats: string }> {
  const stats = path.join(scratch, `${port}.json`);
  const child = spawn(
    process.execPath,
    [CLI, '--queue', queue, '--tasks', fixture('multihost-tasks.mjs'), '--redis', `redis://127.0.0.1:${server.port}`, '--peer-host', '127.0.0.1', '--peer-port', String(port)],
    { env: { ...process.env, [PEER_SECRET_ENV]: SECRET, MULTIHOST_STATS: stats }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  workers.push(child);
  for await (const line of readline.createInterface({ input: child.stdout })) if (line.includes('ready')) break;
  return { child, stats };
}

describe('BullMQ with a peer store on both sides', () => {
  it('reads inputs from the caller, serves each result from its worker until the caller reads and releases it', async () => {
    const queue = `peer-${crypto.randomUUID()}`;
    const ports = [await freePort(), await freePort()];
    const started = [await startWorker(queue, ports[0]!), await startWorker(queue, ports[1]!)];
    const store = new Store('bullmq-peer', new PeerConnector({ secret: SECRET }));
    const executor = new StoreExecutor<PeerTasks>(new BullMQExecutor<PeerTasks>(queue, { connection: { host: '127.0.0.1', port: server.port } }), { store });
    try {
      const results = await Promise.all(
        Array.from({ length: 12 }, async (_, t) => {
          const result = (await executor.submit('scale', Float64Array.from({ length: LENGTH }, (_, i) => i + t), 2)) as Proxy<Float64Array>;
          const owner = Number((getKey(result) as string).split('/')[1]!.split(':')[1]);
          const value = await resolveAsync(result);
          const right = value.length === LENGTH && value.every((x, i) => x === (i + t) * 2 + 1);
          // Read: the result is still with its worker until released.
          await executor.release(result);
          return { owner, right };
        }),
      );
      expect(results.every((r) => r.right)).toBe(true);
      // Every result came from one of the workers' own servers, on the ports given with --peer-port.
      expect(results.every((r) => ports.includes(r.owner))).toBe(true);
    } finally {
      await executor.shutdown();
    }
    // Inputs were freed here once their tasks settled; every result was freed on its worker.
    expect(peerStats()).toMatchObject({ objects: 0 });
    await store.close({ clear: true });
    for (const { child, stats } of started) {
      child.kill('SIGTERM');
      await once(child, 'exit');
      expect(JSON.parse(readFileSync(stats, 'utf8'))).toMatchObject({ objects: 0, bytes: 0 });
    }
  });

  it('one worker with a fixed --peer-port serves the results of several callers, each with its own space, at once from that port', async () => {
    const queue = `peer-callers-${crypto.randomUUID()}`;
    const port = await freePort();
    const { child, stats } = await startWorker(queue, port);
    const callers = ['first', 'second', 'third'].map((name) => {
      const store = new Store(`bullmq-peer-${name}`, new PeerConnector({ secret: SECRET }));
      return { store, executor: new StoreExecutor<PeerTasks>(new BullMQExecutor<PeerTasks>(queue, { connection: { host: '127.0.0.1', port: server.port } }), { store }) };
    });
    expect(new Set(callers.map(({ store }) => (store.connector as PeerConnector).space)).size).toBe(3);
    try {
      const results = await Promise.all(
        callers.flatMap(({ executor }, c) =>
          Array.from({ length: 4 }, async (_, t) => {
            const result = (await executor.submit('scale', Float64Array.from({ length: LENGTH }, (_, i) => i + t + c), 3)) as Proxy<Float64Array>;
            const [space, address] = (getKey(result) as string).split('/') as [string, string];
            const value = await resolveAsync(result);
            // Checked before release: released, the read's memory serves the next read of any caller in this thread.
            const right = value.every((x, i) => x === (i + t + c) * 3 + 1);
            await executor.release(result);
            return { space, owner: Number(address.split(':')[1]), right };
          }),
        ),
      );
      expect(results.every((r) => r.right)).toBe(true);
      expect(results.every((r) => r.owner === port)).toBe(true);
      expect(new Set(results.map((r) => r.space)).size).toBe(3);
    } finally {
      for (const { executor } of callers) await executor.shutdown();
    }
    for (const { store } of callers) await store.close({ clear: true });
    child.kill('SIGTERM');
    await once(child, 'exit');
    expect(JSON.parse(readFileSync(stats, 'utf8'))).toMatchObject({ spaces: 3, objects: 0, bytes: 0 });
  });
});
