/// <reference types="node" preserve="true" />
import { randomBytes, randomUUID } from 'node:crypto';
import type { Redis, RedisOptions } from 'ioredis';
import type { CloseOptions, Connector, ConnectorConfig, JsonValue, Key, ListedObject, ReferencePolicy, StartedPut } from './connector.js';
import { isAllowedEndpoint, registerConnectorKind, splitHostPort } from './kinds.js';
import { ConfigError, ConnectorError, DescriptorError } from '../errors.js';
import { requireOptional } from '../support/optional-dependency.js';
import { acquireSyncBridge, type SyncBridge } from './sync-bridge/bridge.js';
import { rejectUnknownOptions } from './options.js';
import { LentReads, ScratchPool } from './scratch.js';
import { RedisReadLink } from './redis-reads.js';
import { redisFailure } from './redis-failure.js';

/** TLS settings that survive JSON, so they can travel in `config()` (e.g. servername, rejectUnauthorized, a PEM `ca` string). */
export type RedisTlsOptions = boolean | { readonly [option: string]: JsonValue };

export interface RedisConnectorOptions {
  /** Default '127.0.0.1'. */
  readonly host?: string;
  /** Default 6379. */
  readonly port?: number;
  /** Default 0. */
  readonly db?: number;
  /**
   * Every key starts with it. Default: `proxystore:<random>:`, a namespace of
   * this connector's own that its copies rebuilt from `config()` share.
   */
  readonly prefix?: string;
  readonly username?: string;
  /**
   * Never part of `config()`: a connector rebuilt from a descriptor takes it
   * from the receiver's `PROXYSTORE_REDIS_PASSWORD` environment variable.
   */
  readonly password?: string;
  readonly tls?: RedisTlsOptions;
  /**
   * An ioredis client to use instead of opening one; its connection settings
   * and failure handling are its owner's, and `close()` leaves it open. Do not
   * combine with host, port, db, username, password or tls.
   */
  readonly client?: Redis;
  /** Bound on establishing each connection. Default 5 s. */
  readonly connectTimeoutMs?: number;
  /**
   * Bound on each command, from the moment it is issued, waiting for a
   * connection included, so no operation hangs on an unreachable or frozen
   * server. Default 10 s; raise it for objects of hundreds of MB over slow links.
   * ioredis arms a timer per command for it, about 8 µs: the connector's only
   * measurable cost over bare ioredis, and only visible for small objects.
   */
  readonly commandTimeoutMs?: number;
}

const ioredis = requireOptional<typeof import('ioredis')>('ioredis', 'ts-proxystore/connectors/redis');

/** Read by `fromOptions`, i.e. by connectors rebuilt from a config, which never carries the password. */
export const REDIS_PASSWORD_ENV = 'PROXYSTORE_REDIS_PASSWORD';

const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_PORT = 6379;
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;
/** A sync read may first have to start the bridge worker and load ioredis in it. */
const BRIDGE_START_ALLOWANCE_MS = 5_000;
const DISCONNECT_TIMEOUT_MS = 200;
/** Keys asked of SCAN (and so unlinked) per round trip when clearing. */
const CLEAR_BATCH = 1_000;
/** Rounds of SCAN that cover a billion hash buckets: more than any keyspace needs, and a bound on a server that never ends its cursor. */
const MAX_SCAN_ROUNDS = 1_000_000;
/**
 * A command fails after one reconnect attempt instead of ioredis' default 20,
 * so an unreachable server is reported in about a second rather than queued.
 */
const MAX_RETRIES_PER_REQUEST = 1;
/**
 * While commands wait, reconnection backs off to one attempt a second, so the
 * connector works again as soon as Redis is back; those commands still fail
 * within `commandTimeoutMs` at most. With none waiting it stops (see `#open`).
 */
const retryDelay = (attempt: number): number => Math.min(attempt * 100, 1_000);
/**
 * Readers blocked in `whenWritten` at once, each on a connection of its own
 * (a blocking read holds its connection); past it, they poll.
 */
const MAX_BLOCKED_READERS = 16;
/** How long a `set`'s notice lives: far longer than a reader takes between missing the key and blocking on it. */
const NOTICE_TTL_MS = 60_000;

const CONNECTION_OPTIONS = ['host', 'port', 'db', 'username', 'password', 'tls'] as const;
/** What a config may carry: everything but a live client. */
const CONFIG_OPTIONS = [...CONNECTION_OPTIONS, 'prefix', 'connectTimeoutMs', 'commandTimeoutMs'];

