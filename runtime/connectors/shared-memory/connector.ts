import { randomUUID } from 'node:crypto';
import type { AllocateOptions, CloseOptions, Connector, ConnectorConfig, Key, StartedPut } from '../connector.js';
import { registerConnectorKind } from '../kinds.js';
import { ConfigError, ConnectorError, DescriptorError } from '../../errors.js';
import { settle, spaceOption } from '../in-process.js';
import { rejectUnknownOptions } from '../options.js';
import {
  DEFAULT_POOL_BYTES,
  SlabPool,
  adoptWriterLease,
  endLease,
  evictSlot,
  isSlotId,
  readSlot,
  releaseViews,
  slabOf,
  slotRefOf,
  storedLength,
  writerView,
  type Allocation,
  type Lease,
  type Slab,
  type SlotRef,
} from './pool.js';
import { allocateSegment, createSegment, payloadOf } from './segment.js';
import { isSpaceId, joinSpace, processOf, type Member } from './space.js';

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
  /**
   * Bytes of recycled slabs each thread may carve for this space (see
   * shared-memory-pool.ts); beyond them puts get fresh segments. 0 turns the
   * pool off. The first connector on the space in a thread sets its thread's
   * cap. Default 256 MiB; configs from elsewhere may lower it but not raise it.
   */
  readonly poolBytes?: number;
}

const DEFAULT_ANSWER_TIMEOUT_MS = 10_000;

/** What `allocate` handed out and a put may adopt: a slot of the pool, or a segment of its own. */
type Placed = { readonly allocation: Allocation; readonly lease: Lease; readonly transient: boolean } | { readonly segment: SharedArrayBuffer };

/** One pool per thread and space, made by the first connector that joins. */
const pools = new WeakMap<Member, SlabPool>();

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
 * - `put` copies its input once into a slot of the pool; later changes to the input
 *   do not reach the store. So in the putting thread, a proxy from
 *   `store.proxy(value)` resolves to `value` itself (populateTarget), not to the
 *   shared copy: pass `{ populateTarget: false }`, or read with `store.get`, to
 *   see what other threads write. The exception is a payload from `allocate`,
 *   which the put adopts: a `Store`'s serializer writes its frame there, so a
 *   store put copies the value once in all, and an array from `store.allocate`
 *   is the stored object itself.
 * - Only threads of one process share memory: a key used in another process fails with a ConnectorError.
 * - `evict` makes the object unreachable through every connector at once; its
 *   memory is reused only after the last view on it, in any thread, is
 *   collected or released (`releaseViews`, which executors call for task
 *   inputs when the task settles and for results on `release`).
 * - Objects live in slots of recycled slabs (shared-memory-pool.ts): a view's
 *   `.buffer` is the whole slab, so build arrays from the view itself
 *   (`subarray`, `new Float64Array(view.buffer, view.byteOffset, n)` within its
 *   bounds), never from other offsets of its buffer.
 */
export class SharedMemoryConnector implements Connector {
  readonly kind = 'shared-memory';
  readonly reach = 'process';
  readonly space: string;
  readonly answerTimeoutMs: number;
  readonly poolBytes: number;
  readonly #member: Member;
  readonly #pool: SlabPool;
  /** Only these are evicted by `close({ clear: true })`; other instances on the space keep theirs. */
  readonly #stored = new Set<string>();
  /** Payload views from `allocate` not yet put; a put adopts their slot or segment instead of copying. */
  readonly #allocated = new WeakMap<Uint8Array, Placed>();
  #closed = false;

