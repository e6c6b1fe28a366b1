import { execFile } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Connector } from '../../runtime/connectors/connector.js';
import { connectorFromConfig, resolvePolicy } from '../../runtime/connectors/kinds.js';
import { REDIS_PASSWORD_ENV, RedisConnector, type RedisConnectorOptions } from '../../runtime/connectors/redis.js';
import { ConfigError, ConnectorError, DescriptorError, RedisUnreachableError } from '../../runtime/errors.js';
import { freePort, startRedisServer, type RedisServer } from '../../runtime/testing/redis-server.js';
import { describeConnector, expectBytes, payload } from '../../runtime/testing/connector-conformance.js';

/** Generous: failures must come back in seconds, not hang; nothing here measures speed. */
const BOUND_MS = 20_000;

let server: RedisServer;
let admin: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  admin = new Redis({ port: server.port, host: server.host, lazyConnect: true });
});
afterAll(async () => {
  admin?.disconnect();
  await server?.stop();
});

describeConnector('redis', {
  make: () => Promise.resolve(new RedisConnector({ port: server.port })),
  sync: true,
  sharedThroughConfig: true,
});

const opened: Connector[] = [];
function redis(options: RedisConnectorOptions = {}): RedisConnector {
  const connector = new RedisConnector({ port: server.port, ...options });
  opened.push(connector);
  return connector;
}
afterEach(async () => {
  for (const connector of opened.splice(0)) await connector.close({ clear: true }).catch(() => undefined);
});

/** The rejection of `promise`, failing the test if it resolves or takes longer than `ms`. */
async function rejectionWithin(promise: Promise<unknown>, ms = BOUND_MS): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  try {
    await Promise.race([promise, late]);
  } catch (error) {
    return error;
  } finally {
    clearTimeout(timer);
  }
  throw new Error('expected a rejection, but it resolved');
}

function expectConnectorError(error: unknown, port: number, operation: string): void {
  expect(error).toBeInstanceOf(ConnectorError);
  expect((error as ConnectorError).operation).toBe(operation);
  expect((error as Error).message).toContain(`redis 127.0.0.1:${port}`);
  expect((error as Error).message).toContain(operation);
}

/** Retries `attempt` until it succeeds: reconnection happens in the background, at its own pace. */
async function eventually<T>(attempt: () => Promise<T>, ms = BOUND_MS): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

async function commandCalls(): Promise<Map<string, number>> {
  const info = await admin.info('commandstats');
  return new Map([...info.matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm)].map(([, name, calls]) => [name as string, Number(calls)]));
}

async function clientCount(): Promise<number> {
  const list = (await admin.call('CLIENT', 'LIST')) as string;
  return list.trim().split('\n').length;
}

