/**
 * Peer-to-peer connector: the process that puts an object serves it from its
 * own memory over TCP, and whoever needs it fetches it straight from there, so
 * each byte crosses the network once and no server in the middle holds a copy.
 *
 * Wire protocol (all integers big-endian), one pooled connection per peer:
 *   server hello   [u32 len=17][u8 version][16 bytes nonce]
 *   request        [u32 len][32 bytes HMAC][u8 op][u32 request id][u8 n][space][u8 n][object id]
 *   reply          [u32 len][u32 request id][u8 status][payload]
 * The HMAC-SHA256 (keyed by the shared secret) covers the connection's nonce
 * and everything after the HMAC; request ids must grow on a connection, so a
 * recorded request cannot be replayed on this or any other connection.
 * Requests are pipelined: a client writes as many as it likes and matches the
 * replies by id.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import type { AllocateOptions, CloseOptions, Connector, ConnectorConfig, JsonValue, Key, StartedPut } from './connector.js';
import { registerConnectorKind } from './kinds.js';
import { ConfigError, ConnectorError, DescriptorError, messageOf } from '../errors.js';
import { acquireSyncBridge, type SyncBridge } from './sync-bridge/bridge.js';
import { spaceOption } from './in-process.js';
import { rejectUnknownOptions } from './options.js';
import { LentReads, ScratchPool } from './scratch.js';
import { BodyReads } from './body-reads.js';

/** Where this process serves its objects; the same for every connector of a space in one process. */
export interface PeerNodeOptions {
  /** Address the server binds to. Default '127.0.0.1': nothing beyond this machine can fetch. */
  readonly host?: string;
  /** Default 0: any free port. */
  readonly port?: number;
  /**
   * The host other processes use to reach this one; keys name it. Default:
   * `host`, which must then not be a wildcard address (0.0.0.0, ::).
   */
  readonly advertiseHost?: string;
  /**
   * Every request carries an HMAC keyed by it, and a server answers only
   * requests made with its own. Never part of `config()`: a connector rebuilt
   * from a descriptor takes it from `setPeerDefaults` or the receiver's
   * `PROXYSTORE_PEER_SECRET`. Without either, a random secret works only
   * inside this process.
   */
  readonly secret?: string;
  /** Bound on opening a connection to a peer, its greeting included. Default 5 s. */
  readonly connectTimeoutMs?: number;
  /**
   * Bound on a connection with requests in flight going silent: nothing
   * received or sent for this long fails them all (a frozen peer, a cut
   * network). Default 10 s.
   */
  readonly requestTimeoutMs?: number;
  /** Largest object this process puts or accepts in a reply. Default 1 GiB; at most 4 GiB - 6. */
  readonly maxObjectBytes?: number;
}

export interface PeerConnectorOptions extends PeerNodeOptions {
  /**
   * Connectors of the same space share objects: in one process they share one
   * store of objects (and one server with every space bound to the same host
   * and port); in other processes (rebuilt from
   * `config()`) they reach them over the network. Default: a fresh random space.
   */
  readonly space?: string;
  /**
   * Hosts whose objects this connector may fetch. Keys name their owner's
   * host, so this bounds whom a key can make us connect to. Default: loopback
   * and this process's own advertised host. A connector rebuilt from a
   * descriptor made elsewhere uses the receiver's `ReferencePolicy.hosts`.
   */
  readonly allowedHosts?: readonly string[];
}

/** Read by connectors rebuilt from configs, which never carry the secret. */
export const PEER_SECRET_ENV = 'PROXYSTORE_PEER_SECRET';

const PEER_OPTIONS = ['space', 'allowedHosts', 'host', 'port', 'advertiseHost', 'secret', 'connectTimeoutMs', 'requestTimeoutMs', 'maxObjectBytes'];
const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_OBJECT_BYTES = 1 << 30;
/** A reply's length field is a u32 that also counts the id and status. */
const LARGEST_OBJECT_BYTES = 0xffff_ffff - 5;
/** A sync read may first have to start the bridge worker. */
const BRIDGE_START_ALLOWANCE_MS = 5_000;
const LOOPBACK = ['127.0.0.1', 'localhost', '::1'];

const VERSION = 1;
const NONCE_BYTES = 16;
const MAC_BYTES = 32;
/** Space and object id are at most 255 bytes each, so a request never exceeds this. */
const MAX_REQUEST_BYTES = MAC_BYTES + 1 + 4 + 1 + 255 + 1 + 255;
/** Refusals carry a short reason; a longer one is a broken or hostile server. */
const MAX_REASON_BYTES = 4_096;
const REPLY_HEADER_BYTES = 9;
/**
 * Connections accepted that have not yet sent a correctly signed request. A
 * client signs its first request as soon as the greeting arrives, so only a
 * stranger stays here; beyond this many, new ones are closed at once, and each
 * is closed once `connectTimeoutMs` passes unproven: whoever lacks the secret
 * holds neither sockets nor memory of ours for long.
 */
const MAX_UNPROVEN_CONNECTIONS = 256;

const Op = { get: 1, exists: 2, evict: 3 } as const;
type Operation = keyof typeof Op;
const OPERATION_NAMES = new Map<number, Operation>(Object.entries(Op).map(([name, code]) => [code, name as Operation]));
const Status = { ok: 0, missing: 1, refused: 2 } as const;

interface NodeSettings {
  readonly host: string;
  readonly port: number;
  readonly advertiseHost: string;
  readonly secret: Buffer;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly maxObjectBytes: number;
}

