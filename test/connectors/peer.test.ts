import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import readline from 'node:readline';
import { createHmac } from 'node:crypto';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { connectorFromConfig } from '../../runtime/connectors/kinds.js';
import { MultiConnector } from '../../runtime/connectors/multi.js';
import { PEER_SECRET_ENV, PeerConnector, peerStats, type PeerConnectorOptions } from '../../runtime/connectors/peer.js';
import { RedisConnector } from '../../runtime/connectors/redis.js';
import { ConfigError, ConnectorError, DescriptorError } from '../../runtime/errors.js';
import { Store } from '../../runtime/store/store.js';
import { decodeProxies, encodeProxies } from '../../runtime/store/references.js';
import { isProxy, resolveAsync } from '../../runtime/proxy/proxy.js';
import { autoProxy, configureAutoProxy } from '../../runtime/store/auto-proxy.js';
import { ContextLifetime } from '../../runtime/store/lifetimes.js';
import type { Proxy } from '../../src/types.js';
import { fixture } from '../executors/helpers.js';
import { startRedisServer } from '../../runtime/testing/redis-server.js';
import { rejection } from '../../runtime/testing/outcomes.js';
import { describeConnector, expectBytes, payload } from '../../runtime/testing/connector-conformance.js';

/** Generous: failures must come back in seconds, not hang; nothing here measures speed. */
const BOUND_MS = 15_000;
const SECRET = 'peer-test-secret-0123456789';

describeConnector('peer', {
  // Ready: its server listens, so it offers startPut.
  make: async () => {
    const connector = new PeerConnector({ secret: SECRET });
    await connector.ready();
    return connector;
  },
  sync: true,
  sharedThroughConfig: true,
});

const opened: PeerConnector[] = [];
function peer(options: PeerConnectorOptions = {}): PeerConnector {
  const connector = new PeerConnector({ secret: SECRET, ...options });
  opened.push(connector);
  return connector;
}