describe('RedisConnector', () => {
  it("registers 'redis' as a built-in kind when imported", () => {
    expect(resolvePolicy().kinds).toContain('redis');
  });

  it('is binary safe: every byte value, and 10 MiB, through put, putBatch, get, getBatch and getSync', async () => {
    const connector = redis();
    const everyByte = Uint8Array.from({ length: 256 }, (_, i) => i);
    const big = payload(10 << 20, 42);
    const key = await connector.put(everyByte);
    const [bigKey, againKey] = await connector.putBatch([big, everyByte]);
    expectBytes(await connector.get(key), everyByte);
    const [gotBig, gotAgain] = await connector.getBatch([bigKey!, againKey!]);
    expectBytes(gotBig, big);
    expectBytes(gotAgain, everyByte);
    expectBytes(connector.getSync(key), everyByte);
    expectBytes(connector.getSync(bigKey!), big);
    // The bytes really are stored raw, not re-encoded.
    expect(await admin.getBuffer(key as string)).toEqual(Buffer.from(everyByte));
  });

  it('sends a put of its own scratch memory as written there, the SET around the bytes, without copying them; startPut too', async () => {
    const client = new Redis({ port: server.port, host: server.host });
    await client.ping(); // connected, so no command passes sendCommand twice (again from the offline queue)
    const written: Buffer[] = [];
    const send = client.sendCommand.bind(client);
    client.sendCommand = (command, stream) => {
      // What ioredis hands the socket for this command.
      if (command.name === 'set') written.push((command as { toWritable(socket: object): Buffer }).toWritable({}));
      return send(command, stream);
    };
    try {
      const connector = redis({ client, port: undefined });
      for (const [size, seed] of [[1 << 20, 7], [300 << 10, 8]] as const) {
        const bytes = connector.scratch(size);
        bytes.set(payload(size, seed));
        written.length = 0;
        let key;
        if (size === 1 << 20) key = await connector.put(bytes);
        else {
          const started = connector.startPut(bytes);
          await started.written;
          key = started.key;
        }
        expect(written).toHaveLength(1);
        const resp = written[0] as Buffer;
        const head = `*3\r\n$3\r\nSET\r\n$${(key as string).length}\r\n${key as string}\r\n$${size}\r\n`;
        expect(resp.subarray(0, head.length).toString('latin1')).toBe(head);
        expect(resp.subarray(head.length, head.length + size).equals(payload(size, seed))).toBe(true);
        expect(resp.subarray(head.length + size).toString('latin1')).toBe('\r\n');
        expect(await admin.getBuffer(key as string)).toEqual(Buffer.from(payload(size, seed)));
        // The same memory: the command was written around the bytes, not copied with them.
        expect(resp.buffer).toBe(bytes.buffer);
      }
      // Bytes the connector did not lend go through ioredis' own rendering.
      const own = payload(100 << 10, 9);
      written.length = 0;
      const key = await connector.put(own);
      expect(written[0]?.buffer).not.toBe(own.buffer);
      expectBytes(await connector.get(key), own);
    } finally {
      client.disconnect();
    }
  });

  it('puts and gets a batch in one command each (MSET, MGET), counted by the server', async () => {
    const connector = redis();
    await connector.exists(`${connector.prefix}warm-up`); // connection handshake out of the way
    await admin.config('RESETSTAT');
    const keys = await connector.putBatch([1, 2, 3, 4, 5].map((seed) => payload(1000, seed)));
    const got = await connector.getBatch(keys);
    got.forEach((bytes, i) => expectBytes(bytes, payload(1000, i + 1)));
    const calls = await commandCalls();
    expect(calls.get('mset')).toBe(1);
    expect(calls.get('mget')).toBe(1);
    expect(calls.get('set')).toBeUndefined();
    expect(calls.get('get')).toBeUndefined();
  });

  it('close({ clear: true }) deletes only its own keys: unrelated keys and its copies’ keys survive', async () => {
    const connector = redis();
    const copy = connectorFromConfig(JSON.parse(JSON.stringify(connector.config())) as ReturnType<RedisConnector['config']>);
    opened.push(copy);
    await admin.set('unrelated', 'keep me');
    await admin.set(`${connector.prefix}written-by-someone-else`, 'keep me too');
    const own = [await connector.put(payload(10, 1)), ...(await connector.putBatch([payload(10, 2), payload(10, 3)]))];
    const theirs = await copy.put(payload(10, 4));
    await connector.close({ clear: true });
    expect(await admin.exists(...(own as string[]))).toBe(0);
    expect(await admin.get('unrelated')).toBe('keep me');
    expect(await admin.get(`${connector.prefix}written-by-someone-else`)).toBe('keep me too');
    expectBytes(await copy.get(theirs), payload(10, 4));
    await admin.del('unrelated', `${connector.prefix}written-by-someone-else`);
  });

  it('clears correctly under a prefix full of glob characters', async () => {
    const connector = redis({ prefix: 'odd*?[x]\\:' });
    const key = (await connector.put(payload(10, 5))) as string;
    expect(key.startsWith('odd*?[x]\\:')).toBe(true);
    await connector.close({ clear: true });
    expect(await admin.exists(key)).toBe(0);
  });

  it('treats keys outside its prefix as missing, so it never reads or deletes unrelated data', async () => {
    const connector = redis();
    await admin.set('not-ours', 'secret');
    expect(await connector.get('not-ours')).toBeUndefined();
    expect(await connector.exists('not-ours')).toBe(false);
    await connector.evict('not-ours');
    expect(await admin.get('not-ours')).toBe('secret');
    expect(connector.getSync('not-ours')).toBeUndefined();
    await admin.del('not-ours');
    await expect(connector.get(42)).rejects.toThrow(ConnectorError);
  });

  it('uses an existing ioredis client, and close() leaves that client open', async () => {
    const client = new Redis({ port: server.port, host: server.host, db: 2 });
    try {
      const connector = redis({ client, port: undefined });
      expect(connector.config().options).toMatchObject({ host: '127.0.0.1', port: server.port, db: 2 });
      const data = payload(500, 6);
      const key = await connector.put(data);
      expectBytes(await connector.get(key), data);
      expectBytes(connector.getSync(key), data);
      await connector.close({ clear: true });
      expect(await client.ping()).toBe('PONG');
      expect(await client.exists(key as string)).toBe(0);
    } finally {
      client.disconnect();
    }
  });

  it('refuses a client together with connection options, and a client with a keyPrefix', () => {
    const client = new Redis({ port: server.port, lazyConnect: true });
    const prefixed = new Redis({ port: server.port, lazyConnect: true, keyPrefix: 'x:' });
    expect(() => new RedisConnector({ client, host: 'localhost' })).toThrow(/option 'host' cannot be combined with 'client'/);
    expect(() => new RedisConnector({ client: prefixed })).toThrow(ConfigError);
    client.disconnect();
    prefixed.disconnect();
  });

  it('config() survives JSON and rebuilds a connector reaching the same objects', async () => {
    const connector = redis({ db: 1, username: 'default', prefix: 'app:' });
    const config = connector.config();
    expect(config).toEqual({ kind: 'redis', options: { host: '127.0.0.1', port: server.port, db: 1, prefix: 'app:', username: 'default' } });
    const copy = connectorFromConfig(JSON.parse(JSON.stringify(config)) as typeof config);
    opened.push(copy);
    expect(copy.config()).toEqual(config);
    const data = payload(1000, 7);
    expectBytes(await copy.get(await connector.put(data)), data);
  });

  it('config() carries timeouts that are not the defaults, so copies wait as long as the sender; a receiver refuses one above its maxTimeoutMs', async () => {
    expect(redis().config().options).not.toHaveProperty('commandTimeoutMs');
    const config = redis({ connectTimeoutMs: 1_000, commandTimeoutMs: 300 }).config();
    expect(config.options).toMatchObject({ connectTimeoutMs: 1_000, commandTimeoutMs: 300 });
    // A copy decoded elsewhere fails as fast as the sender would against a server that never answers.
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const copy = connectorFromConfig(JSON.parse(JSON.stringify({ ...config, options: { ...config.options, port } })) as typeof config, { trusted: false });
      opened.push(copy);
      const started = performance.now();
      await expect(copy.get(`${(copy as RedisConnector).prefix}k`)).rejects.toThrow(/300 ms \(commandTimeoutMs\)/);
      expect(performance.now() - started).toBeLessThan(3_000);
    } finally {
      silent.close();
    }
    const raised = redis({ commandTimeoutMs: 60_000 }).config();
    expect(() => connectorFromConfig(raised, { trusted: false })).toThrow(DescriptorError);
    opened.push(connectorFromConfig(raised, { trusted: false, policy: resolvePolicy({ maxTimeoutMs: 60_000 }) }));
  });

  it('validates every option, naming it', () => {
    const bad: [string, unknown][] = [
      ['host', ''],
      ['host', 'two words'],
      ['port', 0],
      ['port', '6379'],
      ['db', -1],
      ['db', 1.5],
      ['prefix', ''],
      ['username', 3],
      ['password', 5],
      ['tls', 'yes'],
      ['connectTimeoutMs', 0],
      ['commandTimeoutMs', Number.POSITIVE_INFINITY],
    ];
    for (const [option, value] of bad) {
      const build = (): Connector => connectorFromConfig({ kind: 'redis', options: { [option]: value as string } });
      expect(build, option).toThrow(ConfigError);
      expect(build, option).toThrow(`option '${option}'`);
    }
    expect(() => new RedisConnector({ port: 70_000 })).toThrow(/option 'port'/);
  });

  it('refuses hosts outside the policy for untrusted configs, naming host and allowed hosts', () => {
    const options = { host: '10.20.30.40', port: 6379, prefix: 'proxystore:p:' };
    const refuse = (): Connector => connectorFromConfig({ kind: 'redis', options }, { trusted: false });
    expect(refuse).toThrow(DescriptorError);
    expect(refuse).toThrow(/'10\.20\.30\.40'.*127\.0\.0\.1, localhost, ::1/);
    // Connections are lazy: accepting a host contacts nobody until the connector is used.
    const accepted = connectorFromConfig({ kind: 'redis', options }, { trusted: false, policy: { hosts: ['10.20.30.40'] } });
    opened.push(accepted);
    opened.push(connectorFromConfig({ kind: 'redis', options: { ...options, host: 'LOCALHOST' } }, { trusted: false }));
    opened.push(connectorFromConfig({ kind: 'redis', options }));
  });

  it('unreachable at start: operations reject with a ConnectorError naming host:port and operation', async () => {
    const port = await freePort();
    const connector = redis({ port, commandTimeoutMs: 3_000 });
    expectConnectorError(await rejectionWithin(connector.put(payload(10, 8))), port, 'put');
    const key = `${connector.prefix}some-key`;
    const error = await rejectionWithin(connector.get(key));
    expectConnectorError(error, port, 'get');
    expect((error as Error).message).toContain(key);
    expectConnectorError(await rejectionWithin(connector.getBatch([key])), port, 'getBatch');
    let syncError: unknown;
    try {
      connector.getSync(key);
    } catch (caught) {
      syncError = caught;
    }
    expectConnectorError(syncError, port, 'getSync');
    // As the asynchronous reads, so that code retrying PS_REDIS_UNREACHABLE retries a proxy's first touch too.
    expect(error).toBeInstanceOf(RedisUnreachableError);
    expect(syncError).toBeInstanceOf(RedisUnreachableError);
    expect((syncError as RedisUnreachableError).address).toBe(`127.0.0.1:${port}`);
    await expect(connector.close()).resolves.toBeUndefined();
  });
});

