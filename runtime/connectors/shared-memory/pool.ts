/**
 * Recycled shared memory for the shared-memory connector: slabs, slots and leases.
 *
 * Why: a fresh SharedArrayBuffer per put costs the kernel faulting in new
 * pages (about 7 ms per 10 MB here, against 0.9 ms to write memory already
 * touched), and V8 frees one only after every thread has collected it. So each
 * thread carves a few large slabs into slots once, and puts land in slots
 * whose pages are already touched.
 *
 * Slabs: a slab is a segment (shared-memory-segment.ts) of the space, put and
 * announced through the space's member like any object, so every thread of the
 * space receives it once (or asks for it the first time it meets a key in it),
 * and evicted like one when retired. Each slab serves one size class: slots of
 * 2^k bytes, from 256 B up, so a slot found for a size wastes under half of it
 * (and untouched pages cost nothing). After the 8-byte segment header:
 *
 *   Int32 words  SLAB_WORDS      slot size, slot count
 *                4 per slot      state word, live views, length, reserved
 *   (padding to 64 bytes)
 *   slots        count × size    the objects' bytes, each 8-aligned
 *
 * The state word packs a generation (upper 30 bits) with a state (lower 2):
 *   FREE → WRITING (allocated; the generation moves on) → STORED (readable under
 *   its key, which names slab, slot and generation) → DRAINING (evicted, views
 *   still live) → FREE (evicted and no view left).
 * Every change is an Atomics.compareExchange of the whole word, so an evict or
 * read carrying an old generation can never touch the slot's next object.
 *
 * Leases: every view handed out (a get, an allocate) is a typed array on a
 * buffer object of its own, a "lease" made by cloning the slab (a second JS
 * wrapper of the same memory). The lease counts one in the slot's
 * view count; a FinalizationRegistry on the lease wrapper takes it back once
 * nothing reaches it: any array built on the view (subarray, a Float64Array
 * the deserializer made over it) holds the wrapper. The library ends leases
 * early where it knows the borrow is over (`releaseViews`): a task's inputs
 * when the task settles, a result on `StoreExecutor.release`, a frame the
 * store serialized into once the put has it.
 *
 * Reuse: a slot goes back to FREE only when it is DRAINING and its view count
 * is 0. Whoever takes the count to 0 (a lease ending) or finds it 0 after
 * evicting tries the same compareExchange, so exactly one frees it; the
 * operations are sequentially consistent, so of a reader that increments the
 * count and then rechecks the state word, and an evicter that changes the word
 * and then reads the count, at least one sees the other.
 *
 * Who allocates: each thread carves only slabs it made itself (up to its cap),
 * so the slabs a thread retires at close have no other writer; reads, evicts
 * and lease ends come from any thread.
 *
 * Spares: a thread that retires idle slabs (its last connector on the space
 * closed) keeps some of their memory for a while (see `spares`), and the next
 * pool it makes, on any space, carves them before making new slabs. A pool
 * that needs a slab also takes an idle one from another pool of its thread
 * (a worker keeps the stores of earlier callers open, built from their
 * descriptors). Each new store has a space of its own unless told otherwise,
 * so without these every store started on fresh pages. A slab moved keeps its
 * slots' state words: a slot still DRAINING is not handed out until its last
 * view ends, as before, and generations go on counting, so no key of the old
 * space matches a new object.
 */
import { allocateSegment, payloadSize, released } from './segment.js';
import type { Member } from './space.js';
import { setBounded } from '../../support/bounded-map.js';
import { IdleTimer } from '../../support/timers.js';

const FREE = 0;
const WRITING = 1;
const STORED = 2;
const DRAINING = 3;
const STATE_MASK = 3;
const GENERATION_MASK = 0x3fff_ffff;

/** The segment header (shared-memory-segment.ts) comes first. */
const CONTROL_AT = 8;
const SLAB_WORDS = 2;
const SLOT_WORDS = 4;
const STATE = 0;
const VIEWS = 1;
const LENGTH = 2;

