import { randomUUID } from 'node:crypto';
import type { CloseOptions, Connector, ConnectorConfig, Key, StartedPut } from '../connector.js';
import { registerConnectorKind } from '../connector-kinds.js';
import { ConfigError, ConnectorError, DescriptorError } from '../errors.js';
import { settle, spaceOption } from './in-process.js';
import { rejectUnknownOptions } from './options.js';
import { allocateSegment, createSegment, payloadOf } from './shared-memory-segment.js';
import { isSpaceId, joinSpace, processOf, type Member } from './shared-memory-space.js';

export interface SharedMemoryConnectorOptions {
  /**
   * Connectors naming the same space, in any thread of this process, share
   * objects; a connector rebuilt from `config()` in a worker joins the space of
   * the one it was made from. Default: a fresh random space.
   */
  readonly space?: string;
  /**
   * How long a thread waits for another to hand over an object it has not seen
   * yet (see shared-memory-space.ts), including a getSync blocking the thread.
   * Default 10 000; configs from elsewhere may lower it but not raise it.
   */
  readonly answerTimeoutMs?: number;
}

const DEFAULT_ANSWER_TIMEOUT_MS = 10_000;

/**
 * Keeps objects in SharedArrayBuffers that every worker thread of the process
 * can reach, so a proxy resolved in a worker reads the bytes where they lie:
 * a typed array stored here comes back, in any thread, as a view on the very
 * memory the put wrote (with the default serializer), not as a copy.
 *
 * ```ts
 * const store = new Store('frames', new SharedMemoryConnector({ space: 'frames' }));
 * const p = await store.proxy(new Float64Array(1_250_000), { populateTarget: false }); // 10 MB, copied once into shared memory
 * worker.postMessage(encodeProxies({ p }));                        // a few hundred bytes
 * // in the worker: const { p } = decodeProxies(message); p[0] = 1; // written in place
 * // back here, once the worker has said so: p[0] === 1
 * ```
 *
 * Sharing is the point, so mind it:
 * - What `get`/`getSync` return, and the typed arrays a serializer builds on
 *   them, are views on the stored object: writing through them changes it for
 *   every thread and every later reader. Copy (`.slice()`) for a private copy.
 * - A plain write is guaranteed visible to another thread only after the two
 *   synchronize: a message posted after the write and received before the read
 *   (postMessage, a piscina task's result), or an Atomics operation on the same
 *   memory. Concurrent unsynchronized writes and reads race (torn values, not crashes).
 * - `put` copies its input once into a new segment; later changes to the input
 *   do not reach the store. So in the putting thread, a proxy from
 *   `store.proxy(value)` resolves to `value` itself (populateTarget), not to the
 *   shared copy: pass `{ populateTarget: false }`, or read with `store.get`, to
 *   see what other threads write. The exception is a payload from `allocate`,
 *   which the put adopts: a `Store`'s serializer writes its frame there, so a
 *   store put copies the value once in all, and an array from `store.allocate`
 *   is the stored object itself.
 * - Only threads of one process share memory: a key used in another process fails with a ConnectorError.
 * - `evict` makes the object unreachable through every connector at once; its
 *   memory is reused only after the last view on it, in any thread, is collected.
 */
export class SharedMemoryConnector implements Connector {
  readonly kind = 'shared-memory';
  readonly space: string;
  readonly answerTimeoutMs: number;
  readonly #member: Member;
  /** Only these are evicted by `close({ clear: true })`; other instances on the space keep theirs. */
  readonly #stored = new Set<string>();
  /** Payload views from `allocate` not yet put; a put adopts their segment instead of copying. */
  readonly #allocated = new WeakSet<Uint8Array>();
  #closed = false;

  constructor(options: SharedMemoryConnectorOptions = {}) {
    rejectUnknownOptions('shared-memory', options, ['space', 'answerTimeoutMs']);
    this.space = spaceOption(options.space, 'shared-memory') ?? randomUUID();
    this.answerTimeoutMs = timeoutOption(options.answerTimeoutMs) ?? DEFAULT_ANSWER_TIMEOUT_MS;
    this.#member = joinSpace(this.space);
  }