describe('RedisConnector reads (GETs on a connection of its own, into pooled memory)', () => {
  const MiB = 1 << 20;

  it('a read’s array serves later reads once released, and never before; its bytes stay whole meanwhile', async () => {
    const connector = redis();
    const [first, second] = [await connector.put(payload(MiB, 1)), await connector.put(payload(MiB, 2))];
    const a = (await connector.get(first))!;
    expectBytes(a, payload(MiB, 1));
    const b = (await connector.get(second))!;
    // Not released: a fresh array, and the first keeps its bytes.
    expect(b.buffer === a.buffer).toBe(false);
    expectBytes(a, payload(MiB, 1));
    connector.releaseViews(first);
    const c = (await connector.get(second))!;
    expect(c.buffer === a.buffer).toBe(true);
    expectBytes(c, payload(MiB, 2));
    expectBytes(b, payload(MiB, 2));
    // A put of a read's array leaves that memory with its reader: reading again does not land in it.
    const kept = await connector.put(c);
    const d = (await connector.get(first))!;
    expect(d.buffer === c.buffer).toBe(false);
    expectBytes(c, payload(MiB, 2));
    expectBytes(await connector.get(kept), payload(MiB, 2));
  });

  it('pipelines: 50 concurrent gets of objects of many sizes, missing keys among them, all answer right on one connection', async () => {
    const connector = redis();
    const sizes = [0, 1, 2, 100, 65_535, 65_536, 65_537, 300_000, MiB];
    const keys = await Promise.all(sizes.map((size, i) => connector.put(payload(size, i))));
    const before = await clientCount();
    const asked = Array.from({ length: 50 }, (_, i) => (i % 10 === 9 ? `${connector.prefix}missing-${i}` : (keys[i % sizes.length] as string)));
    const reads = await Promise.all(asked.map((key) => connector.get(key)));
    reads.forEach((bytes, i) => {
      if (i % 10 === 9) expect(bytes).toBeUndefined();
      else expectBytes(bytes, payload(sizes[i % sizes.length] as number, i % sizes.length));
    });
    expect(await clientCount()).toBeLessThanOrEqual(before + 1);
  });

  it('reads from the database it was given, as a user with a password (AUTH with username, SELECT)', async () => {
    await admin.call('ACL', 'SETUSER', 'reader-test', 'on', '>reader-secret-1', '~*', '+@all');
    try {
      const inDb3 = redis({ db: 3, username: 'reader-test', password: 'reader-secret-1', prefix: 'dbtest:' });
      const key = await inDb3.put(payload(200_000, 5));
      expectBytes(await inDb3.get(key), payload(200_000, 5));
      // The same key in database 0 is another key: not there.
      expect(await redis({ prefix: 'dbtest:' }).get(key)).toBeUndefined();
      const wrong = redis({ db: 3, username: 'reader-test', password: 'not-the-secret-2', prefix: 'dbtest:', commandTimeoutMs: 3_000 });
      const error = await rejectionWithin(wrong.get(key));
      expect(error).toBeInstanceOf(ConnectorError);
      expect((error as Error).message).not.toContain('not-the-secret-2');
    } finally {
      await admin.call('ACL', 'DELUSER', 'reader-test');
    }
  });

  it('close({ clear: true }) and list() settle with a ConnectorError when SCAN replies are malformed or the cursor never ends', async () => {
    const scanReplies = ['*1\r\n$1\r\na\r\n', '*2\r\n$1\r\n1\r\n*0\r\n', '*2\r\n:5\r\n*0\r\n', '*2\r\n$1\r\n7\r\n*1\r\n:3\r\n'];
    for (const scanReply of scanReplies) {
      let scans = 0;
      // Answers each SCAN as given, and every other command (the client's INFO, UNLINK) with something harmless.
      const fake = net.createServer((socket) =>
        socket.on('data', (chunk) => {
          for (const [, command = ''] of chunk.toString().matchAll(/\*\d+\r\n\$\d+\r\n([A-Za-z]+)\r\n/g)) {
            if (/^scan$/i.test(command)) scans++;
            socket.write(/^scan$/i.test(command) ? scanReply : /^info$/i.test(command) ? '$0\r\n\r\n' : '+OK\r\n');
          }
        }),
      );
      await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
      const port = (fake.address() as net.AddressInfo).port;
      try {
        const listing = redis({ port, commandTimeoutMs: 2_000 });
        const listed = await rejectionWithin((async () => {
          for await (const _ of listing.list()) void _;
        })());
        expectConnectorError(listed, port, 'list');
        expect((listed as Error).message).toContain('protocol violation');
        const closing = new RedisConnector({ port, commandTimeoutMs: 2_000 });
        const closed = await rejectionWithin(closing.close({ clear: true }));
        expectConnectorError(closed, port, 'close');
        expect(scans).toBeLessThan(10);
      } finally {
        fake.close();
      }
    }
  });

  it('a server that answers a GET with anything but a string is refused at once, at no cost: nothing allocated for a length it names', async () => {
    const replies = ['$99999999999\r\n', '+OK\r\n', `$12${'3'.repeat(5000)}`, ':1\r\n', '$-2\r\n'];
    for (const reply of replies) {
      const fake = net.createServer((socket) => socket.once('data', () => socket.write(reply)));
      await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
      const port = (fake.address() as net.AddressInfo).port;
      try {
        const connector = redis({ port, commandTimeoutMs: 5_000 });
        const started = performance.now();
        const error = await rejectionWithin(connector.get(`${connector.prefix}k`));
        expectConnectorError(error, port, 'get');
        expect((error as Error).message).toContain('protocol violation');
        expect(performance.now() - started).toBeLessThan(4_000);
      } finally {
        fake.close();
      }
    }
  });

  it('closing the connector lets a read in flight finish, then ends the connection', async () => {
    const connector = redis();
    const data = payload(4 * MiB, 7);
    const key = await connector.put(data);
    const reading = connector.get(key);
    const closing = connector.close();
    expectBytes(await reading, data);
    await closing;
    await expect(connector.get(key)).rejects.toThrow(/closed/);
  });
});