const MIN_SLOT_SHIFT = 8;
/** 128 MiB: a bigger object gets a segment of its own, as do all objects once the cap is reached. */
const MAX_SLOT_SHIFT = 27;
/**
 * A slab holds about this much (one slot at least), so one announcement
 * covers many puts. Above 32 MiB on purpose: glibc's malloc, which gives V8
 * its array buffer memory, raises its mmap threshold (up to 32 MiB) to the
 * size of each mmapped block freed, and serves smaller blocks from its arenas,
 * which keep freed memory and zero a reused block by writing every byte. With
 * 16 MiB slabs, 80 short-lived callers of one piscina pool, each with a store
 * of its own, took RSS to 1.9 GB, and it stayed there after the pool was
 * destroyed; with these it stays under 200 MB, and only touched pages count.
 */
const SLAB_TARGET_BYTES = 33 << 20;
const MAX_SLOTS_PER_SLAB = 1024;

/**
 * 256 MiB per thread and space. Generous next to what a busy pool keeps live
 * (eight 1 MB tasks in flight each way hold 16 slots of 1 MiB; eight of 10 MB
 * hold 16 slots of 16 MiB), and bounded so that a main thread and four workers
 * touch at most about 1.3 GB however many objects pass: slab pages count
 * towards RSS only once written. Beyond it, puts fall back to fresh segments.
 */
export const DEFAULT_POOL_BYTES = 256 << 20;

export interface Slab {
  readonly id: string;
  readonly segment: SharedArrayBuffer;
  readonly words: Int32Array;
  readonly slotSize: number;
  readonly slotCount: number;
  readonly slotsAt: number;
  readonly bytes: number;
}

/** A slot this thread holds WRITING, not yet stored. */
export interface Allocation {
  readonly slab: Slab;
  readonly index: number;
  readonly generation: number;
}

export interface Lease {
  readonly slab: Slab;
  readonly index: number;
  readonly generation: number;
  /** Set once stored, so releaseViews finds a writer's lease by key. */
  id: string | undefined;
  ended: boolean;
}

/** `<slab id>:<slot>.<generation>`: the slab id names the thread that made the slab. */
const SLOT_ID = /^(\d+\.\d+\.\d+):(\d+)\.(\d+)$/;

export function isSlotId(id: string): boolean {
  return parsed(id) !== false;
}

export interface SlotRef {
  readonly slabId: string;
  readonly index: number;
  readonly generation: number;
}

export function slotRefOf(id: string): SlotRef | undefined {
  return parsed(id) || undefined;
}

/**
 * What the id says: its slot, null when it has a slot id's form but names no
 * slot there can be, false when it has another form. Every operation on a key
 * asks, several times over a put, a read and an evict: the last ids parsed are kept.
 */
function parsed(id: string): SlotRef | null | false {
  const known = parsedIds.get(id);
  if (known !== undefined) return known;
  const match = SLOT_ID.exec(id);
  const index = Number(match?.[2]);
  const generation = Number(match?.[3]);
  const ref = match === null ? false : index < MAX_SLOTS_PER_SLAB && generation <= GENERATION_MASK ? Object.freeze({ slabId: match[1] as string, index, generation }) : null;
  return setBounded(parsedIds, MAX_PARSED_IDS, id, ref);
}

/** Ids parsed lately (see `parsed`); cleared when full, so any number of ids costs bounded memory. */
const parsedIds = new Map<string, SlotRef | null | false>();
const MAX_PARSED_IDS = 256;

const slabs = new WeakMap<SharedArrayBuffer, Slab | null>();

/** The slab in a segment; undefined when the segment is no slab (an object's own segment, or forged). */
export function slabOf(id: string, segment: SharedArrayBuffer): Slab | undefined {
  let slab = slabs.get(segment);
  if (slab === undefined) {
    slab = readSlab(id, segment) ?? null;
    slabs.set(segment, slab);
  }
  return slab ?? undefined;
}