interface Settings {
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly prefix: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly tls: RedisTlsOptions | undefined;
  readonly connectTimeoutMs: number;
  readonly commandTimeoutMs: number;
}

/**
 * Keeps objects in Redis as binary-safe strings, so any thread, process or
 * machine that can reach the server can read them.
 *
 * Keys are `<prefix><instance>:<uuid>`. The instance part is random per
 * connector and not in `config()`: copies rebuilt from the config read, write
 * and evict anywhere under the prefix, while `close({ clear: true })` deletes
 * exactly this instance's keys (found by SCAN, so a put that timed out but
 * reached Redis later is not left behind) and never anything else.
 * Keys outside the prefix are treated as missing, so a descriptor cannot make
 * this connector read or delete unrelated data on the server.
 *
 * `get` returns a plain Uint8Array, the caller's alone until it calls
 * `releaseViews(key)`: reads on the connector's own connection (see
 * redis-reads.ts) then reuse its memory.
 */
export class RedisConnector implements Connector {
  readonly kind = 'redis';
  readonly prefix: string;
  readonly #settings: Settings;
  readonly #client: Redis;
  readonly #ownsClient: boolean;
  /** Names the server in errors: 'redis host:port'. */
  readonly #name: string;
  readonly #instancePrefix: string;
  /** Room around each scratch buffer for the SET that carries it (see `#set`). */
  readonly #scratch: ScratchPool;
  /** GETs' own connection, when the connector opens its connections itself without TLS; undefined until the first read. */
  #reads: RedisReadLink | undefined;
  /**
   * What GETs read into (see redis-reads.ts), by key, until `releaseViews`
   * gives it back for later reads. A pool apart from puts': a put of a read's
   * array must not hand that memory on while its reader still has it.
   */
  readonly #lentReads = new LentReads(new ScratchPool());
  #lastConnectionError: Error | undefined;
  /** 'host:port', for messages. */
  readonly #address: string;
  /** Commands issued and not yet settled: while there are none, nothing of the connector keeps the process alive. */
  #inFlight = 0;
  /** Keys of failed puts whose deletion failed too; deleted once the connection is back, or at close. */
  readonly #orphans = new Set<string>();
  #bridge: SyncBridge | undefined;
  #closing: Promise<void> | undefined;
  /** Connections for `whenWritten`'s blocking reads: idle ones, and how many are blocked now. */
  readonly #idleReaders: Redis[] = [];
  readonly #blockedReaders = new Set<Redis>();

  constructor(options: RedisConnectorOptions = {}) {
    rejectUnknownOptions('redis', options, [...CONFIG_OPTIONS, 'client']);
    const { client } = options;
    if (client !== undefined) {
      const clash = CONNECTION_OPTIONS.find((option) => options[option] !== undefined);
      if (clash !== undefined) throw new ConfigError(`redis connector: option '${clash}' cannot be combined with 'client' (the client's own settings apply)`);
    }
    const settings = parseSettings(client === undefined ? { ...options } : { ...options, ...settingsOfClient(client) });
    this.#settings = settings;
    this.prefix = settings.prefix;
    this.#instancePrefix = `${settings.prefix}${randomBytes(6).toString('base64url')}:`;
    this.#scratch = new ScratchPool(undefined, { before: setHeadRoom(this.#instancePrefix), after: RESP_END.length });
    this.#address = `${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${settings.port}`;
    this.#name = `redis ${this.#address}`;
    this.#ownsClient = client === undefined;
    this.#client = client ?? this.#open();
  }

  async put(data: Uint8Array): Promise<Key> {
    this.#assertOpen('put');
    const key = this.#newKey();
    await this.#write('put', [key], () => this.#set(key, data));
    this.#scratch.giveBack(data);
    return key;
  }

  /** Memory to serialize a put into; once the server has the bytes it serves a later put. */
  scratch(size: number): Uint8Array {
    this.#assertOpen('scratch');
    return this.#scratch.take(size);
  }