describe('RedisConnector when the server goes away', () => {
  let flaky: RedisServer;
  beforeAll(async () => {
    flaky = await startRedisServer();
  });
  afterAll(async () => {
    await flaky?.stop();
  });

  it('fails fast while the server is down and works again once it is back, without being rebuilt', async () => {
    const connector = redis({ port: flaky.port, commandTimeoutMs: 3_000 });
    const before = await connector.put(payload(100, 9));
    await flaky.stop();
    const error = await rejectionWithin(connector.get(before));
    expectConnectorError(error, flaky.port, 'get');
    expect((error as Error).message).toContain(before as string);
    expectConnectorError(await rejectionWithin(connector.put(payload(100, 10))), flaky.port, 'put');
    await flaky.start();
    const data = payload(100, 11);
    const after = await eventually(() => connector.put(data));
    expectBytes(await connector.get(after), data);
    // A fresh server starts empty: the old object is gone, and reported as missing, not as an error.
    expect(await connector.get(before)).toBeUndefined();
  });

  it('a server that stops answering mid-operation (frozen) gives a ConnectorError, then serves again', async () => {
    const connector = redis({ port: flaky.port, commandTimeoutMs: 1_000 });
    const data = payload(1 << 20, 12);
    const key = await eventually(() => connector.put(data));
    flaky.pause();
    try {
      const error = await rejectionWithin(connector.get(key));
      expectConnectorError(error, flaky.port, 'get');
      expect((error as Error).message).toContain('no reply within 1000 ms');
      expectConnectorError(await rejectionWithin(connector.putBatch([data, data])), flaky.port, 'putBatch');
    } finally {
      flaky.resume();
    }
    expectBytes(await eventually(() => connector.get(key)), data);
  });

  it('getSync fails with a RedisUnreachableError while the server is down and recovers after restart', async () => {
    const connector = redis({ port: flaky.port, commandTimeoutMs: 2_000 });
    const data = payload(5000, 13);
    const key = await eventually(() => connector.put(data));
    expectBytes(connector.getSync(key), data);
    await flaky.stop();
    expect(() => connector.getSync(key)).toThrow(RedisUnreachableError);
    expect(() => connector.getSync(key)).toThrow(`redis 127.0.0.1:${flaky.port}: getSync of key`);
    await flaky.start();
    const again = await eventually(() => connector.put(data));
    expectBytes(await eventually(() => Promise.resolve(connector.getSync(again))), data);
  });
});