function readSlab(id: string, segment: SharedArrayBuffer): Slab | undefined {
  if (segment.byteLength < CONTROL_AT + 4 * SLAB_WORDS) return undefined;
  const [slotSize = 0, slotCount = 0] = new Int32Array(segment, CONTROL_AT, SLAB_WORDS);
  const shape = slabShape(slotSize, slotCount);
  const valid = slotCount >= 1 && slotCount <= MAX_SLOTS_PER_SLAB && slotSize >= 1 << MIN_SLOT_SHIFT && (slotSize & (slotSize - 1)) === 0;
  if (!valid || shape.bytes !== segment.byteLength) return undefined;
  return { id, segment, words: new Int32Array(segment, CONTROL_AT, shape.words), slotSize, slotCount, slotsAt: shape.slotsAt, bytes: shape.bytes };
}

function slabShape(slotSize: number, slotCount: number): { words: number; slotsAt: number; bytes: number } {
  const words = SLAB_WORDS + SLOT_WORDS * slotCount;
  const slotsAt = Math.ceil((CONTROL_AT + 4 * words) / 64) * 64;
  return { words, slotsAt, bytes: slotsAt + slotSize * slotCount };
}

/** Index of the state word of slot `index`; its view count, length and spare follow. */
function stateAt(index: number): number {
  return SLAB_WORDS + SLOT_WORDS * index + STATE;
}

function word(generation: number, state: number): number {
  return (generation << 2) | state;
}

/**
 * One thread's slabs in one space: allocates in them, up to `capBytes` of
 * slabs made. Reads, evicts and leases work on any thread's slabs.
 */
export class SlabPool {
  readonly #member: Member;
  readonly capBytes: number;
  #madeBytes = 0;
  /** Slabs this thread made, by slot-size shift; allocation scans them in order, lowest slot first, to keep touched pages few. */
  readonly #own = new Map<number, Slab[]>();

  constructor(member: Member, capBytes: number) {
    this.#member = member;
    this.capBytes = capBytes;
  }

  /** A WRITING slot for `size` bytes; undefined when too big for a slot or when the cap allows no new slab. */
  allocate(size: number): Allocation | undefined {
    const shift = Math.max(MIN_SLOT_SHIFT, Math.ceil(Math.log2(Math.max(size, 1))));
    if (shift > MAX_SLOT_SHIFT) return undefined;
    const classSlabs = this.#own.get(shift) ?? [];
    for (const slab of classSlabs) {
      const found = claimFree(slab);
      if (found !== undefined) return found;
    }
    const slab = this.#grow(shift);
    if (slab === undefined) return undefined;
    classSlabs.push(slab);
    this.#own.set(shift, classSlabs);
    return claimFree(slab);
  }

  /** Makes the slot readable under the id it returns: `length` bytes written at its start. */
  publish(allocation: Allocation, length: number): string {
    const { slab, index, generation } = allocation;
    const at = stateAt(index);
    Atomics.store(slab.words, at + LENGTH, length);
    // Publishing stores with Atomics, so a reader that sees STORED sees the length and, through the message that carried the key, the bytes.
    Atomics.store(slab.words, at, word(generation, STORED));
    const id = `${slab.id}:${index}.${generation}`;
    // Known here: the put's evict (and this thread's reads) then need not parse it.
    setBounded(parsedIds, MAX_PARSED_IDS, id, Object.freeze({ slabId: slab.id, index, generation }));
    return id;
  }

  /** Where a slot's bytes start in its slab. */
  static offsetOf(slab: Slab, index: number): number {
    return slab.slotsAt + index * slab.slotSize;
  }