let defaults: PeerNodeOptions = {};

/**
 * Settings for the servers that connectors rebuilt from descriptors start in
 * this process (a worker's results are served by them): bind address,
 * advertised host, secret, bounds. `ts-proxystore-worker --peer-*` calls it.
 * Affects spaces first used after the call.
 */
export function setPeerDefaults(options: PeerNodeOptions): void {
  parseNodeSettings({ ...options });
  defaults = { ...options };
}

/** What this process holds for others right now, over every space: to watch memory, or to check that everything was freed. */
export function peerStats(): { readonly spaces: number; readonly objects: number; readonly bytes: number } {
  let objects = 0;
  let bytes = 0;
  for (const node of nodes.values()) {
    objects += node.objects.size;
    for (const { data } of node.objects.values()) bytes += data.byteLength;
  }
  return { spaces: nodes.size, objects, bytes };
}

/** One per space per thread: the objects this thread serves and its connections to peers. */
const nodes = new Map<string, PeerNode>();

/**
 * One server per bind address (and connect bound) per thread, serving every
 * space bound there: a request names its space. A worker serving results for
 * many callers' spaces then holds one listening socket, and a fixed
 * `--peer-port` serves all of them.
 */
const servers = new Map<string, PeerServer>();
/** Servers of a bind address still closing, which a new server there waits for (a fixed port is free only then). */
const closing = new Map<string, Promise<void>>();

/**
 * The memory of every space's allocations and remote reads in this thread
 * (reply bodies are read into it), taken back from evicted objects and
 * released reads: one pool, so its bound holds however many spaces a
 * process serves.
 */
const pool = new ScratchPool();

/**
 * Keeps objects in the putting process's memory and serves them to other
 * processes and machines over TCP; see the module comment for the protocol.
 *
 * A key is `<space>/<owner host:port>/<object id>`: `get`, `getBatch`,
 * `exists` and `evict` ask the owner (keys of this process never touch the
 * network), so objects live exactly as long as their owner process keeps a
 * connector of their space open. When it exits, they are gone, and readers
 * get a ConnectorError naming the peer, the operation and the key.
 *
 * Bytes: `put` adopts memory from `allocate`, or a Uint8Array spanning a
 * whole unshared ArrayBuffer (do not change either afterwards), and copies
 * anything else. Local `get`s return the stored array itself (treat it as
 * read-only); remote ones an array that is the caller's alone until it calls
 * `releaseViews(key)`.
 *
 * Memory is reused, as a page fault on fresh memory costs more than copying
 * into memory written before: after `releaseViews(key)`, the arrays remote
 * `get`s returned for `key` serve later reads, and an object stored in
 * `allocate`'d memory serves later allocations once it is evicted, no send of
 * it is under way and this thread has released its views of it (a
 * `transient` allocation holds none). So read nothing through a view after
 * releasing it; copy what must outlive the release.
 */
export class PeerConnector implements Connector {
  readonly kind = 'peer';
  readonly space: string;
  readonly #node: PeerNode;
  readonly #allowedHosts: readonly string[];
  /** Only these are removed by `close({ clear: true })`. */
  readonly #stored = new Set<string>();
  #closed = false;
  #bridge: SyncBridge | undefined;

  constructor(options: PeerConnectorOptions = {}) {
    rejectUnknownOptions('peer', options, PEER_OPTIONS);
    this.space = spaceOption(options.space, 'peer') ?? randomBytes(12).toString('base64url');
    if (this.space.includes('/') || Buffer.byteLength(this.space) > 255) throw new ConfigError(`peer connector: option 'space' must not contain '/' nor exceed 255 bytes`);
    const { allowedHosts } = options;
    if (allowedHosts !== undefined && (!Array.isArray(allowedHosts) || !allowedHosts.every((host) => typeof host === 'string'))) {
      throw new ConfigError(`peer connector: option 'allowedHosts' must be an array of host names`);
    }
    this.#node = PeerNode.acquire(this.space, options);
    this.#allowedHosts = (allowedHosts ?? [...LOOPBACK, this.#node.settings.advertiseHost]).map((host) => unbracket(host).toLowerCase());
    // Listening from the start, so that `startPut` can soon name the port in the keys it hands out at once.
    // A failure here is reported to the first put, which tries again.
    this.#node.address('listen').catch(() => undefined);
  }

  /** The `host:port` this process's keys of the space name, once its server listens. */
  ready(): Promise<string> {
    this.#assertOpen('ready');
    return this.#node.address('ready');
  }

  async put(data: Uint8Array): Promise<Key> {
    this.#assertOpen('put');
    return this.#keep('put', await this.#node.address('put'), data);
  }

  /**
   * Present once this process's server for the space listens, which it
   * starts to as the first connector of the space is made (`await ready()`
   * to be sure): a key names the server's port, known only from then on.
   * Until then absent, so `autoProxy` passes values as they are. The object
   * is in place at once, readable from anywhere.
   */
  get startPut(): ((data: Uint8Array) => StartedPut) | undefined {
    return this.#closed || this.#node.listening !== undefined ? this.#startPut : undefined;
  }