  constructor(options: SharedMemoryConnectorOptions = {}) {
    rejectUnknownOptions('shared-memory', options, ['space', 'answerTimeoutMs', 'poolBytes']);
    this.space = spaceOption(options.space, 'shared-memory') ?? randomUUID();
    this.answerTimeoutMs = timeoutOption(options.answerTimeoutMs) ?? DEFAULT_ANSWER_TIMEOUT_MS;
    this.poolBytes = poolBytesOption(options.poolBytes) ?? DEFAULT_POOL_BYTES;
    this.#member = joinSpace(this.space);
    let pool = pools.get(this.#member);
    if (pool === undefined) pools.set(this.#member, (pool = new SlabPool(this.#member, this.poolBytes)));
    this.#pool = pool;
  }

  put(data: Uint8Array): Promise<Key> {
    return settle(() => this.#put('put', [data])[0] as Key);
  }

  putBatch(data: readonly Uint8Array[]): Promise<Key[]> {
    return settle(() => this.#put('putBatch', data));
  }

  /** The object is written (and, outside the pool, announced) before this returns, so the write is already done. */
  startPut(data: Uint8Array): StartedPut {
    return { key: this.#put('startPut', [data])[0] as Key, written: Promise.resolve(), readable: true };
  }

  /**
   * `size` bytes to fill in place and then put: a slot of the pool (or, past
   * the pool's cap, a segment of its own) that the put adopts, so the bytes
   * are written once. Until then no other thread sees them. `transient`
   * ends this view's claim on the memory at the put; `zeroed: false` leaves
   * a recycled slot's old bytes for the caller to overwrite.
   */
  allocate(size: number, options: AllocateOptions = {}): Uint8Array {
    this.#assertOpen('allocate');
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new ConnectorError(this.kind, 'allocate', `size must be a non-negative whole number of bytes, got ${String(size)}`);
    }
    const transient = options.transient === true;
    const allocation = this.#pool.allocate(size);
    if (allocation === undefined) {
      const payload = payloadOf(allocateSegment(size));
      this.#allocated.set(payload, { segment: payload.buffer as SharedArrayBuffer });
      return payload;
    }
    const { view, lease } = writerView(allocation, homeOf(allocation.slab), size, options.zeroed !== false);
    this.#allocated.set(view, { allocation, lease, transient });
    return view;
  }

  async get(key: Key): Promise<Uint8Array | undefined> {
    const id = this.#id('get', key);
    return this.#payload(id, await this.#fetch('get', key, id));
  }

  /** Blocks (Atomics.wait) only for an object (or slab) this thread has not seen yet, until another thread of the space hands it over. */
  getSync(key: Key): Uint8Array | undefined {
    const id = this.#id('getSync', key);
    return this.#payload(id, id === undefined ? undefined : this.#member.fetchSync(segmentIdOf(id), this.answerTimeoutMs, { operation: 'getSync', key }));
  }

  async getBatch(keys: readonly Key[]): Promise<(Uint8Array | undefined)[]> {
    // Every key is checked before any is read.
    const ids = keys.map((key) => this.#id('getBatch', key));
    const segments = await Promise.all(ids.map((id, i) => this.#fetch('getBatch', keys[i] as Key, id)));
    return segments.map((segment, i) => this.#payload(ids[i], segment));
  }

  async exists(key: Key): Promise<boolean> {
    const id = this.#id('exists', key);
    const segment = await this.#fetch('exists', key, id);
    if (segment === undefined) return false;
    const slot = slotOf(id as string, segment);
    return slot === undefined || storedLength(slot.slab, slot.ref) !== undefined;
  }

  /** A slot goes back to the pool once no view on it is left (see shared-memory-pool.ts); no message is posted. */
  async evict(key: Key): Promise<void> {
    const id = this.#id('evict', key);
    if (id === undefined) return;
    if (isSlotId(id)) {
      const segment = await this.#fetch('evict', key, id);
      const slot = segment === undefined ? undefined : slotOf(id, segment);
      if (slot !== undefined) evictSlot(slot.slab, slot.ref);
    } else {
      this.#member.evict([id]);
    }
    this.#stored.delete(id);
  }

  /**
   * Ends this thread's claim on the views `get`, `getSync`, `getBatch` and a
   * stored `allocate` handed out for `key`: once the object is evicted, its
   * memory may hold another object, and those views would show it. Call it
   * only when nothing will read them again; views never released are
   * claimed until they are garbage collected.
   */
  releaseViews(key: Key): void {
    // Ending claims frees memory: allowed after close too.
    const id = this.#id('releaseViews', key, false);
    if (id !== undefined && isSlotId(id)) releaseViews(id);
  }

  config(): ConnectorConfig {
    return { kind: this.kind, options: { space: this.space, answerTimeoutMs: this.answerTimeoutMs, poolBytes: this.poolBytes } };
  }

  /** Idempotent; `clear` is honoured by whichever call asks for it. */
  close(options: CloseOptions = {}): Promise<void> {
    return settle(() => {
      if (options.clear === true && this.#stored.size > 0) {
        const ids = [...this.#stored];
        this.#stored.clear();
        this.#member.evict(ids.filter((id) => !isSlotId(id)));
        for (const id of ids.filter(isSlotId)) {
          // This thread put them, in slabs it made, so they are at hand.
          const segment = this.#member.lookup(segmentIdOf(id));
          const slot = segment === undefined ? undefined : slotOf(id, segment);
          if (slot !== undefined) evictSlot(slot.slab, slot.ref);
        }
      }
      if (this.#closed) return;
      this.#closed = true;
      // The thread's last connector on the space hands its idle slabs back, so their memory can go.
      if (this.#member.users === 1) this.#pool.retire();
      this.#member.release();
    });
  }

  /** The segment (or slab) of `key` (whose id is `id`), waiting for another thread to hand it over if needed; undefined when missing. */
  async #fetch(operation: string, key: Key, id: string | undefined): Promise<SharedArrayBuffer | undefined> {
    return id === undefined ? undefined : this.#member.fetch(segmentIdOf(id), this.answerTimeoutMs, { operation, key });
  }

  /** The bytes of object `id` in `segment`: the whole segment, or a leased view of its slot. */
  #payload(id: string | undefined, segment: SharedArrayBuffer | undefined): Uint8Array | undefined {
    if (id === undefined || segment === undefined) return undefined;
    if (!isSlotId(id)) return payloadOf(segment);
    const slot = slotOf(id, segment);
    return slot === undefined ? undefined : readSlot(slot.slab, segment, slot.ref, id);
  }

  #put(operation: string, data: readonly Uint8Array[]): Key[] {
    this.#assertOpen(operation);
    const ids = new Array<string>(data.length);
    const segments: SharedArrayBuffer[] = [];
    const segmentAt: number[] = [];
    data.forEach((d, i) => {
      // An allocated payload is adopted once; putting the same array again stores a copy, like any other input.
      const placed = this.#allocated.get(d);
      this.#allocated.delete(d);
      if (placed !== undefined && 'allocation' in placed) {
        const id = this.#pool.publish(placed.allocation, d.byteLength);
        if (placed.transient) endLease(placed.lease);
        else adoptWriterLease(placed.lease, id);
        ids[i] = id;
        return;
      }
      const allocation = placed === undefined ? this.#pool.allocate(d.byteLength) : undefined;
      if (allocation !== undefined) {
        // Plain writes suffice: the key that lets another thread read them travels in a message posted afterwards.
        new Uint8Array(homeOf(allocation.slab), SlabPool.offsetOf(allocation.slab, allocation.index), d.byteLength).set(d);
        ids[i] = this.#pool.publish(allocation, d.byteLength);
        return;
      }
      segments.push(placed?.segment ?? createSegment(d));
      segmentAt.push(i);
    });
    // Only objects outside the pool are announced; a slot's key is all another thread needs, once it has the slab.
    if (segments.length > 0) this.#member.put(segments).forEach((id, j) => (ids[segmentAt[j] as number] = id));
    for (const id of ids) this.#stored.add(id);
    return ids.map((id) => `${id}@${this.space}`);
  }

  /** The segment id of a key of this space; undefined for a key of another space, which this connector cannot hold. */
  #id(operation: string, key: Key, mustBeOpen = true): string | undefined {
    if (mustBeOpen) this.#assertOpen(operation);
    const at = typeof key === 'string' ? key.indexOf('@') : -1;
    const id = at < 0 ? '' : (key as string).slice(0, at);
    if (!isSpaceId(id) && slotRefOf(id) === undefined) {
      throw new ConnectorError(this.kind, operation, 'not a key of a shared-memory connector: keys look like <pid>.<thread>.<n>[:<slot>.<generation>]@<space>', { key });
    }
    if ((key as string).slice(at + 1) !== this.space) return undefined;
    const pid = processOf(segmentIdOf(id));
    if (pid !== process.pid) {
      throw new ConnectorError(this.kind, operation, `the key was made in process ${pid}, and shared memory reaches only the threads of that process`, { key });
    }
    return id;
  }

  #assertOpen(operation: string): void {
    if (this.#closed) throw new ConnectorError(this.kind, operation, `connector for space '${this.space}' is closed`);
  }
}

/** The segment an id lives in: the slab for a slot, else the object's own. */
function segmentIdOf(id: string): string {
  return slotRefOf(id)?.slabId ?? id;
}

/** The slab and slot of a slot id; undefined for an id of an object's own segment, or a segment that is no slab (forged). */
function slotOf(id: string, segment: SharedArrayBuffer): { slab: Slab; ref: SlotRef } | undefined {
  const ref = slotRefOf(id);
  const slab = ref === undefined ? undefined : slabOf(ref.slabId, segment);
  return ref === undefined || slab === undefined ? undefined : { slab, ref };
}

/** The member's buffer of a slab (its Int32 control words are a view on it). */
function homeOf(slab: Slab): SharedArrayBuffer {
  return slab.words.buffer as SharedArrayBuffer;
}

function poolBytesOption(bytes: unknown): number | undefined {
  if (bytes === undefined) return undefined;
  if (typeof bytes === 'number' && Number.isSafeInteger(bytes) && bytes >= 0) return bytes;
  throw new ConfigError(`shared-memory connector: option 'poolBytes' must be a non-negative whole number of bytes, got ${JSON.stringify(bytes)}`);
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
      const poolBytes = poolBytesOption(options.poolBytes);
      // A bigger pool would let a descriptor from elsewhere decide how much memory this thread may keep touched.
      if (!trusted && poolBytes !== undefined && poolBytes > DEFAULT_POOL_BYTES) {
        throw new DescriptorError(`shared-memory connector: poolBytes from elsewhere may be at most ${DEFAULT_POOL_BYTES}, got ${poolBytes}`);
      }
      // A longer wait would let a descriptor from elsewhere hold a thread blocked in getSync for as long as it likes.
      if (!trusted && answerTimeoutMs !== undefined && answerTimeoutMs > policy.maxTimeoutMs) {
        throw new DescriptorError(`shared-memory connector: answerTimeoutMs from elsewhere may be at most ${policy.maxTimeoutMs} ms (policy.maxTimeoutMs), got ${answerTimeoutMs}`);
      }
      return new SharedMemoryConnector({ space: spaceOption(options.space, 'shared-memory'), answerTimeoutMs, poolBytes });
    },
  },
  { builtin: true },
);
