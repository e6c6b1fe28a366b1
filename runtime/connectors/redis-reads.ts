/**
 * The Redis connector's GETs on a connection of their own, speaking RESP
 * here rather than through ioredis, so a reply's bytes land straight in
 * memory from the connector's pool. Through ioredis every read of a 1 MB
 * object arrived in sixteen fresh 64 kB socket chunks and was then joined
 * into a fresh 1 MB buffer: V8 counts all of it as external memory, and a
 * stream consumer reading such objects ran a full garbage collection every
 * 15 items or so (97 in 1,500), a third of its CPU. Here a reply's header is
 * read into a small scratch buffer and its body straight into its final place.
 *
 * Only for connections the connector opens itself without TLS (a TLS socket
 * cannot read into given memory); it sends the connector's AUTH and SELECT
 * first. Pipelined, replies in order. Any failure of the connection fails
 * every read on it and marks it broken (a RedisUnreachableError when the
 * server is down or silent, a ConnectorError when it breaks the protocol or
 * refuses AUTH or SELECT); the next read opens a new connection.
 */
import net from 'node:net';
import { Buffer } from 'node:buffer';
import { ConnectorError, RedisUnreachableError } from '../errors.js';
import type { ScratchPool } from './scratch.js';
import { BodyReads } from './body-reads.js';

export interface RedisReadSettings {
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly connectTimeoutMs: number;
  readonly commandTimeoutMs: number;
}

/** Redis' own bound on a string (proto-max-bulk-len's default): a longer length is no reply to a GET. */
const MAX_BULK_BYTES = 512 * 1024 * 1024;
/** A reply's first line ('$<length>', '+OK', '-<error>') never needs more; a longer one is no RESP a GET gets. */
const MAX_LINE_BYTES = 4_096;

/** What the next reply answers, in the order the commands went out. */
interface Expected {
  readonly command: 'AUTH' | 'SELECT' | 'GET';
  readonly key?: string;
  readonly resolve: (bytes: Uint8Array | undefined) => void;
  readonly reject: (error: ConnectorError) => void;
}