  readonly #startPut = (data: Uint8Array): StartedPut => {
    this.#assertOpen('startPut');
    const key = this.#keep('startPut', this.#node.listening as string, data);
    return { key, written: Promise.resolve(), readable: true };
  };

  async putBatch(data: readonly Uint8Array[]): Promise<Key[]> {
    this.#assertOpen('putBatch');
    if (data.length === 0) return [];
    const address = await this.#node.address('putBatch');
    return data.map((bytes) => this.#keep('putBatch', address, bytes));
  }

  /**
   * Memory that `put` adopts as the stored object, so the store's serializer
   * writes a put's bytes once, and a task's `resultArray` is born in the
   * memory its worker serves it from. Reused from evicted objects where it
   * can be (see the class comment), zeroed unless `zeroed: false`.
   */
  allocate(size: number, options: AllocateOptions = {}): Uint8Array {
    this.#assertOpen('allocate');
    if (!Number.isSafeInteger(size) || size < 0) throw new ConnectorError('peer', 'allocate', `size must be a whole number of bytes, got ${String(size)}`);
    return this.#node.allocate(size, options);
  }

  get(key: Key): Promise<Uint8Array | undefined> {
    return this.#ask('get', key);
  }

  /**
   * This thread reads the arrays handed out for `key` no more: remote reads'
   * arrays serve later reads, and an object of this process stored in
   * `allocate`'d memory may serve later allocations once it is evicted.
   */
  releaseViews(key: Key): void {
    const target = typeof key === 'string' && !this.#closed ? parseKey(key) : undefined;
    if (target === undefined || target.space !== this.space) return;
    if (this.#node.owns(target.id)) this.#node.releaseLocal(target.id);
    else this.#node.releaseReceived(key as string);
  }

  /** Pipelined: every remote key is asked at once, so a batch costs about one round trip per owner. */
  async getBatch(keys: readonly Key[]): Promise<(Uint8Array | undefined)[]> {
    this.#assertOpen('getBatch');
    return Promise.all(keys.map((key) => this.#ask('getBatch', key)));
  }

  async exists(key: Key): Promise<boolean> {
    return (await this.#ask('exists', key)) !== undefined;
  }

  async evict(key: Key): Promise<void> {
    const target = this.#route('evict', key);
    if (target === undefined) return;
    if (target.local) {
      this.#node.drop(target.id);
      return;
    }
    await this.#node.link(target.address).request('evict', this.space, target.id, key);
  }

  /**
   * Local keys are read directly. Remote ones block the calling thread while
   * a worker thread (started on first use, stopped by `close()`) fetches them
   * with its own connections; see sync-bridge.ts.
   */
  getSync(key: Key): Uint8Array | undefined {
    const target = this.#route('getSync', key);
    if (target === undefined) return undefined;
    if (target.local) return this.#node.lend(target.id);
    const { settings } = this.#node;
    this.#bridge ??= acquireSyncBridge(this.config(), {
      // The worker imports this module to register the 'peer' kind there.
      modules: [new URL('./peer.js', import.meta.url)],
      localOptions: this.#localOptions(),
      timeoutMs: settings.connectTimeoutMs + settings.requestTimeoutMs + BRIDGE_START_ALLOWANCE_MS,
      // One bridge serves keys of every peer; each key names its owner's address in the errors.
      name: 'peer',
      ownedBytes: true,
    });
    return this.#bridge.get(key);
  }

  /** Only the space: addresses are in the keys, and the secret never travels. */
  config(): ConnectorConfig {
    return { kind: this.kind, options: { space: this.space } };
  }

  /**
   * Idempotent; `clear` is honoured by whichever call asks for it. Once the
   * last connector of its space in this process is closed, whatever it still
   * held is gone, and its server stops once it serves no other space.
   */
  async close(options: CloseOptions = {}): Promise<void> {
    if (options.clear === true) {
      for (const id of this.#stored) this.#node.drop(id);
    }
    if (this.#closed) return;
    this.#closed = true;
    const bridge = this.#bridge;
    this.#bridge = undefined;
    await bridge?.release();
    await this.#node.release();
  }

  toString(): string {
    return `PeerConnector(space ${JSON.stringify(this.space)})`;
  }

  #keep(operation: string, address: string, data: Uint8Array): string {
    this.#assertOpen(operation);
    const limit = this.#node.settings.maxObjectBytes;
    if (data.byteLength > limit) throw new ConnectorError(`peer ${address}`, operation, `object of ${data.byteLength} bytes exceeds maxObjectBytes (${limit})`);
    const id = this.#node.newId();
    this.#node.keep(id, data, this.#stored);
    this.#stored.add(id);
    return `${this.space}/${address}/${id}`;
  }

  async #ask(operation: 'get' | 'getBatch' | 'exists', key: Key): Promise<Uint8Array | undefined> {
    const target = this.#route(operation, key);
    if (target === undefined) return undefined;
    if (target.local) return operation === 'exists' ? this.#node.objects.get(target.id)?.data : this.#node.lend(target.id);
    const bytes = await this.#node.link(target.address).request(operation === 'exists' ? 'exists' : 'get', this.space, target.id, key, operation);
    if (bytes !== undefined && operation !== 'exists') this.#node.received(key as string, bytes);
    return bytes;
  }

  /**
   * Where `key` lives; undefined for keys of another space (treated as
   * missing, as another connector's objects are). A key naming a host this
   * connector may not contact is refused before any connection is made.
   */
  #route(operation: string, key: Key): { local: true; id: string } | { local: false; id: string; address: string } | undefined {
    this.#assertOpen(operation);
    const parsed = typeof key === 'string' ? parseKey(key) : undefined;
    if (parsed === undefined) throw new ConnectorError('peer', operation, 'not a peer connector key (<space>/<host:port>/<id>)', { key });
    if (parsed.space !== this.space) return undefined;
    if (this.#node.owns(parsed.id)) return { local: true, id: parsed.id };
    if (!this.#allowedHosts.includes(parsed.host.toLowerCase())) {
      throw new DescriptorError(
        `peer connector: key ${JSON.stringify(key)} names host '${parsed.host}', which this receiver may not contact (allowed hosts: ${this.#allowedHosts.join(', ') || 'none'})`,
      );
    }
    return { local: false, id: parsed.id, address: parsed.address };
  }

  #localOptions(): { [option: string]: JsonValue } {
    const { secret, connectTimeoutMs, requestTimeoutMs, maxObjectBytes } = this.#node.settings;
    return { secret: secret.toString('latin1'), allowedHosts: [...this.#allowedHosts], connectTimeoutMs, requestTimeoutMs, maxObjectBytes };
  }

  #assertOpen(operation: string): void {
    if (this.#closed) throw new ConnectorError('peer', operation, `connector for space '${this.space}' is closed`);
  }
}

/** An object this thread serves. */
interface StoredObject {
  readonly data: Uint8Array;
  /** The ids of the connector that put it, which forgets it when it is evicted, from here or from afar. */
  readonly owner: Set<string>;
  /** In memory from `allocate`, which goes back to the pool once nothing can read it. */
  readonly pooled: boolean;
  /** This thread holds views of it (the array `allocate` handed out, local reads) until `releaseViews`. */
  viewed: boolean;
  /** Replies still writing it to a socket. */
  sending: number;
  evicted: boolean;
}

/** The objects one space holds in this thread, the server that serves them, and the connections to other peers. */
class PeerNode {
  readonly objects = new Map<string, StoredObject>();
  /** Arrays from `allocate` not stored yet, each with whether its caller keeps a view of it (not `transient`). */
  readonly #allocated = new WeakMap<Uint8Array, boolean>();
  /** The memory of remote reads by key, until `releaseViews` gives it to the pool; `put` copies out of it rather than adopt memory the pool may reuse. */
  readonly #received = new LentReads(pool);
  /** Object ids start with it, so a key names the very node (not just the address) that made it. */
  readonly nodeId = randomBytes(9).toString('base64url');
  readonly #links = new Map<string, PeerLink>();
  #nextObject = 0;
  #users = 0;
  readonly #server: PeerServer;

  private constructor(
    readonly space: string,
    readonly settings: NodeSettings,
    /** The options it was made with, to refuse a later connector that asks for a different server. */
    private readonly explicit: string,
  ) {
    this.#server = PeerServer.join(this);
  }

  /** The node of `space` in this thread, made with `options` (plus defaults) when there is none yet. */
  static acquire(space: string, options: PeerNodeOptions): PeerNode {
    const explicit = JSON.stringify(nodeOptionsOf(options));
    let node = nodes.get(space);
    if (node === undefined) {
      node = new PeerNode(space, parseNodeSettings({ ...defaults, ...nodeOptionsOf(options) }), explicit);
      nodes.set(space, node);
    } else if (explicit !== '{}' && explicit !== node.explicit) {
      throw new ConfigError(`peer connector: space '${space}' is already served in this process with other node options; connectors of one space share one set of options`);
    }
    node.#users++;
    return node;
  }

  allocate(size: number, options: AllocateOptions): Uint8Array {
    const bytes = pool.take(size);
    // Reused memory holds an earlier object's bytes.
    if (options.zeroed !== false) bytes.fill(0);
    this.#allocated.set(bytes, options.transient !== true);
    return bytes;
  }

  /** Stores `data` under `id`: adopts memory from `allocate` or a whole unshared buffer, copies anything else. */
  keep(id: string, data: Uint8Array, owner: Set<string>): void {
    const viewed = this.#allocated.get(data);
    if (viewed !== undefined) {
      this.#allocated.delete(data);
      this.objects.set(id, { data, owner, pooled: true, viewed, sending: 0, evicted: false });
      return;
    }
    const { buffer } = data;
    const adopt = buffer instanceof ArrayBuffer && data.byteLength === buffer.byteLength && !this.#received.holds(buffer);
    // A plain view over an adopted buffer, so readers never get a Buffer (whose slice() does not copy).
    this.objects.set(id, { data: adopt ? new Uint8Array(buffer) : new Uint8Array(data), owner, pooled: false, viewed: false, sending: 0, evicted: false });
  }

  /** A local read: the stored array itself, which this thread now holds a view of. */
  lend(id: string): Uint8Array | undefined {
    const stored = this.objects.get(id);
    if (stored !== undefined) stored.viewed = true;
    return stored?.data;
  }

  releaseLocal(id: string): void {
    const stored = this.objects.get(id);
    if (stored === undefined) return;
    stored.viewed = false;
    this.#recycle(stored);
  }

  /** Keeps track of a remote read's array, to reuse once its reader releases it. */
  received(key: string, bytes: Uint8Array): void {
    this.#received.track(key, bytes);
  }

  releaseReceived(key: string): void {
    this.#received.release(key);
  }

  drop(id: string): void {
    const stored = this.objects.get(id);
    if (stored === undefined) return;
    stored.owner.delete(id);
    this.objects.delete(id);
    stored.evicted = true;
    this.#recycle(stored);
  }

  /** Gives an evicted object's memory to the pool once no reply is sending it and this thread has released its views. */
  #recycle(stored: StoredObject): void {
    if (stored.pooled && stored.evicted && !stored.viewed && stored.sending === 0) pool.giveBack(stored.data);
  }

  newId(): string {
    return `${this.nodeId}.${(this.#nextObject++).toString(36)}`;
  }

  owns(id: string): boolean {
    return id.startsWith(`${this.nodeId}.`);
  }

  /** The advertised `host:port` once the server listens: what keys name. */
  listening: string | undefined;

  /** The advertised `host:port` keys name, starting the server on first use. */
  async address(operation: string): Promise<string> {
    try {
      const address = hostPort(this.settings.advertiseHost, await this.#server.port());
      // Not if the node was released meanwhile.
      if (nodes.get(this.space) === this) this.listening = address;
      return address;
    } catch (error) {
      const { host, port } = this.settings;
      throw new ConnectorError(`peer ${hostPort(host, port)}`, operation, `cannot serve objects: ${messageOf(error)}`, { cause: error });
    }
  }

  link(address: string): PeerLink {
    let link = this.#links.get(address);
    if (link === undefined || link.broken || link.exhausted) {
      link = new PeerLink(address, this.settings);
      this.#links.set(address, link);
    }
    return link;
  }

  async release(): Promise<void> {
    if (--this.#users > 0) return;
    nodes.delete(this.space);
    this.objects.clear();
    this.#received.forgetAll();
    for (const link of this.#links.values()) link.close();
    this.#links.clear();
    this.listening = undefined;
    await this.#server.leave(this);
  }

  /** Answers a request its server has checked: signed with this node's secret, for an object id this node issued. */
  answer(socket: net.Socket, requestId: number, operation: Operation, id: string): void {
    const stored = this.objects.get(id);
    if (operation === 'evict') this.drop(id);
    if (stored === undefined) {
      socket.write(replyHeader(requestId, operation === 'evict' ? Status.ok : Status.missing, 0));
      return;
    }
    if (operation !== 'get') {
      socket.write(replyHeader(requestId, Status.ok, 0));
      return;
    }
    const { data } = stored;
    // Header and bytes leave in one writev; the stored bytes are sent as they are, never copied.
    socket.cork();
    socket.write(replyHeader(requestId, Status.ok, data.byteLength));
    if (data.byteLength > 0) {
      // The memory is not reused while the socket may still be reading it (also after a failed write: the callback comes once it is done with).
      stored.sending++;
      socket.write(data, () => {
        stored.sending--;
        this.#recycle(stored);
      });
    }
    process.nextTick(() => socket.uncork());
  }
}

/** A TCP server of this thread and the spaces it serves (see `servers`). */
class PeerServer {
  readonly #nodes = new Map<string, PeerNode>();
  readonly #sockets = new Set<net.Socket>();
  /** Sockets in `#sockets` that have not yet sent a correctly signed request (see MAX_UNPROVEN_CONNECTIONS). */
  #unproven = 0;
  #listening: Promise<{ server: net.Server; port: number }> | undefined;

  private constructor(
    readonly key: string,
    /** Bind address, port and connect bound of the nodes that share it. */
    readonly settings: NodeSettings,
  ) {}

  /** The server of `node`'s bind address and connect bound, made when there is none; it serves `node`'s space from now on. */
  static join(node: PeerNode): PeerServer {
    const { host, port, connectTimeoutMs } = node.settings;
    const key = `${hostPort(host, port)} ${connectTimeoutMs}`;
    let server = servers.get(key);
    if (server === undefined) servers.set(key, (server = new PeerServer(key, node.settings)));
    server.#nodes.set(node.space, node);
    return server;
  }

  /** The port it listens on, starting to listen on first use; a failure lets the next call try again. */
  async port(): Promise<number> {
    const started = (this.#listening ??= this.#listen());
    try {
      return (await started).port;
    } catch (error) {
      if (this.#listening === started) this.#listening = undefined;
      throw error;
    }
  }

  /** `node`'s space is served here no more; with the last space gone, the server and its connections close. */
  async leave(node: PeerNode): Promise<void> {
    if (this.#nodes.get(node.space) === node) this.#nodes.delete(node.space);
    if (this.#nodes.size > 0) return;
    if (servers.get(this.key) === this) servers.delete(this.key);
    for (const socket of this.#sockets) socket.destroy();
    const started = this.#listening;
    this.#listening = undefined;
    const closed = (async () => {
      const listening = await started?.catch(() => undefined);
      if (listening !== undefined) await new Promise<void>((resolve) => listening.server.close(() => resolve()));
    })();
    closing.set(this.key, closed);
    await closed;
    if (closing.get(this.key) === closed) closing.delete(this.key);
  }

  async #listen(): Promise<{ server: net.Server; port: number }> {
    await closing.get(this.key);
    const server = net.createServer((socket) => this.#serve(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.settings.port, this.settings.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // Serving never keeps a process alive on its own: the process decides when it is done.
    server.unref();
    return { server, port: (server.address() as net.AddressInfo).port };
  }

  #serve(socket: net.Socket): void {
    // A client that vanishes mid-reply surfaces here; nothing is left to tell it.
    socket.on('error', () => undefined);
    if (this.#unproven >= MAX_UNPROVEN_CONNECTIONS) {
      socket.destroy();
      return;
    }
    this.#unproven++;
    let unproven = true;
    // On its first correctly signed request, or when it closes before one.
    const leaveUnproven = (): void => {
      if (!unproven) return;
      unproven = false;
      this.#unproven--;
      clearTimeout(deadline);
    };
    const deadline = setTimeout(() => socket.destroy(), this.settings.connectTimeoutMs);
    deadline.unref();
    this.#sockets.add(socket);
    socket.unref();
    socket.setNoDelay(true);
    socket.on('close', () => {
      leaveUnproven();
      this.#sockets.delete(socket);
    });
    const nonce = randomBytes(NONCE_BYTES);
    const hello = Buffer.alloc(4 + 1 + NONCE_BYTES);
    hello.writeUInt32BE(1 + NONCE_BYTES, 0);
    hello.writeUInt8(VERSION, 4);
    nonce.copy(hello, 5);
    socket.write(hello);
    let pending: Buffer = Buffer.alloc(0);
    let lastRequest = -1;
    const refuse = (requestId: number, reason: string, hangUp: boolean): void => {
      socket.write(replyHeader(requestId, Status.refused, Buffer.byteLength(reason)));
      if (hangUp) socket.end(reason);
      else socket.write(reason);
    };
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && !socket.writableEnded) {
        const length = pending.readUInt32BE(0);
        if (length > MAX_REQUEST_BYTES || length < MAC_BYTES + 7) {
          refuse(0, `request frame of ${length} bytes is outside the bounds (${MAC_BYTES + 7}..${MAX_REQUEST_BYTES})`, true);
          return;
        }
        if (pending.length < 4 + length) return;
        const frame = pending.subarray(4, 4 + length);
        pending = pending.subarray(4 + length);
        const body = frame.subarray(MAC_BYTES);
        const requestId = body.readUInt32BE(1);
        const request = parseRequest(body);
        if (request === undefined) {
          refuse(requestId, 'malformed request', true);
          return;
        }
        // The space's node holds the secret the request must be signed with.
        const node = this.#nodes.get(request.space);
        if (node === undefined) {
          // Only a client that proved a secret here learns that a space has gone; a stranger is hung up on.
          refuse(requestId, `not the owner of object '${request.id}': space '${request.space}' is not served here (its owner has gone)`, unproven);
          if (unproven) return;
          continue;
        }
        const expected = createHmac('sha256', node.settings.secret).update(nonce).update(body).digest();
        if (!timingSafeEqual(expected, frame.subarray(0, MAC_BYTES))) {
          refuse(requestId, 'request not signed with this peer’s secret', true);
          return;
        }
        if (requestId <= lastRequest) {
          refuse(requestId, `request id ${requestId} is not above ${lastRequest}: replayed request`, true);
          return;
        }
        lastRequest = requestId;
        leaveUnproven();
        if (!node.owns(request.id)) {
          refuse(requestId, `not the owner of object '${request.id}' in space '${request.space}' (this peer's objects start with '${node.nodeId}.'): its owner has gone`, false);
          continue;
        }
        node.answer(socket, requestId, request.operation, request.id);
      }
    });
  }
}

interface PendingRequest {
  readonly operation: string;
  readonly key: Key;
  readonly resolve: (bytes: Uint8Array | undefined) => void;
  readonly reject: (error: ConnectorError) => void;
}

/**
 * One keep-alive connection to one peer, pipelining requests. Any failure of
 * the connection fails every request on it and marks it broken; the next
 * request opens a new one.
 */
class PeerLink {
  broken = false;
  readonly #socket: net.Socket;
  readonly #name: string;
  readonly #pending = new Map<number, PendingRequest>();
  /** Requests signed once the greeting's nonce is known; until then they wait here. */
  #waiting: { operation: Operation; space: string; id: string; requestId: number }[] = [];
  #nonce: Buffer | undefined;
  #nextRequest = 0;
  #header: Buffer = Buffer.alloc(0);
  #reply: { requestId: number; status: number } | undefined;
  readonly #connectTimer: NodeJS.Timeout;
  readonly #reads = new BodyReads(
    (chunk) => this.#receive(chunk),
    (body) => this.#settle(body),
  );

  constructor(
    readonly address: string,
    readonly settings: NodeSettings,
  ) {
    this.#name = `peer ${address}`;
    const { host, port } = splitAddress(address);
    this.#socket = net.connect({
      host,
      port,
      noDelay: true,
      onread: this.#reads.onread,
    });
    this.#socket.unref();
    this.#connectTimer = setTimeout(
      () => this.#fail(`no connection within ${settings.connectTimeoutMs} ms (connectTimeoutMs): the peer is unreachable or its process has gone`),
      settings.connectTimeoutMs,
    );
    this.#socket.on('timeout', () => this.#fail(`connection silent for ${settings.requestTimeoutMs} ms with requests in flight (requestTimeoutMs): the peer is frozen or the network is cut`));
    this.#socket.on('error', (error: NodeJS.ErrnoException) => this.#fail(connectionFailure(error)));
    const closed = (): void => this.#fail('connection closed by the peer: its process has exited or dropped the connection');
    // 'end' comes first when the peer hangs up: failing there keeps a request from being written into a half-closed socket.
    this.#socket.on('end', closed);
    this.#socket.on('close', closed);
  }

  /** Request ids are u32s that must grow: a link that has used them all leaves its successor to the next requests. */
  get exhausted(): boolean {
    return this.#nextRequest > 0xffff_ffff;
  }

  request(operation: Operation, space: string, id: string, key: Key, asked: string = operation): Promise<Uint8Array | undefined> {
    return new Promise((resolve, reject) => {
      if (this.broken) {
        reject(new ConnectorError(this.#name, asked, 'connection already failed', { key }));
        return;
      }
      const requestId = this.#nextRequest++;
      this.#pending.set(requestId, { operation: asked, key, resolve, reject });
      if (this.#pending.size === 1) {
        this.#socket.ref();
        this.#socket.setTimeout(this.settings.requestTimeoutMs);
      }
      if (this.#nonce === undefined) this.#waiting.push({ operation, space, id, requestId });
      else this.#socket.write(this.#frame(operation, space, id, requestId));
    });
  }

  close(): void {
    this.#fail('the connector was closed while the request was in flight');
  }

  #frame(operation: Operation, space: string, id: string, requestId: number): Buffer {
    const spaceBytes = Buffer.from(space);
    const idBytes = Buffer.from(id);
    const body = Buffer.alloc(1 + 4 + 1 + spaceBytes.length + 1 + idBytes.length);
    body.writeUInt8(Op[operation], 0);
    body.writeUInt32BE(requestId, 1);
    body.writeUInt8(spaceBytes.length, 5);
    spaceBytes.copy(body, 6);
    body.writeUInt8(idBytes.length, 6 + spaceBytes.length);
    idBytes.copy(body, 7 + spaceBytes.length);
    const mac = createHmac('sha256', this.settings.secret)
      .update(this.#nonce as Buffer)
      .update(body)
      .digest();
    const length = Buffer.alloc(4);
    length.writeUInt32BE(MAC_BYTES + body.length, 0);
    return Buffer.concat([length, mac, body]);
  }

  #receive(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && !this.broken) {
      if (this.#nonce === undefined) {
        at = this.#receiveHello(chunk, at);
        continue;
      }
      if (this.#reads.due) {
        at = this.#reads.fill(chunk, at);
        continue;
      }
      const take = Math.min(chunk.length - at, REPLY_HEADER_BYTES - this.#header.length);
      this.#header = Buffer.concat([this.#header, chunk.subarray(at, at + take)]);
      at += take;
      if (this.#header.length < REPLY_HEADER_BYTES) return;
      this.#startReply(this.#header);
      this.#header = Buffer.alloc(0);
    }
  }

  #receiveHello(chunk: Buffer, at: number): number {
    const take = Math.min(chunk.length - at, 4 + 1 + NONCE_BYTES - this.#header.length);
    this.#header = Buffer.concat([this.#header, chunk.subarray(at, at + take)]);
    if (this.#header.length < 4 + 1 + NONCE_BYTES) return at + take;
    if (this.#header.readUInt32BE(0) !== 1 + NONCE_BYTES || this.#header.readUInt8(4) !== VERSION) {
      this.#fail(`not a ts-proxystore peer of protocol version ${VERSION} (unexpected greeting)`);
      return chunk.length;
    }
    clearTimeout(this.#connectTimer);
    this.#nonce = Buffer.from(this.#header.subarray(5));
    this.#header = Buffer.alloc(0);
    const waiting = this.#waiting;
    this.#waiting = [];
    this.#socket.cork();
    for (const { operation, space, id, requestId } of waiting) this.#socket.write(this.#frame(operation, space, id, requestId));
    this.#socket.uncork();
    return at + take;
  }

  #startReply(header: Buffer): void {
    const length = header.readUInt32BE(0);
    const requestId = header.readUInt32BE(4);
    const status = header.readUInt8(8);
    const size = length - 5;
    const limit = status === Status.ok ? this.settings.maxObjectBytes : status === Status.refused ? MAX_REASON_BYTES : 0;
    if (length < 5 || size > limit || !this.#pending.has(requestId)) {
      const problem = !this.#pending.has(requestId) ? `a reply to request ${requestId}, which is not in flight` : `a reply of ${size} bytes (status ${status}), over the bound of ${limit} (maxObjectBytes)`;
      this.#fail(`protocol violation: the peer sent ${problem}`);
      return;
    }
    this.#reply = { requestId, status };
    // Not zero-filled: every byte is written below. The caller may keep it, or release it to the pool (see releaseViews).
    this.#reads.expect(pool.take(size));
  }

  #settle(body: Uint8Array): void {
    const reply = this.#reply as { requestId: number; status: number };
    this.#reply = undefined;
    const pending = this.#pending.get(reply.requestId) as PendingRequest;
    this.#pending.delete(reply.requestId);
    if (this.#pending.size === 0) {
      this.#socket.setTimeout(0);
      this.#socket.unref();
    }
    if (reply.status === Status.ok) pending.resolve(body);
    else if (reply.status === Status.missing) pending.resolve(undefined);
    else pending.reject(new ConnectorError(this.#name, pending.operation, `refused: ${Buffer.from(body).toString('utf8')}`, { key: pending.key }));
  }

  #fail(reason: string): void {
    if (!this.broken) {
      this.broken = true;
      clearTimeout(this.#connectTimer);
      this.#socket.destroy();
    }
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const request of pending) request.reject(new ConnectorError(this.#name, request.operation, reason, { key: request.key }));
  }
}

function connectionFailure(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'connection refused: no process serves this address any more (the owner exited)';
    case 'ECONNRESET':
      return 'connection reset: the owner process exited or dropped the connection';
    case 'EPIPE':
      return 'connection closed by the peer: its process has exited or dropped the connection';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `network unreachable (${error.code})`;
    default:
      return messageOf(error);
  }
}

function replyHeader(requestId: number, status: number, size: number): Buffer {
  const header = Buffer.alloc(REPLY_HEADER_BYTES);
  header.writeUInt32BE(5 + size, 0);
  header.writeUInt32BE(requestId >>> 0, 4);
  header.writeUInt8(status, 8);
  return header;
}

function parseRequest(body: Buffer): { operation: Operation; space: string; id: string } | undefined {
  const operation = OPERATION_NAMES.get(body.readUInt8(0));
  const spaceLength = body.readUInt8(5);
  if (operation === undefined || body.length < 7 + spaceLength) return undefined;
  const idLength = body.readUInt8(6 + spaceLength);
  if (body.length !== 7 + spaceLength + idLength) return undefined;
  return { operation, space: body.toString('utf8', 6, 6 + spaceLength), id: body.toString('utf8', 7 + spaceLength) };
}

/** `<space>/<host:port>/<id>`, hosts with a colon in brackets; undefined when `key` is not of that shape. */
function parseKey(key: string): { space: string; address: string; host: string; id: string } | undefined {
  const first = key.indexOf('/');
  const last = key.lastIndexOf('/');
  if (first <= 0 || last <= first + 1 || last === key.length - 1) return undefined;
  const address = key.slice(first + 1, last);
  const id = key.slice(last + 1);
  if (Buffer.byteLength(id) > 255) return undefined;
  const parsed = splitAddressOrUndefined(address);
  return parsed === undefined ? undefined : { space: key.slice(0, first), address, host: parsed.host, id };
}

function splitAddressOrUndefined(address: string): { host: string; port: number } | undefined {
  const colon = address.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const port = Number(address.slice(colon + 1));
  const host = unbracket(address.slice(0, colon));
  if (!Number.isInteger(port) || port < 1 || port > 65_535 || host === '' || /[\s/]/.test(host)) return undefined;
  return { host, port };
}

function splitAddress(address: string): { host: string; port: number } {
  return splitAddressOrUndefined(address) as { host: string; port: number };
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

const NODE_OPTIONS = ['host', 'port', 'advertiseHost', 'secret', 'connectTimeoutMs', 'requestTimeoutMs', 'maxObjectBytes'] as const;

function nodeOptionsOf(options: PeerNodeOptions): PeerNodeOptions {
  return Object.fromEntries(NODE_OPTIONS.filter((name) => options[name] !== undefined).map((name) => [name, options[name]]));
}

function parseNodeSettings(options: { readonly [option: string]: unknown }): NodeSettings {
  const read = <T>(option: string, fallback: T, valid: (value: unknown) => value is T, expected: string): T => {
    const value = options[option];
    if (value === undefined) return fallback;
    if (valid(value)) return value;
    throw new ConfigError(`peer connector: option '${option}' must be ${expected}, got ${option === 'secret' ? typeof value : JSON.stringify(value)}`);
  };
  const host = read('host', DEFAULT_HOST, isHost, 'a host name or address');
  const wildcard = host === '0.0.0.0' || host === '::';
  const advertiseHost = read('advertiseHost', wildcard ? '' : host, isHost, 'a host name or address');
  if (advertiseHost === '') throw new ConfigError(`peer connector: binding to '${host}' needs option 'advertiseHost', the address other machines reach this one at`);
  const secret = read('secret', process.env[PEER_SECRET_ENV] || randomBytes(32).toString('base64'), isNonEmptyString, 'a non-empty string');
  return {
    host,
    port: read('port', 0, (v): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65_535, 'an integer from 0 to 65535'),
    advertiseHost: unbracket(advertiseHost),
    secret: Buffer.from(secret, 'latin1'),
    connectTimeoutMs: read('connectTimeoutMs', DEFAULT_CONNECT_TIMEOUT_MS, isTimeout, 'a positive number of milliseconds'),
    requestTimeoutMs: read('requestTimeoutMs', DEFAULT_REQUEST_TIMEOUT_MS, isTimeout, 'a positive number of milliseconds'),
    maxObjectBytes: read('maxObjectBytes', DEFAULT_MAX_OBJECT_BYTES, (v): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= LARGEST_OBJECT_BYTES, `an integer from 0 to ${LARGEST_OBJECT_BYTES}`),
  };
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

function isHost(value: unknown): value is string {
  return isNonEmptyString(value) && !/[\s/]/.test(value);
}

/** setTimeout cannot wait longer than 2^31 - 1 ms. */
function isTimeout(value: unknown): value is number {
  return typeof value === 'number' && value > 0 && value <= 2_147_483_647;
}

registerConnectorKind(
  {
    kind: 'peer',
    options: PEER_OPTIONS,
    /**
     * A descriptor made elsewhere may name only the space: the secret comes
     * from this process (`setPeerDefaults`, PROXYSTORE_PEER_SECRET) and the
     * hosts its keys may name from the receiver's policy. Trusted configs
     * (the sync bridge's) also carry this process's local options.
     */
    fromOptions(options, { trusted, policy }) {
      if (!trusted) {
        const extra = Object.keys(options).find((option) => option !== 'space');
        if (extra !== undefined) throw new DescriptorError(`peer connector config from elsewhere may only carry 'space', not '${extra}' (secrets and bounds are the receiver's: set ${PEER_SECRET_ENV})`);
        return new PeerConnector({ space: spaceOption(options.space, 'peer'), allowedHosts: policy.hosts });
      }
      return new PeerConnector(options);
    },
  },
  { builtin: true },
);