describe('RedisConnector passwords', () => {
  const PASSWORD = 'correct horse battery staple';
  let secured: RedisServer;
  beforeAll(async () => {
    secured = await startRedisServer({ args: ['--requirepass', PASSWORD] });
  });
  afterAll(async () => {
    await secured?.stop();
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('uses the password given, never puts it in config(), and passes it to the sync bridge', async () => {
    const connector = redis({ port: secured.port, password: PASSWORD });
    const data = payload(300, 14);
    const key = await connector.put(data);
    expect(JSON.stringify(connector.config())).not.toContain(PASSWORD);
    expectBytes(connector.getSync(key), data);
  });

  it('a connector rebuilt from config() takes the password from PROXYSTORE_REDIS_PASSWORD', async () => {
    const connector = redis({ port: secured.port, password: PASSWORD });
    const data = payload(300, 15);
    const key = await connector.put(data);
    const config = JSON.parse(JSON.stringify(connector.config())) as ReturnType<RedisConnector['config']>;

    vi.stubEnv(REDIS_PASSWORD_ENV, '');
    const without = connectorFromConfig(config, { trusted: false });
    opened.push(without);
    const error = await rejectionWithin(without.get(key));
    expectConnectorError(error, secured.port, 'get');
    expect((error as Error).message).toMatch(/NOAUTH/);

    vi.stubEnv(REDIS_PASSWORD_ENV, PASSWORD);
    // The receiver sends its password only to a server its policy lists.
    expect(() => connectorFromConfig(config, { trusted: false })).toThrow(/credentialServers/);
    const withEnv = connectorFromConfig(config, { trusted: false, policy: { credentialServers: [`127.0.0.1:${secured.port}`] } });
    opened.push(withEnv);
    expectBytes(await withEnv.get(key), data);
    expectBytes(withEnv.getSync?.(key), data);
  });

  it('refuses an untrusted config that carries a password; a wrong password is a ConnectorError', async () => {
    const options = { host: '127.0.0.1', port: secured.port, prefix: 'p:', password: PASSWORD };
    expect(() => connectorFromConfig({ kind: 'redis', options }, { trusted: false })).toThrow(DescriptorError);
    expect(() => connectorFromConfig({ kind: 'redis', options }, { trusted: false })).toThrow(REDIS_PASSWORD_ENV);
    const wrong = redis({ port: secured.port, password: 'not-the-password-123', commandTimeoutMs: 3_000 });
    const error = await rejectionWithin(wrong.put(payload(1, 1)));
    expectConnectorError(error, secured.port, 'put');
    expect((error as Error).message).not.toContain('not-the-password-123');
  });
});

describe('redis-server test helper', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('throws, rather than skipping anything, when redis-server is not installed', async () => {
    vi.stubEnv('PATH', path.join(os.tmpdir(), 'no-such-bin'));
    await expect(startRedisServer()).rejects.toThrow(/redis-server is not installed/);
  });
});

describe('RedisConnector shutdown', () => {
  it('close() ends its connections, the sync bridge worker’s included', async () => {
    const clientsBefore = await clientCount();
    const connector = new RedisConnector({ port: server.port });
    const key = await connector.put(payload(10, 16));
    connector.getSync(key);
    expect(await clientCount()).toBe(clientsBefore + 2);
    await connector.close({ clear: true });
    await eventually(async () => expect(await clientCount()).toBe(clientsBefore));
  });

  it('lets the process exit after close(), including after a synchronous read', async () => {
    const module = pathToFileURL(path.resolve(import.meta.dirname, '../../dist/runtime/connectors/redis.js')).href;
    const script = `
      const { RedisConnector } = await import(${JSON.stringify(module)});
      const connector = new RedisConnector({ port: ${server.port} });
      const key = await connector.put(new Uint8Array([1, 2, 3]));
      const bytes = connector.getSync(key);
      await connector.close({ clear: true });
      console.log(JSON.stringify([...bytes]));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: BOUND_MS });
    expect(stdout.trim()).toBe('[1,2,3]');
  });
});