const owners: ChildProcess[] = [];
afterEach(async () => {
  for (const connector of opened.splice(0)) await connector.close({ clear: true }).catch(() => undefined);
  for (const child of owners.splice(0)) {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
});

interface Owner {
  readonly child: ChildProcess;
  readonly keys: string[];
  /** The owner's peerStats(), asked over its stdin. */
  stats(): Promise<{ objects: number; bytes: number }>;
}

/** A separate process that puts objects of `sizes` into a peer connector of `space` and serves them. */
async function startOwner(space: string, sizes: readonly number[], secret = SECRET): Promise<Owner> {
  const child = spawn(process.execPath, [fixture('peer-owner.mjs'), space, JSON.stringify(sizes)], {
    env: { ...process.env, [PEER_SECRET_ENV]: secret },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  owners.push(child);
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<unknown> => JSON.parse(((await lines.next()).value as string | undefined) ?? 'null');
  const first = (await next()) as { keys: string[] } | null;
  if (first === null) throw new Error('the owner process exited before serving');
  return {
    child,
    keys: first.keys,
    stats: async () => {
      child.stdin.write('stats\n');
      return (await next()) as { objects: number; bytes: number };
    },
  };
}

/** The bytes peer-owner.mjs puts as object `seed`. */
function pattern(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

/** The rejection of `promise`, failing the test if it resolves or takes longer than `ms`. */
async function rejectionWithin(promise: Promise<unknown>, ms = BOUND_MS): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  try {
    return await rejection(Promise.race([promise, late]));
  } finally {
    clearTimeout(timer);
  }
}

function expectConnectorError(error: unknown, { address, operation, key, reason }: { address: string; operation: string; key: string; reason: RegExp }): void {
  expect(error).toBeInstanceOf(ConnectorError);
  const failure = error as ConnectorError;
  expect(failure.connector).toBe(`peer ${address}`);
  expect(failure.operation).toBe(operation);
  expect(failure.key).toBe(key);
  expect(failure.reason).toMatch(reason);
  expect(failure.message).toContain(address);
}

const addressOf = (key: string): string => key.split('/')[1]!;
const spaceOf = (key: string): string => key.split('/')[0]!;

describe('peer connector across processes', () => {
  it('fetches objects from the process that put them: get, getBatch, getSync, exists, evict, byte for byte', async () => {
    const sizes = [0, 1, 300, 1 << 20, 10 << 20];
    const owner = await startOwner('shared-space', sizes);
    const reader = peer({ space: 'shared-space' });
    for (const [seed, key] of owner.keys.entries()) expectBytes(await reader.get(key), pattern(sizes[seed]!, seed));
    const batch = await reader.getBatch([...owner.keys].reverse());
    batch.forEach((bytes, i) => expectBytes(bytes, pattern(sizes[sizes.length - 1 - i]!, sizes.length - 1 - i)));
    expectBytes(reader.getSync(owner.keys[3]!), pattern(sizes[3]!, 3));
    expect(await reader.exists(owner.keys[2]!)).toBe(true);
    // Nothing was fetched into this process's store of objects: reading never copies an object here for keeps.
    expect(peerStats().objects).toBe(0);
    await reader.evict(owner.keys[2]!);
    expect(await reader.exists(owner.keys[2]!)).toBe(false);
    expect(await reader.get(owner.keys[2]!)).toBeUndefined();
    expect(reader.getSync(owner.keys[2]!)).toBeUndefined();
    expect(await owner.stats()).toMatchObject({ objects: sizes.length - 1 });
    for (const key of owner.keys) await reader.evict(key);
    expect(await owner.stats()).toMatchObject({ objects: 0, bytes: 0 });
  });

  it('keeps one connection per peer and pipelines: 200 concurrent gets of one owner all answer right', async () => {
    const sizes = Array.from({ length: 200 }, (_, i) => 1000 + i * 517);
    const owner = await startOwner('pipelined', sizes);
    const reader = peer({ space: 'pipelined' });
    const got = await Promise.all(owner.keys.map((key) => reader.get(key)));
    got.forEach((bytes, i) => expectBytes(bytes, pattern(sizes[i]!, i)));
    const server = owner.keys[0]!.split('/')[1]!.split(':');
    // The owner sees exactly one client connection from us.
    const connections = await new Promise<string>((resolve) => {
      const ss = spawn('ss', ['-Htn', 'state', 'established', `( sport = :${server[1]} )`]);
      let out = '';
      ss.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      ss.on('close', () => resolve(out));
    });
    expect(connections.trim().split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('a store proxy’s descriptor carries neither the secret nor any address but in its key, and decodes to a proxy that reads the object', async () => {
    const made = new Store('peer-proxy-maker', peer({ space: 'store-space' }), { register: false });
    const p = await made.proxy(new Float64Array([1, 2, 3]));
    const text = JSON.stringify(encodeProxies(p));
    expect(text).not.toContain(SECRET);
    expect(made.connector.config()).toEqual({ kind: 'peer', options: { space: 'store-space' } });
    const back = decodeProxies(JSON.parse(text) as unknown) as Proxy<Float64Array>;
    expect([...(await resolveAsync(back))]).toEqual([1, 2, 3]);
  });

  it('owner killed (SIGKILL): get, exists and evict fail with a ConnectorError naming the peer, operation and key, in bounded time', async () => {
    const owner = await startOwner('killed', [1 << 20, 10]);
    const reader = peer({ space: 'killed', connectTimeoutMs: 2_000, requestTimeoutMs: 2_000 });
    expectBytes(await reader.get(owner.keys[1]!), pattern(10, 1));
    owner.child.kill('SIGKILL');
    await once(owner.child, 'exit');
    const key = owner.keys[0]!;
    for (const [operation, run] of [
      ['get', () => reader.get(key)],
      ['getBatch', () => reader.getBatch([key])],
      ['exists', () => reader.exists(key)],
      ['evict', () => reader.evict(key)],
    ] as const) {
      expectConnectorError(await rejectionWithin(run()), { address: addressOf(key), operation, key, reason: /refused|reset|closed|exited/ });
    }
    expect(() => reader.getSync(key)).toThrow(ConnectorError);
  });

  it('owner exits normally while a 10 MB get is pending or after: the reader gets a ConnectorError, never a hang', async () => {
    const owner = await startOwner('exited', [10 << 20]);
    const reader = peer({ space: 'exited' });
    const key = owner.keys[0]!;
    owner.child.stdin!.end();
    await once(owner.child, 'exit');
    expectConnectorError(await rejectionWithin(reader.get(key)), { address: addressOf(key), operation: 'get', key, reason: /refused|reset|closed/ });
  });

  it('a frozen owner (as behind a cut network) fails a request within requestTimeoutMs, and a new connection within connectTimeoutMs', async () => {
    const owner = await startOwner('frozen', [1000, 2000]);
    const open = peer({ space: 'frozen', requestTimeoutMs: 500, connectTimeoutMs: 500 });
    expectBytes(await open.get(owner.keys[0]!), pattern(1000, 0));
    owner.child.kill('SIGSTOP');
    const started = Date.now();
    const key = owner.keys[1]!;
    expectConnectorError(await rejectionWithin(open.get(key), 5_000), { address: addressOf(key), operation: 'get', key, reason: /requestTimeoutMs/ });
    // The failed connection is dropped; a new one reaches the kernel's backlog but never gets the owner's greeting.
    expectConnectorError(await rejectionWithin(open.exists(key), 5_000), { address: addressOf(key), operation: 'exists', key, reason: /connectTimeoutMs/ });
    expect(Date.now() - started).toBeLessThan(5_000);
    owner.child.kill('SIGCONT');
    // Once the owner is back, the next request opens a new connection and works.
    expectBytes(await open.get(key), pattern(2000, 1));
  });

  it('closing a connector fails its requests in flight at once, naming the close', async () => {
    const owner = await startOwner('closing', [1000]);
    const reader = new PeerConnector({ secret: SECRET, space: 'closing', requestTimeoutMs: 60_000 });
    expectBytes(await reader.get(owner.keys[0]!), pattern(1000, 0));
    owner.child.kill('SIGSTOP');
    const pending = reader.get(owner.keys[0]!);
    await reader.close();
    const key = owner.keys[0]!;
    expectConnectorError(await rejectionWithin(pending, 5_000), { address: addressOf(key), operation: 'get', key, reason: /closed while the request was in flight/ });
  });

  it('refuses a request signed with another secret, naming the cause', async () => {
    const owner = await startOwner('secret-space', [100], 'the-owners-secret');
    const reader = peer({ space: 'secret-space', secret: 'another-secret' });
    const key = owner.keys[0]!;
    expectConnectorError(await rejectionWithin(reader.get(key)), { address: addressOf(key), operation: 'get', key, reason: /refused: request not signed with this peer’s secret/ });
    expect(await owner.stats()).toMatchObject({ objects: 1 });
    // Evicting needs the secret as well.
    await rejectionWithin(reader.evict(key));
    expect(await owner.stats()).toMatchObject({ objects: 1 });
  });

  it('a server answers only for objects it owns: a key naming its address with another node’s id is refused', async () => {
    const owner = await startOwner('owned', [100]);
    const reader = peer({ space: 'owned' });
    const [space, address, id] = owner.keys[0]!.split('/') as [string, string, string];
    const forged = `${space}/${address}/someone-else.${id.split('.')[1]!}`;
    expectConnectorError(await rejectionWithin(reader.get(forged)), { address, operation: 'get', key: forged, reason: /not the owner/ });
    // The connection survives a refusal of that kind: the real key still reads.
    expectBytes(await reader.get(owner.keys[0]!), pattern(100, 0));
  });

  it('a server refuses replayed requests and oversized or malformed frames, and keeps serving others', async () => {
    const owner = await startOwner('raw', [100]);
    const key = owner.keys[0]!;
    const { host, port } = splitAddress(addressOf(key));
    const raw = await rawClient(host, port);
    const request = signedGet(raw.nonce, 7, spaceOf(key), key.split('/')[2]!);
    raw.socket.write(request);
    expect(await raw.reply()).toMatchObject({ requestId: 7, status: 0, size: 100 });
    raw.socket.write(request);
    expect(await raw.reply()).toMatchObject({ requestId: 7, status: 2, text: expect.stringMatching(/replayed/) as unknown });
    await once(raw.socket, 'close');
    // The same bytes on a new connection: its nonce differs, so the signature does not match.
    const second = await rawClient(host, port);
    second.socket.write(request);
    expect(await second.reply()).toMatchObject({ status: 2, text: expect.stringMatching(/not signed/) as unknown });
    // A frame announcing 4 GB is refused at once, before any of it is buffered.
    const third = await rawClient(host, port);
    const huge = Buffer.alloc(4);
    huge.writeUInt32BE(0xffff_fff0);
    third.socket.write(huge);
    expect(await third.reply()).toMatchObject({ status: 2, text: expect.stringMatching(/outside the bounds/) as unknown });
    await once(third.socket, 'close');
    const reader = peer({ space: 'raw' });
    expectBytes(await reader.get(key), pattern(100, 0));
  });

  it('closes a connection that sends no signed request within connectTimeoutMs, keeps a proven one open however idle, and takes at most 256 unproven at once', async () => {
    const owner = peer({ space: `unproven-${crypto.randomUUID()}`, connectTimeoutMs: 400 });
    const key = (await owner.put(payload(100, 3))) as string;
    const { host, port } = splitAddress(addressOf(key));
    const silent = await rawClient(host, port);
    const closedAt = performance.now();
    await once(silent.socket, 'close');
    expect(performance.now() - closedAt).toBeLessThan(BOUND_MS);
    // A client that signed a request stays connected past the deadline and is answered again.
    const proven = await rawClient(host, port);
    proven.socket.write(signedGet(proven.nonce, 1, spaceOf(key), key.split('/')[2]!));
    expect(await proven.reply()).toMatchObject({ requestId: 1, status: 0, size: 100 });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(proven.socket.destroyed).toBe(false);
    proven.socket.write(signedGet(proven.nonce, 2, spaceOf(key), key.split('/')[2]!));
    expect(await proven.reply()).toMatchObject({ requestId: 2, status: 0, size: 100 });
    // 256 strangers at once get their greeting; the next is closed before any byte.
    const strangers = await Promise.all(Array.from({ length: 256 }, () => rawClient(host, port)));
    const extra = net.connect({ host, port });
    extra.on('error', () => undefined);
    const received: Buffer[] = [];
    extra.on('data', (chunk: Buffer) => received.push(chunk));
    await once(extra, 'close');
    expect(received).toHaveLength(0);
    for (const stranger of strangers) stranger.socket.destroy();
    // The proven connection was never counted among them, and once the strangers are gone new clients get through.
    proven.socket.write(signedGet(proven.nonce, 3, spaceOf(key), key.split('/')[2]!));
    expect(await proven.reply()).toMatchObject({ requestId: 3, status: 0, size: 100 });
    proven.socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const later = await rawClient(host, port);
    later.socket.write(signedGet(later.nonce, 1, spaceOf(key), key.split('/')[2]!));
    const reply = await later.reply();
    expect(reply).toMatchObject({ requestId: 1, status: 0, size: 100 });
    expectBytes(reply.body, payload(100, 3));
    later.socket.destroy();
  });

  it('a reader refuses a reply bigger than its maxObjectBytes and a peer that is not a ts-proxystore peer', async () => {
    const fake = net.createServer((socket) => {
      const hello = Buffer.alloc(21);
      hello.writeUInt32BE(17);
      hello.writeUInt8(1, 4);
      socket.write(hello);
      socket.once('data', () => {
        const header = Buffer.alloc(9);
        header.writeUInt32BE(0xffff_fff0);
        header.writeUInt32BE(0, 4);
        socket.write(header);
      });
      socket.on('error', () => undefined);
    });
    fake.listen(0, '127.0.0.1');
    await once(fake, 'listening');
    const { port } = fake.address() as net.AddressInfo;
    const reader = peer({ space: 'victim', maxObjectBytes: 1 << 20 });
    const key = `victim/127.0.0.1:${port}/x.0`;
    expectConnectorError(await rejectionWithin(reader.get(key)), { address: `127.0.0.1:${port}`, operation: 'get', key, reason: /protocol violation.*maxObjectBytes/ });
    fake.close();
    const http = net.createServer((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    const other = `victim/127.0.0.1:${(http.address() as net.AddressInfo).port}/x.0`;
    expect(((await rejectionWithin(reader.get(other))) as ConnectorError).reason).toMatch(/not a ts-proxystore peer/);
    http.close();
  });

  it('refuses to put an object bigger than maxObjectBytes', async () => {
    const connector = peer({ maxObjectBytes: 1000 });
    const error = await rejectionWithin(connector.put(new Uint8Array(1001)));
    expect(error).toBeInstanceOf(ConnectorError);
    expect((error as ConnectorError).reason).toMatch(/maxObjectBytes/);
  });

  it('a connector rebuilt from a descriptor made elsewhere contacts only the hosts of the receiver’s policy, and takes no secret from it', async () => {
    const untrusted = connectorFromConfig({ kind: 'peer', options: { space: 'policed' } }, { trusted: false });
    opened.push(untrusted as PeerConnector);
    const listener = net.createServer(() => {
      throw new Error('nothing may connect here');
    });
    listener.listen(0, '127.0.0.2');
    await once(listener, 'listening');
    const address = `127.0.0.2:${(listener.address() as net.AddressInfo).port}`;
    const error = await rejectionWithin(untrusted.get(`policed/${address}/x.0`));
    expect(error).toBeInstanceOf(DescriptorError);
    expect((error as DescriptorError).message).toMatch(/names host '127\.0\.0\.2'.*allowed hosts: 127\.0\.0\.1, localhost, ::1/);
    // Through a store, the refusal stays a DescriptorError (PS_DESCRIPTOR), not a connector failure.
    const store = new Store(`policed-${crypto.randomUUID()}`, untrusted);
    expect(await rejectionWithin(store.get(`policed/${address}/x.0`))).toBeInstanceOf(DescriptorError);
    listener.close();
    // With the host in the policy it connects (and finds no peer there).
    const allowed = connectorFromConfig({ kind: 'peer', options: { space: 'policed2' } }, { trusted: false, policy: { hosts: ['127.0.0.2'] } });
    opened.push(allowed as PeerConnector);
    expect(await rejectionWithin(allowed.get(`policed2/${address}/x.0`))).toBeInstanceOf(ConnectorError);
    expect(() => connectorFromConfig({ kind: 'peer', options: { space: 's', secret: 'mine' } }, { trusted: false })).toThrow(DescriptorError);
    expect(() => connectorFromConfig({ kind: 'peer', options: { space: 's', allowedHosts: ['evil'] } }, { trusted: false })).toThrow(DescriptorError);
  });

  it('validates its options, and a space is served by one server per process', () => {
    expect(() => new PeerConnector({ host: '0.0.0.0' })).toThrow(/advertiseHost/);
    expect(() => new PeerConnector({ port: 70_000 })).toThrow(ConfigError);
    expect(() => new PeerConnector({ space: 'a/b' })).toThrow(ConfigError);
    peer({ space: 'one-server', requestTimeoutMs: 1_000 });
    expect(() => new PeerConnector({ space: 'one-server', requestTimeoutMs: 2_000 })).toThrow(/already served/);
  });

  it('binds where told and advertises the given host in its keys', async () => {
    const connector = peer({ host: '0.0.0.0', advertiseHost: '127.0.0.1' });
    const key = (await connector.put(payload(10, 1))) as string;
    expect(addressOf(key)).toMatch(/^127\.0\.0\.1:\d+$/);
    const fromElsewhere = await startOwner('bind-check', [10]);
    expectBytes(await peer({ space: 'bind-check' }).get(fromElsewhere.keys[0]!), pattern(10, 0));
  });
});

describe('peer connector startPut', () => {
  afterEach(() => configureAutoProxy({}));

  it('offers startPut once its server listens, and autoProxy then writes through it values another process reads', async () => {
    const connector = peer({ space: 'auto-proxy' });
    // The port, which keys name, is not known in the very tick the connector is made.
    expect(connector.startPut).toBeUndefined();
    const address = await connector.ready();
    expect(connector.startPut).toBeTypeOf('function');
    const started = connector.startPut!(payload(10, 1));
    expect({ readable: started.readable, address: addressOf(started.key as string) }).toEqual({ readable: true, address });
    expectBytes(await connector.get(started.key), payload(10, 1));
    const store = new Store(`auto-peer-${crypto.randomUUID()}`, connector);
    const lifetime = new ContextLifetime(store);
    configureAutoProxy({ store, threshold: 1000, lifetime });
    const value = payload(100_000, 9);
    const wrapped = autoProxy(value, 'peer.test.ts:1:1');
    expect(isProxy(wrapped)).toBe(true);
    // A synchronous crossing: the key is handed out at once, and the bytes are already served.
    const message = JSON.stringify(encodeProxies({ value: wrapped }));
    const reader = spawn(process.execPath, [fixture('peer-reader.mjs'), message], { env: { ...process.env, [PEER_SECRET_ENV]: SECRET }, stdio: ['ignore', 'pipe', 'inherit'] });
    owners.push(reader);
    const [line] = (await once(readline.createInterface({ input: reader.stdout }), 'line')) as [string];
    expect(JSON.parse(line)).toEqual({ length: value.byteLength, sum: value.reduce((sum, byte) => sum + byte, 0) });
    // One write for the crossing, freed with its lifetime.
    expect(peerStats().bytes).toBeGreaterThan(value.byteLength);
    await lifetime.close();
    expect(peerStats().bytes).toBeLessThan(value.byteLength);
  });

  it('startPut of a closed connector throws a ConnectorError', async () => {
    const connector = peer();
    await connector.ready();
    await connector.close();
    expect(() => connector.startPut!(payload(10, 1))).toThrow(ConnectorError);
  });
});

describe('peer connector memory reuse', () => {
  const MiB = 1 << 20;
  // Identity of buffers is checked as booleans: a failing toBe would print megabytes.

  it('a remote read’s array serves later reads once released, and never before; a put copies out of it', async () => {
    const owner = await startOwner('reuse-reads', [MiB, MiB]);
    const [first, second] = owner.keys as [string, string];
    const reader = peer({ space: 'reuse-reads' });
    const a = (await reader.get(first))!;
    expectBytes(a, pattern(MiB, 0));
    const b = (await reader.get(second))!;
    // Not released: a fresh array, and the first one keeps its bytes.
    expect(b.buffer === a.buffer).toBe(false);
    expectBytes(a, pattern(MiB, 0));
    reader.releaseViews(first);
    const c = (await reader.get(second))!;
    expect(c.buffer === a.buffer).toBe(true);
    expectBytes(c, pattern(MiB, 1));
    // An object put from a read's array is a copy: releasing the read and reading again into that memory leaves it whole.
    const kept = await reader.put(c);
    reader.releaseViews(second);
    const [d, e] = (await reader.getBatch([first, first])) as [Uint8Array, Uint8Array];
    expect(d.buffer !== e.buffer && [d, e].every((read) => read.buffer === b.buffer || read.buffer === c.buffer)).toBe(true);
    expectBytes(d, pattern(MiB, 0));
    expectBytes(e, pattern(MiB, 0));
    expectBytes(await reader.get(kept), pattern(MiB, 1));
  });

  it('keeps no read alive that its reader dropped without releasing it', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const owner = await startOwner('reuse-dropped', [MiB]);
    const reader = peer({ space: 'reuse-dropped' });
    const dropped: WeakRef<ArrayBufferLike>[] = [];
    for (let i = 0; i < 4; i++) dropped.push(new WeakRef((await reader.get(owner.keys[0]!))!.buffer));
    await new Promise((resolve) => setTimeout(resolve, 10));
    gc();
    expect(dropped.filter((read) => read.deref() !== undefined)).toHaveLength(0);
  });

  it('an evicted object’s memory serves later allocations only once this thread released its views of it', async () => {
    const connector = peer();
    const viewed = connector.allocate(MiB, { zeroed: false });
    const key = await connector.put(viewed);
    await connector.evict(key);
    // The caller of allocate (not transient) still holds the array.
    expect(connector.allocate(MiB, { transient: true }).buffer === viewed.buffer).toBe(false);
    const released = connector.allocate(MiB, { zeroed: false });
    const releasedKey = await connector.put(released);
    connector.releaseViews(releasedKey);
    await connector.evict(releasedKey);
    const reused = connector.allocate(MiB);
    expect(reused.buffer === released.buffer).toBe(true);
    // Zeroed unless asked otherwise, even when reused.
    expect(reused.every((byte) => byte === 0)).toBe(true);
    // A local read hands out the stored array, a view this thread holds until it releases it.
    const transient = connector.allocate(MiB, { transient: true, zeroed: false });
    const readKey = await connector.put(transient);
    expect((await connector.get(readKey)) === transient).toBe(true);
    await connector.evict(readKey);
    expect(connector.allocate(MiB, { transient: true }).buffer === transient.buffer).toBe(false);
  });

  it('an evicted object’s memory is not reused while a reply is still sending it', async () => {
    const size = 32 * MiB;
    const connector = peer({ space: 'reuse-send' });
    const data = connector.allocate(size, { transient: true, zeroed: false });
    data.set(payload(size, 5));
    const key = (await connector.put(data)) as string;
    const { host, port } = splitAddress(addressOf(key));
    const raw = await rawClient(host, port);
    // The reader stops reading, so the 32 MiB reply cannot all leave: the server is still sending it.
    raw.socket.pause();
    raw.socket.write(signedGet(raw.nonce, 1, spaceOf(key), key.split('/')[2]!));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await connector.evict(key);
    const next = connector.allocate(size, { transient: true, zeroed: false });
    expect(next.buffer === data.buffer).toBe(false);
    next.fill(0xee);
    raw.socket.resume();
    const reply = await raw.reply();
    expect({ status: reply.status, size: reply.size }).toEqual({ status: 0, size });
    expectBytes(reply.body, payload(size, 5));
    // Once the reply has left, the memory is reused.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(connector.allocate(size, { transient: true }).buffer === data.buffer).toBe(true);
    raw.socket.destroy();
  });
});

function splitAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}

function signedGet(nonce: Buffer, requestId: number, space: string, id: string): Buffer {
  const body = Buffer.concat([Buffer.from([1]), u32(requestId), Buffer.from([Buffer.byteLength(space)]), Buffer.from(space), Buffer.from([Buffer.byteLength(id)]), Buffer.from(id)]);
  const mac = createHmac('sha256', SECRET).update(nonce).update(body).digest();
  return Buffer.concat([u32(mac.length + body.length), mac, body]);
}

function u32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value);
  return bytes;
}

/** A bare protocol client: the server's nonce, and replies parsed one at a time. */
async function rawClient(host: string, port: number): Promise<{ socket: net.Socket; nonce: Buffer; reply(): Promise<{ requestId: number; status: number; size: number; text: string; body: Buffer }> }> {
  const socket = net.connect({ host, port });
  socket.on('error', () => undefined);
  // Chunks joined only once a read needs them, so a reply of many MB costs one copy.
  const chunks: Buffer[] = [];
  let bufferedBytes = 0;
  let wake: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    bufferedBytes += chunk.length;
    wake?.();
  });
  const take = async (size: number): Promise<Buffer> => {
    while (bufferedBytes < size) await new Promise<void>((resolve) => (wake = resolve));
    const joined = Buffer.concat(chunks.splice(0));
    const rest = joined.subarray(size);
    if (rest.length > 0) chunks.push(rest);
    bufferedBytes = rest.length;
    return joined.subarray(0, size);
  };
  const hello = await take(21);
  return {
    socket,
    nonce: Buffer.from(hello.subarray(5)),
    reply: async () => {
      const header = await take(9);
      const size = header.readUInt32BE(0) - 5;
      const body = await take(size);
      return { requestId: header.readUInt32BE(4), status: header.readUInt8(8), size, text: body.toString('utf8'), body };
    },
  };
}

describe('peer connector inside a MultiConnector', () => {
  it('big objects go to the peer connector, small and durable-tagged ones to Redis, and a worker-side rebuild reads both', async () => {
    const server = await startRedisServer();
    try {
      const redis = new RedisConnector({ port: server.port });
      const multi = new MultiConnector({
        connectors: {
          peer: { connector: peer(), policy: { minSize: 1_000_000, priority: 1, tags: ['bulk'] } },
          redis: { connector: redis, policy: { tags: ['durable'] } },
        },
      });
      const big = payload(2_000_000, 1);
      const small = payload(100, 2);
      const bigKey = await multi.put(big);
      const smallKey = await multi.put(small);
      const [durableKey] = await multi.putBatchWith([big], { tags: ['durable'] });
      expect([bigKey, smallKey, durableKey].map((key) => (key as { c: string }).c)).toEqual(['peer', 'redis', 'redis']);
      // As a worker would: from the descriptor's config, untrusted, with the policy allowing loopback.
      const rebuilt = connectorFromConfig(multi.config(), { trusted: false });
      expectBytes(await rebuilt.get(bigKey), big);
      expectBytes(await rebuilt.get(smallKey), small);
      expectBytes(await rebuilt.get(durableKey!), big);
      await rebuilt.close();
      await multi.close({ clear: true });
    } finally {
      await server.stop();
    }
  });
});