  /** Keys are made locally, so the SET can finish after the key is handed out. */
  startPut(data: Uint8Array): StartedPut {
    this.#assertOpen('startPut');
    const key = this.#newKey();
    return { key, written: this.#write('startPut', [key], () => this.#set(key, data)).then(() => this.#scratch.giveBack(data)) };
  }

  newKey(): Key {
    this.#assertOpen('newKey');
    return this.#newKey();
  }

  /**
   * Refuses keys outside the prefix, as every operation ignores them: a
   * descriptor cannot make it write elsewhere. With the value, in the same
   * transaction, it appends to the key's notice stream (`<key>:written`, gone
   * after a minute or with the key), which wakes every `whenWritten` blocked on it.
   */
  async set(key: Key, data: Uint8Array): Promise<void> {
    const id = this.#ours('set', key);
    if (id === undefined) throw new ConnectorError(this.#name, 'set', `key is outside this connector's prefix ${JSON.stringify(this.prefix)}`, { key });
    const notice = noticeOf(id);
    await this.#run('set', id, async () => {
      const replies = await this.#client.multi().set(id, asBuffer(data)).xadd(notice, 'MAXLEN', '1', '*', 'set', '1').pexpire(notice, NOTICE_TTL_MS).exec();
      const failed = replies?.find(([error]) => error !== null)?.[0];
      if (failed !== undefined && failed !== null) throw failed;
    });
    this.#scratch.giveBack(data);
  }

