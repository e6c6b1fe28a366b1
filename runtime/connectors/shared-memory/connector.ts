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
import { cellIdOf, cellSegmentOf, cellVersion, createCell, isCell, readCell, waitCell, waitCellSync, writeCell } from './cell.js';
import { allocateSegment, createSegment, isLive, payloadOf } from './segment.js';
import { isSpaceId, joinSpace, processOf, type Member } from './space.js';
import { setBounded } from '../../support/bounded-map.js';

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

/** Per thread: the object ids read through each future cell here, whose views `releaseViews` of the cell's key ends. */
const readThroughCell = new Map<string, Set<string>>();

/** Keys whose parse a connector keeps (a few calls' worth). */
const MAX_PARSED_KEYS = 64;

/** How often a read follows a cell to an object that a concurrent `set` replaced meanwhile, before giving up. */
const MAX_CELL_FOLLOWS = 100;

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
const SHARED_MEMORY_OPTIONS = ['space', 'answerTimeoutMs', 'poolBytes'];

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
  /** What `#id` found for the keys it parsed lately; cleared when full, so any number of keys costs bounded memory. */
  readonly #ids = new Map<string, string | undefined>();
  #closed = false;

  constructor(options: SharedMemoryConnectorOptions = {}) {
    rejectUnknownOptions('shared-memory', options, SHARED_MEMORY_OPTIONS);
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
   * A key for an object to come: a future cell (shared-memory-cell.ts),
   * announced to the space like an object, that `set` fills in any thread.
   */
  newKey(): Key {
    this.#assertOpen('newKey');
    const [segmentId] = this.#member.put([createCell()]);
    const id = cellIdOf(segmentId as string);
    this.#stored.add(id);
    return `${id}@${this.space}`;
  }

  /**
   * Stores `data` as an object of its own and points the cell of `key` (from
   * `newKey`) at it, waking every thread waiting on the cell; the object it
   * replaces is evicted. Only keys from `newKey`: see `canSet`.
   */
  async set(key: Key, data: Uint8Array): Promise<void> {
    const cellId = this.#cellId('set', key);
    const cell = await this.#cell('set', key, cellId);
    if (cell === undefined || !isLive(cell)) throw new ConnectorError(this.kind, 'set', 'the key was evicted: nothing can be set under it any more', { key });
    const [id] = this.#store('set', [data]);
    // The object belongs to the cell: evicted with it, by whoever evicts the key, not by this connector's close({ clear }).
    this.#stored.delete(id as string);
    const replaced = writeCell(cell, id as string, this.answerTimeoutMs);
    if (replaced !== undefined) await this.#evictId('set', key, replaced);
    // An evict of the cell that raced ahead of the write did not see this object: drop it, as the evict meant to.
    if (!isLive(cell)) await this.#evictId('set', key, id as string);
  }

  /** Only keys from `newKey`: a put's key names where its bytes lie, and readers may hold views on them. */
  canSet(key: Key): boolean {
    const id = this.#id('canSet', key, false);
    return id !== undefined && cellSegmentOf(id) !== undefined;
  }

  /** For a key from `newKey`: an `Atomics.waitAsync` on its cell, which `set` in any thread wakes. */
  async whenWritten(key: Key, timeoutMs: number): Promise<boolean> {
    const id = this.#id('whenWritten', key);
    if (id === undefined || cellSegmentOf(id) === undefined) return false;
    const cell = await this.#cell('whenWritten', key, id);
    // An evicted cell is never written again: nothing would wake the wait.
    if (cell === undefined || !isLive(cell)) return false;
    await waitCell(cell, timeoutMs);
    return true;
  }

  /** For a key from `newKey`: an `Atomics.wait` on its cell, blocking the thread until `set` in another thread wakes it. */
  whenWrittenSync(key: Key, timeoutMs: number): boolean {
    const id = this.#id('whenWrittenSync', key);
    const segmentId = id === undefined ? undefined : cellSegmentOf(id);
    if (segmentId === undefined) return false;
    const cell = this.#member.fetchSync(segmentId, this.answerTimeoutMs, { operation: 'whenWrittenSync', key });
    if (cell === undefined || !isCell(cell) || !isLive(cell)) return false;
    waitCellSync(cell, timeoutMs);
    return true;
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
    const { view, lease } = writerView(allocation, homeOf(allocation.slab), size, options.zeroed !== false, transient);
    this.#allocated.set(view, { allocation, lease, transient });
    return view;
  }

  async get(key: Key): Promise<Uint8Array | undefined> {
    const id = this.#id('get', key);
    if (id !== undefined && cellSegmentOf(id) !== undefined) return this.#getThroughCell('get', key, id);
    return this.#payload(id, await this.#fetch('get', key, id));
  }

  /** Null for a future's key, and for an object (or slab) this thread has not seen yet: `get` asks the other threads for those. */
  getNow(key: Key): Uint8Array | undefined | null {
    const id = this.#id('get', key);
    if (id === undefined) return undefined;
    if (cellSegmentOf(id) !== undefined) return null;
    const segment = this.#held(id);
    return segment === undefined ? null : this.#payload(id, segment);
  }

  /** Blocks (Atomics.wait) only for an object (or slab) this thread has not seen yet, until another thread of the space hands it over. */
  getSync(key: Key): Uint8Array | undefined {
    const id = this.#id('getSync', key);
    if (id === undefined) return undefined;
    const fetch = (wanted: string): SharedArrayBuffer | undefined => this.#member.fetchSync(segmentIdOf(wanted), this.answerTimeoutMs, { operation: 'getSync', key });
    const segmentId = cellSegmentOf(id);
    if (segmentId === undefined) return this.#payload(id, fetch(id));
    const cell = fetch(id);
    for (let follows = 0; cell !== undefined && isCell(cell) && isLive(cell) && follows < MAX_CELL_FOLLOWS; follows++) {
      const { version, ref } = readCell(cell, this.answerTimeoutMs);
      if (ref === undefined) return undefined;
      const bytes = this.#payload(ref, fetch(ref));
      if (bytes !== undefined || cellVersion(cell) === version) return this.#readThrough(id, ref, bytes);
    }
    return this.#cellGone(cell, 'getSync', key);
  }

  async getBatch(keys: readonly Key[]): Promise<(Uint8Array | undefined)[]> {
    // Every key is checked before any is read.
    const ids = keys.map((key) => this.#id('getBatch', key));
    return Promise.all(
      ids.map(async (id, i) =>
        id !== undefined && cellSegmentOf(id) !== undefined ? this.#getThroughCell('getBatch', keys[i] as Key, id) : this.#payload(id, await this.#fetch('getBatch', keys[i] as Key, id)),
      ),
    );
  }

  async exists(key: Key): Promise<boolean> {
    const id = this.#id('exists', key);
    if (id !== undefined && cellSegmentOf(id) !== undefined) {
      const cell = await this.#cell('exists', key, id);
      const ref = cell === undefined || !isLive(cell) ? undefined : readCell(cell, this.answerTimeoutMs).ref;
      return ref !== undefined && (await this.exists(`${ref}@${this.space}`));
    }
    const segment = await this.#fetch('exists', key, id);
    if (segment === undefined) return false;
    const slot = slotOf(id as string, segment);
    return slot === undefined || storedLength(slot.slab, slot.ref) !== undefined;
  }

  /** A slot goes back to the pool once no view on it is left (see shared-memory-pool.ts); no message is posted. */
  async evict(key: Key): Promise<void> {
    const id = this.#id('evict', key);
    if (id === undefined) return;
    await this.#evictId('evict', key, id);
  }

  /** False for a future's key, an object outside the pool, and a slot of a slab this thread has not seen yet: `evict` handles those. */
  evictNow(key: Key): boolean {
    const id = this.#id('evict', key);
    if (id === undefined) return true;
    if (!isSlotId(id)) return false;
    const slab = this.#held(id);
    if (slab === undefined) return false;
    this.#evictSlot(id, slab);
    return true;
  }

  /** Evicts object (or cell) `id`, named by `key` in errors. */
  async #evictId(operation: string, key: Key, id: string): Promise<void> {
    const segmentId = cellSegmentOf(id);
    if (segmentId !== undefined) {
      const cell = await this.#cell(operation, key, id);
      if (cell === undefined) return;
      // The cell first, so a set racing with this sees it gone and drops its own object (see `set`).
      this.#member.evict([segmentId]);
      const { ref } = readCell(cell, this.answerTimeoutMs);
      if (ref !== undefined) await this.#evictId(operation, key, ref);
      this.#stored.delete(id);
      return;
    }
    if (isSlotId(id)) {
      this.#evictSlot(id, await this.#fetch(operation, key, id));
      return;
    }
    this.#member.evict([id]);
    this.#stored.delete(id);
  }

  /** Evicts slot object `id`, whose slab is `slab` (undefined: no slab has it any more). */
  #evictSlot(id: string, slab: SharedArrayBuffer | undefined): void {
    const slot = slab === undefined ? undefined : slotOf(id, slab);
    if (slot !== undefined) evictSlot(slot.slab, slot.ref);
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
    if (id === undefined) return;
    if (isSlotId(id)) releaseViews(id);
    const through = readThroughCell.get(id);
    readThroughCell.delete(id);
    for (const ref of through ?? []) releaseViews(ref);
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
        for (const id of ids) {
          // Cells are the other end of objects this or other threads stored: evict them as a whole, objects included.
          if (cellSegmentOf(id) !== undefined) this.#evictCellSync(id);
        }
        this.#member.evict(ids.filter((id) => !isSlotId(id) && cellSegmentOf(id) === undefined));
        // This thread put them, in slabs it made, so they are at hand.
        for (const id of ids.filter(isSlotId)) this.#evictSlot(id, this.#held(id));
      }
      if (this.#closed) return;
      this.#closed = true;
      // The thread's last connector on the space hands its idle slabs back, so their memory can go.
      if (this.#member.users === 1) this.#pool.retire();
      this.#member.release();
    });
  }

  /**
   * The segment (or slab) of `key` (whose id is `id`), waiting for another
   * thread to hand it over if needed; undefined when missing. One this thread
   * holds already, as it does for nearly every object it reads or evicts,
   * comes back as it is, without the promise and async function of asking.
   */
  #fetch(operation: string, key: Key, id: string | undefined): SharedArrayBuffer | undefined | Promise<SharedArrayBuffer | undefined> {
    if (id === undefined) return undefined;
    return this.#held(id) ?? this.#member.fetch(segmentIdOf(id), this.answerTimeoutMs, { operation, key });
  }

  /** The segment (or slab) of object `id` when this thread holds it already; undefined when another thread would have to hand it over. */
  #held(id: string): SharedArrayBuffer | undefined {
    return this.#member.lookup(segmentIdOf(id));
  }

  /** The bytes of object `id` in `segment`: the whole segment, or a leased view of its slot. */
  #payload(id: string | undefined, segment: SharedArrayBuffer | undefined): Uint8Array | undefined {
    if (id === undefined || segment === undefined) return undefined;
    if (!isSlotId(id)) return payloadOf(segment);
    const slot = slotOf(id, segment);
    return slot === undefined ? undefined : readSlot(slot.slab, segment, slot.ref, id);
  }

  #put(operation: string, data: readonly Uint8Array[]): Key[] {
    return this.#store(operation, data).map((id) => {
      const key = `${id}@${this.space}`;
      // Known here: the put's own evict and reads need not parse it.
      setBounded(this.#ids, MAX_PARSED_KEYS, key, id);
      return key;
    });
  }

  /** Stores each array as an object of its own; returns their ids. */
  #store(operation: string, data: readonly Uint8Array[]): string[] {
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
    return ids;
  }

  /** The cell of id `id` (a cell id), asking the other threads if need be; undefined when missing or not a cell. */
  async #cell(operation: string, key: Key, id: string): Promise<SharedArrayBuffer | undefined> {
    const cell = await this.#fetch(operation, key, id);
    return cell !== undefined && isCell(cell) ? cell : undefined;
  }

  /** The object a cell points at, following it again when a concurrent `set` replaced that object meanwhile. */
  async #getThroughCell(operation: string, key: Key, id: string): Promise<Uint8Array | undefined> {
    const cell = await this.#cell(operation, key, id);
    for (let follows = 0; cell !== undefined && isLive(cell) && follows < MAX_CELL_FOLLOWS; follows++) {
      const { version, ref } = readCell(cell, this.answerTimeoutMs);
      if (ref === undefined) return undefined;
      const bytes = this.#payload(ref, await this.#fetch(operation, key, ref));
      if (bytes !== undefined || cellVersion(cell) === version) return this.#readThrough(id, ref, bytes);
    }
    return this.#cellGone(cell, operation, key);
  }

  /** Notes a view read through cell `id`, for `releaseViews` of the cell's key. */
  #readThrough(id: string, ref: string, bytes: Uint8Array | undefined): Uint8Array | undefined {
    if (bytes !== undefined && isSlotId(ref)) {
      let through = readThroughCell.get(id);
      if (through === undefined) readThroughCell.set(id, (through = new Set()));
      through.add(ref);
    }
    return bytes;
  }

  /** Missing, unless the cell is live and was replaced on every look: then writers outpace this reader without end. */
  #cellGone(cell: SharedArrayBuffer | undefined, operation: string, key: Key): undefined {
    if (cell !== undefined && isCell(cell) && isLive(cell)) {
      throw new ConnectorError(this.kind, operation, `the object under the key was replaced ${MAX_CELL_FOLLOWS} times while being read`, { key });
    }
    return undefined;
  }

  /** At close: this thread made the cell, so it is at hand; so are objects it points at that this thread stored, and others are asked to drop theirs. */
  #evictCellSync(id: string): void {
    const segmentId = cellSegmentOf(id) as string;
    const cell = this.#member.lookup(segmentId);
    if (cell === undefined || !isCell(cell)) return;
    this.#member.evict([segmentId]);
    const { ref } = readCell(cell, this.answerTimeoutMs);
    if (ref === undefined) return;
    if (!isSlotId(ref)) return this.#member.evict([ref]);
    this.#evictSlot(ref, this.#held(ref));
  }

  /** The cell id of `key`, which must come from `newKey` of this space. */
  #cellId(operation: string, key: Key): string {
    const id = this.#id(operation, key);
    if (id === undefined || cellSegmentOf(id) === undefined) {
      throw new ConnectorError(this.kind, operation, "shared memory writes under a given key only for keys from newKey (a future's): a put's key names where its bytes lie", { key });
    }
    return id;
  }

  /** The segment id of a key of this space; undefined for a key of another space, which this connector cannot hold. */
  #id(operation: string, key: Key, mustBeOpen = true): string | undefined {
    if (mustBeOpen) this.#assertOpen(operation);
    // Every call reads, releases and evicts its keys: each is parsed once.
    if (typeof key === 'string') {
      const known = this.#ids.get(key);
      if (known !== undefined || this.#ids.has(key)) return known;
    }
    const id = this.#parseId(operation, key);
    if (typeof key === 'string') setBounded(this.#ids, MAX_PARSED_KEYS, key, id);
    return id;
  }

  /** What `#id` finds for `key`, parsed; throws for a key no shared-memory connector makes, or made in another process. */
  #parseId(operation: string, key: Key): string | undefined {
    const at = typeof key === 'string' ? key.indexOf('@') : -1;
    const id = at < 0 ? '' : (key as string).slice(0, at);
    const segmentId = slotRefOf(id)?.slabId ?? cellSegmentOf(id) ?? (isSpaceId(id) ? id : undefined);
    if (segmentId === undefined) {
      throw new ConnectorError(this.kind, operation, 'not a key of a shared-memory connector: keys look like <pid>.<thread>.<n>[:<slot>.<generation> | :future]@<space>', { key });
    }
    if ((key as string).slice(at + 1) !== this.space) return undefined;
    const pid = processOf(segmentId);
    if (pid !== process.pid) {
      throw new ConnectorError(this.kind, operation, `the key was made in process ${pid}, and shared memory reaches only the threads of that process`, { key });
    }
    return id;
  }

  #assertOpen(operation: string): void {
    if (this.#closed) throw new ConnectorError(this.kind, operation, `connector for space '${this.space}' is closed`);
  }
}

/** The segment an id lives in: the slab for a slot, the cell for a future's key, else the object's own. */
function segmentIdOf(id: string): string {
  return slotRefOf(id)?.slabId ?? cellSegmentOf(id) ?? id;
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
    options: SHARED_MEMORY_OPTIONS,
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