  put(data: Uint8Array): Promise<Key> {
    return settle(() => this.#put('put', [data])[0] as Key);
  }

  putBatch(data: readonly Uint8Array[]): Promise<Key[]> {
    return settle(() => this.#put('putBatch', data));
  }

  /** The segment is written and announced before this returns, so the write is already done. */
  startPut(data: Uint8Array): StartedPut {
    return { key: this.#put('startPut', [data])[0] as Key, written: Promise.resolve(), readable: true };
  }

  /**
   * A new segment's payload, to fill in place and then put: the put adopts the
   * segment, so the bytes are written once. Until then no other thread sees it.
   */
  allocate(size: number): Uint8Array {
    this.#assertOpen('allocate');
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new ConnectorError(this.kind, 'allocate', `size must be a non-negative whole number of bytes, got ${String(size)}`);
    }
    const payload = payloadOf(allocateSegment(size));
    this.#allocated.add(payload);
    return payload;
  }

  async get(key: Key): Promise<Uint8Array | undefined> {
    return payloadOrMissing(await this.#fetch('get', key, this.#id('get', key)));
  }

  /** Blocks (Atomics.wait) only for an object this thread has not seen yet, until another thread of the space hands it over. */
  getSync(key: Key): Uint8Array | undefined {
    const id = this.#id('getSync', key);
    return payloadOrMissing(id === undefined ? undefined : this.#member.fetchSync(id, this.answerTimeoutMs, { operation: 'getSync', key }));
  }

  async getBatch(keys: readonly Key[]): Promise<(Uint8Array | undefined)[]> {
    // Every key is checked before any is read.
    const ids = keys.map((key) => this.#id('getBatch', key));
    const segments = await Promise.all(ids.map((id, i) => this.#fetch('getBatch', keys[i] as Key, id)));
    return segments.map(payloadOrMissing);
  }

  async exists(key: Key): Promise<boolean> {
    return (await this.#fetch('exists', key, this.#id('exists', key))) !== undefined;
  }

  evict(key: Key): Promise<void> {
    return settle(() => {
      const id = this.#id('evict', key);
      if (id === undefined) return;
      this.#member.evict([id]);
      this.#stored.delete(id);
    });
  }

  config(): ConnectorConfig {
    return { kind: this.kind, options: { space: this.space, answerTimeoutMs: this.answerTimeoutMs } };
  }

  /** Idempotent; `clear` is honoured by whichever call asks for it. */
  close(options: CloseOptions = {}): Promise<void> {
    return settle(() => {
      if (options.clear === true && this.#stored.size > 0) {
        this.#member.evict([...this.#stored]);
        this.#stored.clear();
      }
      if (this.#closed) return;
      this.#closed = true;
      this.#member.release();
    });
  }

  /** The segment of `key` (whose id is `id`), waiting for another thread to hand it over if needed; undefined when missing. */
  async #fetch(operation: string, key: Key, id: string | undefined): Promise<SharedArrayBuffer | undefined> {
    return id === undefined ? undefined : this.#member.fetch(id, this.answerTimeoutMs, { operation, key });
  }

  #put(operation: string, data: readonly Uint8Array[]): Key[] {
    this.#assertOpen(operation);
    // An allocated payload is adopted once; putting the same array again stores a copy, like any other input.
    const segments = data.map((d) => (this.#allocated.delete(d) ? (d.buffer as SharedArrayBuffer) : createSegment(d)));
    const ids = this.#member.put(segments);
    for (const id of ids) this.#stored.add(id);
    return ids.map((id) => `${id}@${this.space}`);
  }

  /** The segment id of a key of this space; undefined for a key of another space, which this connector cannot hold. */
  #id(operation: string, key: Key): string | undefined {
    this.#assertOpen(operation);
    const at = typeof key === 'string' ? key.indexOf('@') : -1;
    const id = at < 0 ? '' : (key as string).slice(0, at);
    if (!isSpaceId(id)) {
      throw new ConnectorError(this.kind, operation, 'not a key of a shared-memory connector: keys look like <pid>.<thread>.<n>@<space>', { key });
    }
    if ((key as string).slice(at + 1) !== this.space) return undefined;
    if (processOf(id) !== process.pid) {
      throw new ConnectorError(this.kind, operation, `the key was made in process ${processOf(id)}, and shared memory reaches only the threads of that process`, { key });
    }
    return id;
  }

  #assertOpen(operation: string): void {
    if (this.#closed) throw new ConnectorError(this.kind, operation, `connector for space '${this.space}' is closed`);
  }
}

function payloadOrMissing(segment: SharedArrayBuffer | undefined): Uint8Array | undefined {
  return segment === undefined ? undefined : payloadOf(segment);
}

function timeoutOption(timeout: unknown): number | undefined {
  if (timeout === undefined) return undefined;
  if (typeof timeout === 'number' && Number.isFinite(timeout) && timeout > 0) return timeout;
  throw new ConfigError(`shared-memory connector: option 'answerTimeoutMs' must be a positive number of milliseconds, got ${JSON.stringify(timeout)}`);
}

registerConnectorKind(
  {
    kind: 'shared-memory',
    fromOptions(options, { trusted, policy }) {
      const answerTimeoutMs = timeoutOption(options.answerTimeoutMs);
      // A longer wait would let a descriptor from elsewhere hold a thread blocked in getSync for as long as it likes.
      if (!trusted && answerTimeoutMs !== undefined && answerTimeoutMs > policy.maxTimeoutMs) {
        throw new DescriptorError(`shared-memory connector: answerTimeoutMs from elsewhere may be at most ${policy.maxTimeoutMs} ms (policy.maxTimeoutMs), got ${answerTimeoutMs}`);
      }
      return new SharedMemoryConnector({ space: spaceOption(options.space, 'shared-memory'), answerTimeoutMs });
    },
  },
  { builtin: true },
);