  /**
   * Hands back to the space (evicts) the slabs this thread made that hold no
   * object and no slot being written, so their memory goes once the last
   * view on them does, and forgets other threads' slabs that hold no object
   * (their owners may be gone: a terminated worker never retires its own).
   * Called when the thread's last connector on the space closes.
   */
  retire(): void {
    growing.delete(this);
    for (const [shift, classSlabs] of this.#own) {
      const kept = classSlabs.filter((slab) => !isIdle(slab));
      const idle = classSlabs.filter((slab) => !kept.includes(slab));
      const spared = idle.filter((slab) => spares.keep(slab));
      if (spared.length > 0) this.#member.withdraw(spared.map((slab) => slab.id));
      const freed = idle.filter((slab) => !spared.includes(slab));
      if (freed.length > 0) this.#member.evict(freed.map((slab) => slab.id));
      for (const slab of idle) this.#madeBytes -= slab.bytes;
      if (kept.length > 0) this.#own.set(shift, kept);
      else this.#own.delete(shift);
    }
    this.#member.forget((id, segment) => {
      const slab = slabOf(id, segment);
      return slab !== undefined && isIdle(slab);
    });
  }

  #grow(shift: number): Slab | undefined {
    const slotSize = 2 ** shift;
    const wanted = Math.max(1, Math.min(MAX_SLOTS_PER_SLAB, Math.floor(SLAB_TARGET_BYTES / slotSize)));
    // Near the cap a smaller slab may still fit.
    let slotCount = wanted;
    while (slotCount >= 1 && this.#madeBytes + slabShape(slotSize, slotCount).bytes > this.capBytes) slotCount = Math.floor(slotCount / 2);
    if (slotCount < 1) return undefined;
    const { bytes } = slabShape(slotSize, slotCount);
    let segment = spares.take(bytes, slotSize) ?? this.#fromSibling(shift, bytes);
    growing.add(this);
    if (segment === undefined) {
      segment = allocateSegment(bytes - CONTROL_AT);
      const header = new Int32Array(segment, CONTROL_AT, SLAB_WORDS);
      header[0] = slotSize;
      header[1] = slotCount;
    } else {
      // Its slab still names the id it had in the space it served before.
      slabs.delete(segment);
    }
    // Written before the announcement is posted, which orders them for every receiver.
    const [id] = this.#member.put([segment]);
    this.#madeBytes += bytes;
    return slabOf(id as string, segment);
  }

  /** An idle slab of that shape from another pool of this thread, taken out of its space. */
  #fromSibling(shift: number, bytes: number): SharedArrayBuffer | undefined {
    for (const pool of growing) {
      if (pool === this) continue;
      const classSlabs = pool.#own.get(shift) ?? [];
      const at = classSlabs.findIndex((slab) => slab.bytes === bytes && isIdle(slab));
      if (at < 0) continue;
      const [slab] = classSlabs.splice(at, 1) as [Slab];
      if (classSlabs.length === 0) pool.#own.delete(shift);
      pool.#madeBytes -= slab.bytes;
      pool.#member.withdraw([slab.id]);
      return slab.segment;
    }
    return undefined;
  }
}

/** This thread's pools that have made slabs since they last retired: where an idle slab may be found. */
const growing = new Set<SlabPool>();

/**
 * This thread's spare slabs (see the top of this file), by bytes and at most
 * `maxBytes` of them, dropped once none has been taken for `idleMs`: a thread
 * whose stores come and go (a store per job, a pool per run) carves the same
 * pages over and over, and a thread done with shared memory keeps none.
 * Measured on the dev VM: six 2.5 MB puts into a new slab faulted in 3,666
 * pages, five into a spare none to five; the tiled Cholesky example (a store
 * per run) faulted in about 1,500 pages per run in the caller without spares,
 * 540 with.
 */
class SpareSlabs {
  readonly #kept: Slab[] = [];
  #bytes = 0;
  readonly #idle: IdleTimer;

  constructor(readonly maxBytes: number, idleMs: number) {
    this.#idle = new IdleTimer(idleMs, () => this.clear());
  }

