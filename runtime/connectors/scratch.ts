/**
 * Write buffers for connectors that copy a put's bytes out (into a file, onto
 * a socket) and are done with them once the write has finished. Serializing
 * into memory that was written before spares the kernel faulting in fresh
 * pages, which on the dev VM costs about ten times a copy into memory already
 * touched (6.4 against 0.55 ms at 10 MB, see shared-memory-segment.ts).
 */
import { Buffer } from 'node:buffer';
import { IdleTimer } from '../support/timers.js';

/** Below this the serializer's own frames come from the JS heap, which is cheaper than any pool. */
const MIN_POOLED = 64 * 1024;
/** Free buffers kept per connector; a bigger one is kept only briefly (BIG_IDLE_MS). */
const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
/**
 * How long the one buffer above `maxBytes` a pool holds waits for the next
 * put that fits it. Puts of big objects in a row (a loop, a series of tasks)
 * then write into memory touched before: on the dev VM a 100 MB round trip
 * through the file connector serialized into 100 MB of fresh pages on each
 * side, 381–392 ms against 222–231 by hand, and 291–312 ms with the buffer
 * kept. An idle connector drops it soon, so it holds no more than `maxBytes`
 * for long.
 */
const BIG_IDLE_MS = 2_000;

/** Bytes a pool leaves free around each buffer it hands out, for a connector to frame them in place. */
export interface ScratchRoom {
  readonly before: number;
  readonly after: number;
}

export class ScratchPool {
  readonly #free: ArrayBuffer[] = [];
  /** Views handed out by `take` and not given back yet. */
  readonly #lent = new WeakSet<Uint8Array>();
  #freeBytes = 0;
  /** The last buffer above `maxBytes` given back, until `bigIdleMs` pass or a put takes it. */
  #big: ArrayBuffer | undefined;
  readonly #bigIdle: IdleTimer;

  constructor(
    readonly maxBytes = DEFAULT_MAX_BYTES,
    readonly room: ScratchRoom = { before: 0, after: 0 },
    readonly bigIdleMs = BIG_IDLE_MS,
  ) {
    this.#bigIdle = new IdleTimer(bigIdleMs, () => {
      this.#big = undefined;
    });
  }

  /**
   * `size` writable bytes from a buffer written before when a free one fits,
   * with at least `room.before` bytes in front of them (rounded up to keep
   * them 8-aligned, as frames must be) and `room.after` behind them.
   */
  take(size: number): Uint8Array {
    if (size < MIN_POOLED) return new Uint8Array(size);
    const before = Math.ceil(this.room.before / 8) * 8;
    const { after } = this.room;
    const needed = before + size + after;
    let best = -1;
    this.#free.forEach((buffer, i) => {
      if (fits(buffer, needed) && (best < 0 || buffer.byteLength < (this.#free[best] as ArrayBuffer).byteLength)) best = i;
    });
    let buffer: ArrayBuffer;
    if (best >= 0) {
      buffer = this.#free.splice(best, 1)[0] as ArrayBuffer;
      this.#freeBytes -= buffer.byteLength;
    } else {
      buffer = this.#takeBig(needed) ?? Buffer.allocUnsafeSlow(needed).buffer;
    }
    const bytes = new Uint8Array(buffer, before, size);
    this.#lent.add(bytes);
    return bytes;
  }

  /** Whether `bytes` came from `take` (with its room around them) and are not given back yet. */
  lent(bytes: Uint8Array): boolean {
    return this.#lent.has(bytes);
  }

  /**
   * Call once `bytes` are written for good. Memory from `take` serves later
   * puts; anything else is ignored. After a failed write, do not call it: a
   * write that timed out may still be under way.
   */
  giveBack(bytes: Uint8Array): void {
    if (!this.#lent.delete(bytes)) return;
    const buffer = bytes.buffer as ArrayBuffer;
    if (buffer.byteLength > this.maxBytes) {
      this.#keepBig(buffer);
      return;
    }
    this.#free.push(buffer);
    this.#freeBytes += buffer.byteLength;
    while (this.#freeBytes > this.maxBytes) this.#freeBytes -= (this.#free.shift() as ArrayBuffer).byteLength;
  }

  /** Lets go of every free buffer (a connector closing). */
  clear(): void {
    this.#free.length = 0;
    this.#freeBytes = 0;
    this.#dropBig();
  }

  /** The big buffer if it fits `needed`. */
  #takeBig(needed: number): ArrayBuffer | undefined {
    const buffer = this.#big;
    if (buffer === undefined || !fits(buffer, needed)) return undefined;
    this.#dropBig();
    return buffer;
  }

  /** One big buffer at most: the newest, whose size the next big put most likely shares. */
  #keepBig(buffer: ArrayBuffer): void {
    this.#big = buffer;
    this.#bigIdle.touch();
  }

  #dropBig(): void {
    this.#big = undefined;
    this.#bigIdle.stop();
  }
}

/** A buffer up to twice the size still fits, so payloads that vary a little keep reusing the same memory. */
function fits(buffer: ArrayBuffer, needed: number): boolean {
  return buffer.byteLength >= needed && buffer.byteLength <= 2 * needed;
}

/**
 * Arrays a connector's reads were given from its pool, by key, until the
 * reader releases the key (`releaseViews`) and they serve later reads. Held
 * weakly, so an array its reader dropped is collected as any; beyond
 * `maxKeys` keys the oldest are forgotten (left to the collector).
 */
export class LentReads {
  readonly #byKey = new Map<string, WeakRef<ArrayBuffer>[]>();
  /** Each tracked buffer's array as the pool lent it (what it takes back). */
  readonly #arrays = new WeakMap<ArrayBufferLike, Uint8Array>();

  constructor(
    readonly pool: ScratchPool,
    readonly maxKeys = 1024,
  ) {}

  /** `bytes` were read for `key` (the pool takes back only what it lent). */
  track(key: string, bytes: Uint8Array): void {
    const { buffer } = bytes;
    if (!(buffer instanceof ArrayBuffer) || bytes.byteLength === 0) return;
    this.#arrays.set(buffer, bytes);
    const reads = this.#byKey.get(key);
    if (reads === undefined) this.#byKey.set(key, [new WeakRef(buffer)]);
    else reads.push(new WeakRef(buffer));
    if (this.#byKey.size > this.maxKeys) {
      const [oldest] = this.#byKey.keys();
      this.#forget(oldest as string);
    }
  }

  /** Whether `buffer` is a tracked read's: memory the pool may hand out again, so never to adopt. */
  holds(buffer: ArrayBufferLike): boolean {
    return this.#arrays.has(buffer);
  }

  /** The reader is done with `key`: its reads' memory serves later ones. */
  release(key: string): void {
    // One whose buffer was transferred elsewhere (detached: no bytes left) is no memory to reuse.
    for (const bytes of this.#forget(key)) if (bytes.byteLength > 0) this.pool.giveBack(bytes);
  }

  /** Stops tracking every read (their memory is left to the collector). */
  forgetAll(): void {
    this.#byKey.clear();
  }

  /** Stops tracking the reads of `key`; returns the arrays of them still alive. */
  #forget(key: string): Uint8Array[] {
    const reads = this.#byKey.get(key) ?? [];
    this.#byKey.delete(key);
    return reads.flatMap((read) => {
      const buffer = read.deref();
      const bytes = buffer === undefined ? undefined : this.#arrays.get(buffer);
      if (buffer === undefined || bytes === undefined) return [];
      this.#arrays.delete(buffer);
      return [bytes];
    });
  }
}
