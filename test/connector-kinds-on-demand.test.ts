/**
 * A receiving process that imports only 'ts-proxystore' resolves a Redis proxy
 * from its descriptor: the built-in 'redis' kind loads itself on first use
 * (Node >= 20.19 can require() an ES module synchronously, and decoding is synchronous).
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEER_SECRET_ENV, PeerConnector } from '../runtime/connectors/peer.js';
import { RedisConnector } from '../runtime/connectors/redis.js';
import { Store, encodeProxies } from '../src/index.js';
import { fixture } from './executors/helpers.js';
import { startRedisServer, type RedisServer } from '../runtime/testing/redis-server.js';

describe('built-in connector kinds load on demand', () => {
  let server: RedisServer;
  let store: Store;
  beforeAll(async () => {
    server = await startRedisServer();
    store = new Store('on-demand', new RedisConnector({ port: server.port }));
  });
  afterAll(async () => {
    await store.close({ clear: true });
    await server.stop();
  });

  it('a process importing only the main entry decodes and resolves a Redis descriptor, synchronously and asynchronously', async () => {
    const descriptor = JSON.stringify(encodeProxies(await store.proxy({ label: 'from redis', n: [1, 2] })));
    const child = spawnSync(process.execPath, [fixture('decode-only.mjs'), descriptor], { encoding: 'utf8', timeout: 20_000 });
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toEqual({ touched: 'from redis', resolved: { label: 'from redis', n: [1, 2] } });
  });

  it('so does it a peer descriptor, reading the object from the process that holds it (the store CLI opens a peer store the same way)', async () => {
    const secret = `on-demand-${crypto.randomUUID()}`;
    const peer = new Store('on-demand-peer', new PeerConnector({ space: 'on-demand-peer', secret }));
    try {
      const descriptor = JSON.stringify(encodeProxies(await peer.proxy({ label: 'from a peer', n: [3] })));
      // Not spawnSync: this process serves the object while the child reads it.
      const child = await promisify(execFile)(process.execPath, [fixture('decode-only.mjs'), descriptor], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, [PEER_SECRET_ENV]: secret } });
      expect(child.stderr).toBe('');
      expect(JSON.parse(child.stdout)).toEqual({ touched: 'from a peer', resolved: { label: 'from a peer', n: [3] } });
    } finally {
      await peer.close({ clear: true });
    }
  });
});