  /**
   * Blocks a connection of its own (XREAD BLOCK on the key's notice stream,
   * which `set` appends to) until the key is set, or for at most half the
   * command timeout, then settles true so the caller looks again. No server
   * configuration is needed (keyspace notifications are off by default).
   * False (poll instead) for keys outside the prefix, when MAX_BLOCKED_READERS
   * are blocked already, or when the blocking read fails; a key written by
   * plain puts never gets a notice, so waiting for one ends at the slice.
   */
  async whenWritten(key: Key, timeoutMs: number): Promise<boolean> {
    const id = this.#ours('whenWritten', key);
    if (id === undefined) return false;
    const reader = this.#reader();
    if (reader === undefined) return false;
    try {
      await reader.xread('BLOCK', this.#blockSlice(timeoutMs), 'STREAMS', noticeOf(id), '0');
    } catch {
      // Closed meanwhile, or the server is away: the caller's next read says which.
      this.#blockedReaders.delete(reader);
      reader.disconnect();
      return false;
    }
    this.#blockedReaders.delete(reader);
    if (this.#closing === undefined) this.#idleReaders.push(reader);
    else reader.disconnect();
    return true;
  }

  /** One MSET, so one round trip however many objects. */
  async putBatch(data: readonly Uint8Array[]): Promise<Key[]> {
    this.#assertOpen('putBatch');
    if (data.length === 0) return [];
    const keys = data.map(() => this.#newKey());
    await this.#write('putBatch', keys, () => this.#client.mset(...data.flatMap((bytes, i) => [keys[i] as string, asBuffer(bytes)])));
    for (const bytes of data) this.#scratch.giveBack(bytes);
    return keys;
  }

  async get(key: Key): Promise<Uint8Array | undefined> {
    const id = this.#ours('get', key);
    if (id === undefined) return undefined;
    const link = this.#readLink();
    if (link === undefined) return asBytes(await this.#run('get', id, () => this.#client.getBuffer(id)));
    const bytes = await link.get(id);
    if (bytes !== undefined) this.#lentReads.track(id, bytes);
    return bytes;
  }

  /**
   * This thread reads the arrays `get` returned for `key` no more: their
   * memory serves later reads instead of waiting for the collector.
   */
  releaseViews(key: Key): void {
    if (typeof key === 'string' && this.#closing === undefined) this.#lentReads.release(key);
  }

  /** One MGET, so one round trip however many keys. */
  async getBatch(keys: readonly Key[]): Promise<(Uint8Array | undefined)[]> {
    this.#assertOpen('getBatch');
    const ids = keys.map((key) => this.#ours('getBatch', key));
    const wanted = ids.filter((id) => id !== undefined);
    if (wanted.length === 0) return ids.map(() => undefined);
    const found = await this.#run('getBatch', undefined, () => this.#client.mgetBuffer(wanted));
    let next = 0;
    return ids.map((id) => (id === undefined ? undefined : asBytes(found[next++])));
  }

  async exists(key: Key): Promise<boolean> {
    const id = this.#ours('exists', key);
    if (id === undefined) return false;
    return (await this.#run('exists', id, () => this.#client.exists(id))) > 0;
  }

  async evict(key: Key): Promise<void> {
    const id = this.#ours('evict', key);
    if (id === undefined) return;
    // UNLINK frees a large value in the background instead of stalling the server.
    await this.#run('evict', id, () => this.#client.unlink(id, noticeOf(id)));
  }

  /**
   * Blocks the calling thread while a worker thread (started on first use,
   * shared with connectors of the same config, stopped by `close()`) reads the
   * key over its own connection; see sync-bridge.ts.
   */
  getSync(key: Key): Uint8Array | undefined {
    const id = this.#ours('getSync', key);
    if (id === undefined) return undefined;
    return this.#syncBridge().get(id);
  }

  /**
   * `whenWritten`, blocking the calling thread: the bridge worker does the
   * blocking read, so a synchronous first touch of a future sleeps until the
   * value is set (or for at most half the command timeout) rather than poll.
   */
  whenWrittenSync(key: Key, timeoutMs: number): boolean {
    const id = this.#ours('whenWritten', key);
    if (id === undefined) return false;
    return this.#syncBridge().whenWritten(id, this.#blockSlice(timeoutMs));
  }

  /** One blocking wait: whole ms, under the command timeout the connection enforces on every command, blocking ones included. */
  #blockSlice(timeoutMs: number): number {
    return Math.max(1, Math.ceil(Math.min(timeoutMs, this.#settings.commandTimeoutMs / 2)));
  }

  #syncBridge(): SyncBridge {
    this.#bridge ??= acquireSyncBridge(this.config(), {
      // The worker imports this module to register the 'redis' kind there.
      modules: [new URL('./redis.js', import.meta.url)],
      localOptions: this.#localOptions(),
      timeoutMs: this.#settings.commandTimeoutMs + BRIDGE_START_ALLOWANCE_MS,
      name: this.#name,
      ownedBytes: true,
    });
    return this.#bridge;
  }

  /** Every key under the prefix (any instance's), with its size, a SCAN page at a time. */
  async *list(): AsyncGenerator<ListedObject> {
    this.#assertOpen('list');
    for await (const keys of this.#scan('list', `${escapeGlob(this.prefix)}*`)) {
      if (keys.length === 0) continue;
      const sizes = await this.#run('list', undefined, () => this.#client.pipeline(keys.map((key) => ['strlen', key])).exec());
      for (const [i, key] of keys.entries()) {
        const [error, bytes] = sizes?.[i] ?? [null, 0];
        // A key of another type under our prefix is not one of our objects.
        if (error === null && typeof bytes === 'number') yield { key, bytes };
      }
    }
  }

  /**
   * The keys matching `match`, a SCAN page at a time. The server's replies are
   * checked, as every reply is: a reply of another shape, a cursor that does
   * not move (Redis' always does) or more rounds than any keyspace needs is
   * a ConnectorError, so no server can keep `list` or `close` going forever.
   */
  async *#scan(operation: string, match: string): AsyncGenerator<string[]> {
    let cursor = '0';
    for (let round = 0; ; round++) {
      const reply: unknown = await this.#run(operation, undefined, () => this.#client.scan(cursor, 'MATCH', match, 'COUNT', CLEAR_BATCH));
      const [next, keys] = Array.isArray(reply) ? (reply as unknown[]) : [];
      if (typeof next !== 'string' || !/^\d{1,20}$/.test(next) || !Array.isArray(keys) || !keys.every((key) => typeof key === 'string')) {
        throw new ConnectorError(this.#name, operation, 'protocol violation: a SCAN reply is not [cursor, keys]');
      }
      if (next !== '0' && (next === cursor || round >= MAX_SCAN_ROUNDS)) {
        throw new ConnectorError(this.#name, operation, `protocol violation: SCAN ${next === cursor ? 'did not move its cursor' : `took over ${MAX_SCAN_ROUNDS} rounds`}`);
      }
      yield keys;
      if (next === '0') return;
      cursor = next;
    }
  }

  /** Holds no password: see `password`. */
  config(): ConnectorConfig {
    const { host, port, db, prefix, username, tls, connectTimeoutMs, commandTimeoutMs } = this.#settings;
    return {
      kind: this.kind,
      options: {
        host,
        port,
        db,
        prefix,
        ...(username === undefined ? {} : { username }),
        ...(tls === undefined || tls === false ? {} : { tls }),
        // Copies wait as long as this one: a raised bound for big objects, or a lowered one to fail fast. Defaults stay out, so configs stay small.
        ...(connectTimeoutMs === DEFAULT_CONNECT_TIMEOUT_MS ? {} : { connectTimeoutMs }),
        ...(commandTimeoutMs === DEFAULT_COMMAND_TIMEOUT_MS ? {} : { commandTimeoutMs }),
      },
    };
  }

  /**
   * Stops the sync bridge, deletes this instance's keys when asked, then ends
   * the connection gracefully (after replies still due) unless the client was
   * given to us. Idempotent: later calls return the first call's outcome, and
   * `clear` counts only on that first call.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.#closing ??= this.#close(options.clear === true);
    return this.#closing;
  }

  toString(): string {
    return `RedisConnector(${this.#name}, prefix ${JSON.stringify(this.prefix)})`;
  }

  #open(): Redis {
    const { host, port, db, username, password, tls, connectTimeoutMs, commandTimeoutMs } = this.#settings;
    const options: RedisOptions = {
      host,
      port,
      db,
      username,
      password,
      tls: tls === true ? {} : tls === false ? undefined : tls,
      // Connect on first use: a connector rebuilt from a descriptor costs nothing until it reads.
      lazyConnect: true,
      // A connector nobody closed must not keep the process alive by reconnecting for ever:
      // with no command waiting it stops, and `#run` connects again on the next one.
      retryStrategy: (attempt) => (this.#inFlight === 0 ? null : retryDelay(attempt)),
      connectTimeout: connectTimeoutMs,
      commandTimeout: commandTimeoutMs,
      // Commands wait (bounded by commandTimeout) while connecting, instead of failing before the first connection is up.
      enableOfflineQueue: true,
      maxRetriesPerRequest: MAX_RETRIES_PER_REQUEST,
      // After a failed connection the socket never reports closing again, so ioredis' wait for it (2 s by default) would keep the process, or the bridge worker, alive that long after close().
      disconnectTimeout: DISCONNECT_TIMEOUT_MS,
    };
    const client = new ioredis.Redis(options);
    // Connection errors also reach the failing commands; kept to explain them, and handled so ioredis does not log them.
    client.on('error', (error: Error) => (this.#lastConnectionError = error));
    client.on('ready', () => {
      this.#lastConnectionError = undefined;
      this.#deleteOrphans();
    });
    // An idle connection must not keep the process alive either; a command waiting holds it through its commandTimeout timer.
    client.on('connect', () => client.stream.unref());
    return client;
  }

  async #close(clear: boolean): Promise<void> {
    const bridge = this.#bridge;
    this.#bridge = undefined;
    // Blocked reads end at once (their waits settle false), so close never waits on a slice.
    for (const reader of [...this.#idleReaders.splice(0), ...this.#blockedReaders]) reader.disconnect();
    try {
      await bridge?.release();
      // Best effort: failed puts are not worth failing close over, nor waiting on a server that is away.
      if (this.#orphans.size > 0 && this.#client.status === 'ready') await this.#client.unlink(...this.#orphans).catch(() => undefined);
      if (clear) await this.#clear();
    } finally {
      await this.#reads?.end();
      if (this.#ownsClient) await this.#disconnect();
      this.#scratch.clear();
      this.#lentReads.pool.clear();
    }
  }

  async #clear(): Promise<void> {
    for await (const keys of this.#scan('close', `${escapeGlob(this.#instancePrefix)}*`)) {
      if (keys.length > 0) await this.#run('close', undefined, () => this.#client.unlink(...keys));
    }
  }

  async #disconnect(): Promise<void> {
    if (this.#client.status === 'ready') {
      try {
        await this.#client.quit();
        return;
      } catch {
        // QUIT timed out or the connection broke meanwhile: dropping it is all that is left.
      }
    }
    this.#client.disconnect();
  }

  /** The GETs' connection (a new one after a failure), or undefined where reads go through ioredis: a client given to us, or TLS. */
  #readLink(): RedisReadLink | undefined {
    const { tls } = this.#settings;
    if (!this.#ownsClient || (tls !== undefined && tls !== false)) return undefined;
    if (this.#reads === undefined || this.#reads.broken) this.#reads = new RedisReadLink(this.#address, this.#settings, this.#lentReads.pool);
    return this.#reads;
  }

  #localOptions(): { [option: string]: JsonValue } {
    const { password, connectTimeoutMs, commandTimeoutMs } = this.#settings;
    return { connectTimeoutMs, commandTimeoutMs, ...(password === undefined ? {} : { password }) };
  }

  #newKey(): string {
    return `${this.#instancePrefix}${randomUUID()}`;
  }

  /** An idle blocking-read connection, or a new one, counted as blocked; undefined when MAX_BLOCKED_READERS are. */
  #reader(): Redis | undefined {
    if (this.#blockedReaders.size >= MAX_BLOCKED_READERS) return undefined;
    let reader = this.#idleReaders.pop();
    if (reader === undefined) {
      // Same server, credentials and bounds as the connector's own connection.
      reader = this.#client.duplicate({ lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: MAX_RETRIES_PER_REQUEST, commandTimeout: this.#settings.commandTimeoutMs });
      const connection = reader;
      // Failures reach the blocked read, which drops the connection; handled so ioredis does not log them.
      connection.on('error', () => undefined);
      // An idle reader must not keep the process alive; a blocked read holds it through its command timer.
      connection.on('connect', () => connection.stream.unref());
    }
    this.#blockedReaders.add(reader);
    return reader;
  }

  /** The Redis key for `key`, or undefined for keys outside this connector's prefix (which it treats as missing). */
  #ours(operation: string, key: Key): string | undefined {
    this.#assertOpen(operation);
    if (typeof key !== 'string') throw new ConnectorError(this.#name, operation, 'redis connector keys are strings', { key });
    return key.startsWith(this.prefix) ? key : undefined;
  }

  #assertOpen(operation: string): void {
    if (this.#closing !== undefined) throw new ConnectorError(this.#name, operation, `connector (prefix ${JSON.stringify(this.prefix)}) is closed`);
  }

  async #run<T>(operation: string, key: string | undefined, call: () => Promise<T>): Promise<T> {
    // Reconnection stopped while nothing waited (see `#open`); this command needs the connection again.
    if (this.#ownsClient && this.#client.status === 'end' && this.#closing === undefined) this.#client.connect().catch(() => undefined);
    this.#inFlight++;
    try {
      return await call();
    } catch (cause) {
      throw this.#failure(operation, cause, key);
    } finally {
      this.#inFlight--;
    }
  }

  /**
   * A write that failed (timed out on a frozen server, say) may still land
   * later. Its keys are deleted by a command sent after it on the same
   * connection, which Redis runs after the write whenever that arrives; if
   * that fails too, they are deleted once the connection is back, or at close.
   */
  async #write(operation: string, keys: readonly string[], call: () => Promise<unknown>): Promise<void> {
    try {
      await this.#run(operation, keys.length === 1 ? keys[0] : undefined, call);
    } catch (error) {
      this.#client.unlink(...keys).catch(() => {
        for (const key of keys) this.#orphans.add(key);
      });
      throw error;
    }
  }

  /**
   * SET of a put's bytes. ioredis copies every Buffer argument into one new
   * buffer per command (0.9 ms of fresh pages per MB on the dev VM, a third of
   * a stream producer's CPU); bytes from this connector's scratch have room
   * around them, so the command is written there around them and goes out
   * as it is.
   */
  #set(key: string, data: Uint8Array): Promise<unknown> {
    const command = this.#scratch.lent(data) ? framedSet(key, data) : undefined;
    if (command === undefined) return this.#client.set(key, asBuffer(data));
    this.#client.sendCommand(command);
    return command.promise;
  }

  #deleteOrphans(): void {
    if (this.#orphans.size === 0) return;
    const keys = [...this.#orphans];
    this.#orphans.clear();
    this.#client.unlink(...keys).catch(() => {
      for (const key of keys) this.#orphans.add(key);
    });
  }

  #failure(operation: string, cause: unknown, key: string | undefined): ConnectorError {
    return redisFailure(this.#client, operation, cause, {
      address: this.#address,
      name: this.#name,
      timeout: `${this.#settings.commandTimeoutMs} ms (commandTimeoutMs)`,
      connectionError: this.#lastConnectionError,
      key,
    });
  }
}