export class RedisReadLink {
  broken = false;
  readonly #socket: net.Socket;
  readonly #address: string;
  readonly #settings: RedisReadSettings;
  readonly #pool: ScratchPool;
  readonly #expected: Expected[] = [];
  readonly #connectTimer: NodeJS.Timeout;
  readonly #reads = new BodyReads(
    (chunk) => this.#receive(chunk),
    (body) => this.#bodyDone(body),
  );
  /** The start of a reply's first line, when a read ended inside it. */
  #line: Buffer = Buffer.alloc(0);
  /** Bytes still to drop after a body (its closing CRLF). */
  #skip = 0;
  /** Set by `end` while reads are in flight: called once none is. */
  #ended: (() => void) | undefined;

  constructor(address: string, settings: RedisReadSettings, pool: ScratchPool) {
    this.#address = address;
    this.#settings = settings;
    this.#pool = pool;
    this.#socket = net.connect({
      host: settings.host,
      port: settings.port,
      noDelay: true,
      onread: this.#reads.onread,
    });
    this.#socket.unref();
    this.#connectTimer = setTimeout(() => this.#fail(`no connection within ${settings.connectTimeoutMs} ms (connectTimeoutMs)`), settings.connectTimeoutMs);
    this.#connectTimer.unref();
    this.#socket.once('connect', () => clearTimeout(this.#connectTimer));
    this.#socket.on('timeout', () => this.#fail(`no reply within ${settings.commandTimeoutMs} ms (commandTimeoutMs)`));
    this.#socket.on('error', (error: NodeJS.ErrnoException) => this.#fail(`not connected (${error.code ?? error.message})`));
    const closed = (): void => this.#fail('not connected (connection closed by the server)');
    this.#socket.on('end', closed);
    this.#socket.on('close', closed);
    // Sent ahead of the first GET. A refusal fails the link, and so every GET on it (no GET is answered
    // without them): nothing to report here.
    const { username, password, db } = settings;
    if (password !== undefined) this.#send('AUTH', username === undefined ? [password] : [username, password]).catch(() => undefined);
    if (db !== 0) this.#send('SELECT', [String(db)]).catch(() => undefined);
  }

  /** The value of `id` in memory from the pool (or undefined when missing). */
  get(id: string): Promise<Uint8Array | undefined> {
    return this.#send('GET', [id], id);
  }

  /** Closes the connection once the reads in flight are answered (each within commandTimeoutMs). */
  end(): Promise<void> {
    if (this.#expected.length === 0) {
      this.#fail('the connector was closed', 'closed');
      return Promise.resolve();
    }
    return new Promise((resolve) => (this.#ended = resolve));
  }

  #send(command: Expected['command'], args: readonly string[], key?: string): Promise<Uint8Array | undefined> {
    return new Promise((resolve, reject) => {
      if (this.broken) {
        reject(new RedisUnreachableError(this.#address, 'get', 'connection already failed', { key }));
        return;
      }
      this.#expected.push({ command, key, resolve, reject });
      if (this.#expected.length === 1) {
        this.#socket.ref();
        this.#socket.setTimeout(this.#settings.commandTimeoutMs);
      }
      const parts = [command, ...args];
      this.#socket.write(parts.reduce((resp, part) => `${resp}$${Buffer.byteLength(part)}\r\n${part}\r\n`, `*${parts.length}\r\n`));
    });
  }

  #receive(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && !this.broken) {
      if (this.#skip > 0) {
        const skipped = Math.min(this.#skip, chunk.length - at);
        this.#skip -= skipped;
        at += skipped;
        continue;
      }
      if (this.#reads.due) {
        at = this.#reads.fill(chunk, at);
        continue;
      }
      const end = chunk.indexOf(10, at);
      if (end < 0) {
        this.#line = Buffer.concat([this.#line, chunk.subarray(at)]);
        if (this.#line.length > MAX_LINE_BYTES) this.#fail(`protocol violation: a reply line of over ${MAX_LINE_BYTES} bytes`, 'protocol');
        return;
      }
      const line = Buffer.concat([this.#line, chunk.subarray(at, end + 1)]);
      this.#line = Buffer.alloc(0);
      at = end + 1;
      if (line.length > MAX_LINE_BYTES) this.#fail(`protocol violation: a reply line of over ${MAX_LINE_BYTES} bytes`, 'protocol');
      else this.#reply(line.toString('latin1', 0, line.length - 2));
    }
  }

  /** A reply's first line, without its CRLF. */
  #reply(line: string): void {
    const expected = this.#expected[0];
    if (expected === undefined) {
      this.#fail('protocol violation: a reply to no command', 'protocol');
      return;
    }
    const type = line[0];
    const rest = line.slice(1);
    if (type === '-') {
      this.#expected.shift();
      const reason = `${expected.command} refused by the server: ${rest}`;
      const error = new ConnectorError(`redis ${this.#address}`, 'get', reason, { key: expected.key });
      // Without its AUTH or SELECT the connection would read from the wrong place, or not at all.
      if (expected.command !== 'GET') this.#fail(reason, error);
      else this.#settled(expected).reject(error);
      return;
    }
    if (type === '+' && expected.command !== 'GET') {
      this.#settled(this.#expected.shift() as Expected).resolve(undefined);
      return;
    }
    const size = type === '$' && /^(-1|0|[1-9][0-9]{0,9})$/.test(rest) ? Number(rest) : Number.NaN;
    if (expected.command !== 'GET' || Number.isNaN(size) || size > MAX_BULK_BYTES) {
      this.#fail(`protocol violation: '${line.slice(0, 64)}' is no reply to ${expected.command}`, 'protocol');
      return;
    }
    if (size < 0) {
      this.#settled(this.#expected.shift() as Expected).resolve(undefined);
      return;
    }
    // Not zero-filled: every byte is written before the read settles.
    this.#reads.expect(this.#pool.take(size));
  }

  /** A value is in place; its CRLF follows. */
  #bodyDone(body: Uint8Array): void {
    this.#skip = 2;
    this.#settled(this.#expected.shift() as Expected).resolve(body);
  }

  /** `expected`, after the idle bookkeeping: nothing of an idle link keeps the process alive or times out. */
  #settled(expected: Expected): Expected {
    if (this.#expected.length === 0) {
      this.#socket.setTimeout(0);
      this.#socket.unref();
      if (this.#ended !== undefined) queueMicrotask(() => this.#fail('the connector was closed', 'closed'));
    }
    return expected;
  }

  /**
   * Fails every read in flight: the server is unreachable, unless the
   * connector closed, the peer broke the protocol, or the server refused the
   * connection's AUTH or SELECT (`why`: that refusal).
   */
  #fail(reason: string, why: 'unreachable' | 'closed' | 'protocol' | ConnectorError = 'unreachable'): void {
    if (!this.broken) {
      this.broken = true;
      clearTimeout(this.#connectTimer);
      this.#socket.destroy();
    }
    for (const expected of this.#expected.splice(0)) {
      const options = { key: expected.key, cause: typeof why === 'string' ? undefined : why };
      expected.reject(why === 'unreachable' ? new RedisUnreachableError(this.#address, 'get', reason, options) : new ConnectorError(`redis ${this.#address}`, 'get', reason, options));
    }
    this.#ended?.();
    this.#ended = undefined;
  }
}