  /** Keeps `slab` (an idle slab this thread made) if it fits; false when it does not. */
  keep(slab: Slab): boolean {
    if (this.#bytes + slab.bytes > this.maxBytes) return false;
    this.#kept.push(slab);
    this.#bytes += slab.bytes;
    this.#idle.touch();
    return true;
  }

  /** The segment of a kept slab of `bytes` bytes in slots of `slotSize`, taken out; undefined when none is. */
  take(bytes: number, slotSize: number): SharedArrayBuffer | undefined {
    const at = this.#kept.findIndex((slab) => slab.bytes === bytes && slab.slotSize === slotSize);
    if (at < 0) return undefined;
    const [slab] = this.#kept.splice(at, 1) as [Slab];
    this.#bytes -= slab.bytes;
    this.#idle.touch();
    return slab.segment;
  }

  /** Drops every kept slab: its memory goes once no view on it is left. */
  clear(): void {
    this.#idle.stop();
    for (const slab of this.#kept.splice(0)) released(payloadSize(slab.segment));
    this.#bytes = 0;
  }
}

/**
 * Two slabs of the usual size (see SLAB_TARGET_BYTES), for two seconds: enough
 * for a store that follows another at once (the next job, the next run), and
 * no more than a pool keeps busy anyway.
 */
const spares = new SpareSlabs(2 * (SLAB_TARGET_BYTES + (1 << 20)), 2_000);

function claimFree(slab: Slab): Allocation | undefined {
  for (let index = 0; index < slab.slotCount; index++) {
    const at = stateAt(index);
    const current = Atomics.load(slab.words, at);
    if ((current & STATE_MASK) !== FREE) continue;
    const generation = ((current >>> 2) + 1) & GENERATION_MASK;
    if (Atomics.compareExchange(slab.words, at, current, word(generation, WRITING)) === current) return { slab, index, generation };
  }
  return undefined;
}

function isIdle(slab: Slab): boolean {
  for (let index = 0; index < slab.slotCount; index++) {
    const state = Atomics.load(slab.words, stateAt(index)) & STATE_MASK;
    if (state === WRITING || state === STORED) return false;
  }
  return true;
}

/** Length of a stored object, or undefined when the slot no longer holds that generation. */
export function storedLength(slab: Slab, ref: SlotRef): number | undefined {
  if (ref.index >= slab.slotCount) return undefined;
  const at = stateAt(ref.index);
  return Atomics.load(slab.words, at) === word(ref.generation, STORED) ? Atomics.load(slab.words, at + LENGTH) : undefined;
}

/**
 * Makes the object unreachable: STORED → DRAINING, and FREE at once when no
 * view is live. A stale key (old generation) or a second evict changes nothing.
 */
export function evictSlot(slab: Slab, ref: SlotRef): void {
  if (ref.index >= slab.slotCount) return;
  const at = stateAt(ref.index);
  const stored = word(ref.generation, STORED);
  if (Atomics.compareExchange(slab.words, at, stored, word(ref.generation, DRAINING)) !== stored) return;
  if (Atomics.load(slab.words, at + VIEWS) === 0) Atomics.compareExchange(slab.words, at, word(ref.generation, DRAINING), word(ref.generation, FREE));
}

// ---------------------------------------------------------------- leases

/**
 * Cloning a SharedArrayBuffer yields a new wrapper of the same memory: the
 * lease (0.7 µs measured here, against 1–3 µs for posting it to this thread).
 */
function leaseBuffer(segment: SharedArrayBuffer): SharedArrayBuffer {
  return structuredClone(segment);
}

/** This thread's leases on stored objects, by slot id, for `releaseViews`. */
const open = new Map<string, Set<Lease>>();
const collected = new FinalizationRegistry<Lease>(endLease);

/**
 * A view of `length` bytes of the slot on a lease of its own; the slot is not
 * reused while the view (or anything built on it) is reachable, until the lease ends.
 */
function leasedView(slab: Slab, segment: SharedArrayBuffer, lease: Lease, length: number): Uint8Array {
  const wrapper = leaseBuffer(segment);
  collected.register(wrapper, lease, lease);
  return new Uint8Array(wrapper, SlabPool.offsetOf(slab, lease.index), length);
}

/**
 * A view of a stored object, or undefined when the slot holds another
 * generation by now. `segment` is the slab's buffer (the member's).
 */
export function readSlot(slab: Slab, segment: SharedArrayBuffer, ref: SlotRef, id: string): Uint8Array | undefined {
  if (ref.index >= slab.slotCount) return undefined;
  const at = stateAt(ref.index);
  const stored = word(ref.generation, STORED);
  if (Atomics.load(slab.words, at) !== stored) return undefined;
  Atomics.add(slab.words, at + VIEWS, 1);
  const lease: Lease = { slab, index: ref.index, generation: ref.generation, id, ended: false };
  // Rechecked after counting: an evict that raced ahead is seen here, or else it sees the count.
  if (Atomics.load(slab.words, at) !== stored) {
    endLease(lease);
    return undefined;
  }
  const length = Atomics.load(slab.words, at + LENGTH);
  // Only a segment that merely looks like a slab (its bytes chosen by whoever put it) can say more than a slot holds.
  if (length < 0 || length > slab.slotSize) {
    endLease(lease);
    return undefined;
  }
  track(lease);
  return leasedView(slab, segment, lease, length);
}

/**
 * The writer's view of a slot just allocated: `length` bytes, zeroed if asked
 * (else whatever the slot held). A `transient` view's claim ends at its put,
 * never with the garbage collector, so it needs no buffer of its own: it is
 * a view on the slab, and only a put that never comes (the writer gave up)
 * leaves its slot to be freed once the view is collected.
 */
export function writerView(allocation: Allocation, segment: SharedArrayBuffer, length: number, zeroed: boolean, transient: boolean): { view: Uint8Array; lease: Lease } {
  const { slab, index, generation } = allocation;
  Atomics.add(slab.words, stateAt(index) + VIEWS, 1);
  const lease: Lease = { slab, index, generation, id: undefined, ended: false };
  let view: Uint8Array;
  if (transient) {
    view = new Uint8Array(segment, SlabPool.offsetOf(slab, index), length);
    collected.register(view, lease, lease);
  } else {
    view = leasedView(slab, segment, lease, length);
  }
  if (zeroed) zero(view);
  return { view, lease };
}

/** Once stored, the writer's lease ends with `releaseViews` of the key too. */
export function adoptWriterLease(lease: Lease, id: string): void {
  lease.id = id;
  track(lease);
}

/** Ends this thread's leases on the object `id`: its views may show other bytes once it is evicted. */
export function releaseViews(id: string): void {
  const leases = open.get(id);
  if (leases === undefined) return;
  for (const lease of leases) endLease(lease);
}

export function endLease(lease: Lease): void {
  if (lease.ended) return;
  lease.ended = true;
  collected.unregister(lease);
  if (lease.id !== undefined) {
    const leases = open.get(lease.id);
    leases?.delete(lease);
    if (leases?.size === 0) open.delete(lease.id);
  }
  const { slab, index, generation } = lease;
  const at = stateAt(index);
  const left = Atomics.sub(slab.words, at + VIEWS, 1) - 1;
  const current = Atomics.load(slab.words, at);
  // A writer that never stored its slot abandons it: nobody else can reach a WRITING slot.
  if (current === word(generation, WRITING)) Atomics.compareExchange(slab.words, at, current, word(generation, FREE));
  else if (left === 0 && (current & STATE_MASK) === DRAINING) Atomics.compareExchange(slab.words, at, current, (current & ~STATE_MASK) | FREE);
}

function track(lease: Lease): void {
  const id = lease.id as string;
  let leases = open.get(id);
  if (leases === undefined) open.set(id, (leases = new Set()));
  leases.add(lease);
}

/**
 * Zeroes a recycled slot. Through a Float64Array: on shared memory
 * `Uint8Array#fill` takes a slow path (1.5 ms per 10 MB measured here) where
 * the 8-byte fill runs at memset speed (0.4 ms). Slots are 8-aligned and at
 * least 256 bytes, so rounding up to 8 stays inside the slot.
 */
function zero(view: Uint8Array): void {
  new Float64Array(view.buffer, view.byteOffset, Math.ceil(view.byteLength / 8)).fill(0);
}