/** The stream `set` appends to, waking readers blocked on it: under the key, so within the prefix and cleared with it. */
function noticeOf(id: string): string {
  return `${id}:written`;
}

/** A view, not a copy, for ioredis (which copies it once more into the command it writes). */
function asBuffer(data: Uint8Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** A plain Uint8Array, so callers never get a Buffer (whose slice() does not copy). */
function asBytes(buffer: Buffer | null | undefined): Uint8Array | undefined {
  return buffer === null || buffer === undefined ? undefined : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

const RESP_END = '\r\n';

/** The most a SET's header before the value can take for keys under `instancePrefix` (what `#newKey` adds is ASCII, under 64 bytes). */
function setHeadRoom(instancePrefix: string): number {
  return setHead(`${instancePrefix}${'k'.repeat(64)}`, Number.MAX_SAFE_INTEGER).length;
}

/** RESP for `SET key <size bytes>` up to the value's first byte. */
function setHead(key: string, size: number): Buffer {
  const keyBytes = Buffer.from(key);
  return Buffer.concat([Buffer.from(`*3\r\n$3\r\nSET\r\n$${keyBytes.length}\r\n`), keyBytes, Buffer.from(`\r\n$${size}\r\n`)]);
}

/**
 * A SET whose RESP is written into the room around `data` and handed to the
 * socket as is; ioredis lets a command render itself this way (its own
 * scripts override `toWritable` too). Undefined when the room is too small.
 */
function framedSet(key: string, data: Uint8Array): FramedSet | undefined {
  const head = setHead(key, data.byteLength);
  const start = data.byteOffset - head.length;
  const end = data.byteOffset + data.byteLength + RESP_END.length;
  if (start < 0 || end > data.buffer.byteLength) return undefined;
  const resp = Buffer.from(data.buffer, start, end - start);
  resp.set(head, 0);
  resp.write(RESP_END, resp.length - RESP_END.length, 'latin1');
  return new FramedSet(key, asBuffer(data), resp);
}

class FramedSet extends ioredis.Command {
  constructor(
    key: string,
    value: Buffer,
    private readonly resp: Buffer,
  ) {
    super('set', [key, value]);
  }

  override toWritable(): Buffer {
    return this.resp;
  }
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

function settingsOfClient(client: Redis): { [option: string]: unknown } {
  const { host, port, db, username, password, tls, keyPrefix } = client.options;
  // SCAN patterns do not get ioredis' keyPrefix, so clearing would miss every key.
  if (keyPrefix !== undefined && keyPrefix !== '') throw new ConfigError(`redis connector: option 'client' must not use ioredis' keyPrefix; give the connector a 'prefix' instead`);
  return {
    host,
    port,
    db,
    username: username ?? undefined,
    password: password ?? undefined,
    // A live client's TLS details (certificates, callbacks) need not be JSON; a connector rebuilt from the config gets plain TLS.
    tls: tls === undefined ? undefined : true,
  };
}

function parseSettings(options: { readonly [option: string]: unknown }): Settings {
  const read = <T, D extends T | undefined>(option: string, fallback: D, valid: (value: unknown) => value is T, expected: string): T | D => {
    const value = options[option];
    if (value === undefined) return fallback;
    if (valid(value)) return value;
    const shown = option === 'password' ? typeof value : JSON.stringify(value);
    throw new ConfigError(`redis connector: option '${option}' must be ${expected}, got ${shown}`);
  };
  return {
    host: read('host', DEFAULT_HOST, isHost, 'a non-empty host name or address'),
    port: read('port', DEFAULT_PORT, (v): v is number => isInteger(v) && v >= 1 && v <= 65_535, 'an integer from 1 to 65535'),
    // Redis numbers its databases with C ints; anything larger can only be a mistake or a probe.
    db: read('db', 0, (v): v is number => isInteger(v) && v >= 0 && v <= 2_147_483_647, 'an integer from 0 to 2147483647'),
    prefix: read('prefix', `proxystore:${randomUUID()}:`, isNonEmptyString, 'a non-empty string'),
    username: read('username', undefined, isNonEmptyString, 'a non-empty string'),
    password: read('password', undefined, (v): v is string => typeof v === 'string', 'a string'),
    tls: read('tls', undefined, isTls, 'a boolean or an object of TLS options'),
    connectTimeoutMs: read('connectTimeoutMs', DEFAULT_CONNECT_TIMEOUT_MS, isTimeout, 'a positive number of milliseconds'),
    commandTimeoutMs: read('commandTimeoutMs', DEFAULT_COMMAND_TIMEOUT_MS, isTimeout, 'a positive number of milliseconds'),
  };
}

function isInteger(value: unknown): value is number {
  return Number.isInteger(value);
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

function isHost(value: unknown): value is string {
  return isNonEmptyString(value) && !/\s/.test(value);
}

function isTls(value: unknown): value is RedisTlsOptions {
  return typeof value === 'boolean' || (typeof value === 'object' && value !== null && !Array.isArray(value));
}

/** setTimeout cannot wait longer than 2^31 - 1 ms. */
function isTimeout(value: unknown): value is number {
  return typeof value === 'number' && value > 0 && value <= 2_147_483_647;
}

/**
 * What a config from an unsigned descriptor may choose is what the receiver's
 * policy agreed to: a host (and port) it lists, a prefix under one of its
 * prefixes (so the connector can neither read nor delete other applications'
 * keys, e.g. BullMQ's), waits no longer than its bound, and this process's
 * password only for a server, port, user and database it lists.
 */
function assertAllowedSettings(settings: Settings, options: ConnectorConfig['options'], policy: Required<ReferencePolicy>): void {
  const refuse = (why: string): never => {
    throw new DescriptorError(`redis connector config from elsewhere refused: ${why}`);
  };
  const { host, port, db, prefix, username, password } = settings;
  if (!isAllowedEndpoint(host, port, policy.hosts)) refuse(`host '${host}' port ${port} is not among the allowed hosts (${policy.hosts.join(', ') || 'none'}; policy.hosts)`);
  if (typeof options.prefix === 'string' && !policy.redisPrefixes.some((allowed) => prefix.startsWith(allowed))) {
    refuse(`prefix ${JSON.stringify(prefix)} does not start with an allowed prefix (${policy.redisPrefixes.map((p) => JSON.stringify(p)).join(', ') || 'none'}; policy.redisPrefixes)`);
  }
  for (const option of ['connectTimeoutMs', 'commandTimeoutMs'] as const) {
    if (options[option] !== undefined && settings[option] > policy.maxTimeoutMs) refuse(`${option} ${settings[option]} is above ${policy.maxTimeoutMs} ms (policy.maxTimeoutMs)`);
  }
  if (password !== undefined && !policy.credentialServers.some((entry) => credentialsAgreed(entry, { host, port, db, username }))) {
    const target = `${username === undefined ? '' : `${username}@`}${host}:${port}/${db}`;
    refuse(
      `this process has a Redis password (${REDIS_PASSWORD_ENV}) and sends it only to servers listed in policy.credentialServers, not to ${target}: list it there, or sign references (PROXYSTORE_SECRET)`,
    );
  }
}

/** Whether a `[user@]host:port[/db]` entry agrees to give credentials to this server, user and database. */
function credentialsAgreed(entry: string, target: { host: string; port: number; db: number; username: string | undefined }): boolean {
  const match = /^(?:([^@]+)@)?([^/@]+?)(?:\/(\d+))?$/.exec(entry);
  if (match === null) return false;
  const [, user, endpoint, db] = match;
  const { port } = splitHostPort(endpoint as string);
  return (
    port !== undefined &&
    user === target.username &&
    (db === undefined || Number(db) === target.db) &&
    isAllowedEndpoint(target.host, target.port, [endpoint as string])
  );
}

/** Keys this connector makes: `<prefix><instance>:<uuid>` (see `#newKey`). */
const MADE_KEY_TAIL = /^[A-Za-z0-9_-]{8}:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

registerConnectorKind(
  {
    kind: 'redis',
    options: CONFIG_OPTIONS,
    /**
     * Configs never carry a password (see `RedisConnectorOptions.password`):
     * the receiver's PROXYSTORE_REDIS_PASSWORD supplies it. An explicit
     * `password` option is taken only from trusted configs, i.e. this
     * process's own (the sync bridge passes it this way) or signed ones; a
     * descriptor made elsewhere that carries one is refused, so secrets never
     * become a habit of job data.
     */
    fromOptions(options, { trusted, policy }) {
      if (!trusted && options.password !== undefined) {
        throw new DescriptorError(`redis connector config from elsewhere must not carry a password: set ${REDIS_PASSWORD_ENV} on the receiver instead`);
      }
      const settings = parseSettings({ ...options, password: options.password ?? (process.env[REDIS_PASSWORD_ENV] || undefined) });
      if (!trusted) assertAllowedSettings(settings, options, policy);
      return new RedisConnector(settings);
    },
    isMadeKey(key, options) {
      const { prefix } = options;
      return typeof key === 'string' && typeof prefix === 'string' && key.startsWith(prefix) && MADE_KEY_TAIL.test(key.slice(prefix.length));
    },
  },
  { builtin: true },
);
