import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileConnector } from '../../runtime/connectors/file.js';
import { MultiConnector } from '../../runtime/connectors/multi.js';
import { RedisConnector } from '../../runtime/connectors/redis.js';
import { SharedMemoryConnector } from '../../runtime/connectors/shared-memory/connector.js';
import { storeCommand } from '../../runtime/observe/store-cli.js';
import { Store } from '../../runtime/store/store.js';
import { startRedisServer, type RedisServer } from '../../runtime/testing/redis-server.js';
import { tempDirs } from '../../runtime/testing/temp-dirs.js';

const dirs = tempDirs('store-cli-');
const run = promisify(execFile);
let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await dirs.removeAll();
  await redis?.stop();
});

/** Runs `ts-proxystore store …` and gives back its exit code and output. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await storeCommand(argv, { out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('ts-proxystore store, on a file store', () => {
  it('lists, totals, shows, evicts and clears what a program stored, from its config', async () => {
    const directory = await dirs.make();
    const store = new Store('app', new FileConnector({ directory }));
    const big = await store.put(new Float64Array(1000).fill(1.5));
    const small = await store.put({ user: 'ada', scores: [1, 2, 3] });
    const configFile = path.join(directory, '..', `${path.basename(directory)}.json`);
    await writeFile(configFile, JSON.stringify(store.config()));

    const ls = await cli('ls', '--config', configFile);
    expect(ls.code).toBe(0);
    expect(ls.out).toContain(big as string);
    expect(ls.out).toContain(small as string);
    expect(ls.out).toMatch(/2 objects, \d+ bytes/);

    const stats = JSON.parse((await cli('stats', '--config', configFile, '--json')).out) as { objects: number; bytes: number; largest: number };
    expect(stats.objects).toBe(2);
    expect(stats.largest).toBeGreaterThanOrEqual(8000);

    const get = await cli('get', big as string, '--config', JSON.stringify(store.config()));
    expect(get.code).toBe(0);
    expect(get.out).toMatch(/type\s+Float64Array/);
    expect(get.out).toContain('1.5');

    expect((await cli('evict', small as string, '--config', configFile)).code).toBe(0);
    expect(await store.exists(small)).toBe(false);

    const refused = await cli('clear', '--config', configFile);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('--yes');
    expect(await store.exists(big)).toBe(true);

    expect((await cli('clear', '--yes', '--config', configFile)).out).toBe('cleared 1 objects');
    expect(await store.exists(big)).toBe(false);
    await store.close();
  });

  it('takes a bare connector config too, and says when a key is missing', async () => {
    const directory = await dirs.make();
    const config = JSON.stringify({ kind: 'file', options: { directory } });
    expect((await cli('ls', '--config', config)).out).toContain('0 objects');
    const missing = await cli('get', 'no-such-key', '--config', config);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('no object under key');
    const notEvicted = await cli('evict', 'no-such-key', '--config', config);
    expect(notEvicted.code).toBe(1);
    expect(notEvicted.err).toContain('no object under key');
  });

  it('says a file store\'s directory is missing instead of making it and reporting it empty', async () => {
    const typo = path.join(await dirs.make(), 'typo-dir');
    const ls = await cli('ls', '--config', JSON.stringify({ kind: 'file', options: { directory: typo } }));
    expect(ls.code).toBe(1);
    expect(ls.err).toContain(`no directory ${typo}`);
    expect(existsSync(typo)).toBe(false);
  });
});

describe('the ts-proxystore bin', () => {
  it('runs `store ls` and `store stats` as a user types them', async () => {
    const directory = await dirs.make();
    const store = new Store('bin-app', new FileConnector({ directory }));
    const key = await store.put(new Float64Array(100));
    const bin = path.join(import.meta.dirname, '..', '..', 'dist', 'cli', 'index.js');
    const config = JSON.stringify(store.config());
    const ls = await run(process.execPath, [bin, 'store', 'ls', '--config', config]);
    expect(ls.stdout).toContain(key as string);
    const stats = JSON.parse((await run(process.execPath, [bin, 'store', 'stats', '--json', '--config', config])).stdout) as { objects: number };
    expect(stats.objects).toBe(1);
    const refused = await run(process.execPath, [bin, 'store', 'clear', '--config', config]).catch((error: { code: number; stderr: string }) => error);
    expect(refused).toMatchObject({ code: 2 });
    await store.close({ clear: true });
  });
});

describe('ts-proxystore store, on Redis and multi stores', () => {
  it('lists only the keys under the store’s prefix, and clear leaves other prefixes alone', async () => {
    const mine = new Store('redis-app', new RedisConnector({ port: redis.port, prefix: 'cli-mine:' }));
    const other = new Store('redis-other', new RedisConnector({ port: redis.port, prefix: 'cli-other:' }));
    const a = await mine.put(new Uint8Array(5000));
    const b = await other.put(new Uint8Array(10));
    const config = JSON.stringify(mine.config());
    const listed = JSON.parse((await cli('ls', '--json', '--config', config)).out) as { key: string; bytes: number }[];
    expect(listed.map((item) => item.key)).toEqual([a]);
    expect(listed[0]?.bytes).toBeGreaterThanOrEqual(5000);
    expect((await cli('clear', '--yes', '--config', config)).out).toBe('cleared 1 objects');
    expect(await mine.exists(a)).toBe(false);
    expect(await other.exists(b)).toBe(true);
    await mine.close();
    await other.close({ clear: true });
  });

  it('lists a multi store across its children, with keys it can read back', async () => {
    const directory = await dirs.make();
    const multi = new MultiConnector({
      connectors: {
        small: { connector: new RedisConnector({ port: redis.port, prefix: 'cli-multi:' }), policy: { maxSize: 1000, priority: 2 } },
        big: { connector: new FileConnector({ directory }), policy: {} },
      },
    });
    const store = new Store('multi-app', multi);
    const smallKey = await store.put({ tiny: 1 });
    const bigKey = await store.put(new Uint8Array(50_000));
    const config = JSON.stringify(store.config());
    const listed = JSON.parse((await cli('ls', '--json', '--config', config)).out) as { key: unknown }[];
    expect(listed.map((item) => item.key)).toEqual(expect.arrayContaining([smallKey, bigKey] as unknown[]));
    const shown = await cli('get', JSON.stringify(bigKey), '--config', config);
    expect(shown.out).toMatch(/type\s+Uint8Array/);
    await store.close({ clear: true });
  });

  it('refuses a store whose connector cannot list, saying so', async () => {
    const shared = new SharedMemoryConnector();
    const result = await cli('ls', '--config', JSON.stringify(shared.config()));
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/cannot list what it holds/);
    await shared.close();
  });

  it('explains its usage on a wrong call, with exit code 2', async () => {
    expect((await cli()).code).toBe(2);
    expect((await cli('frobnicate', '--config', '{}')).err).toContain('usage: ts-proxystore store');
    expect((await cli('get', '--config', '{}')).err).toContain("'get' needs a key");
    expect((await cli('ls')).err).toContain('--config is required');
    expect((await cli('--help')).code).toBe(0);
  });
});
