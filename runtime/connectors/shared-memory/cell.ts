/**
 * Future cells for the shared-memory connector: a key named before its object
 * exists (`newKey`), written and overwritten later (`set`), in any thread.
 *
 * Why a cell rather than reserving an object's key: an object's key names
 * where its bytes lie (a segment, or a slab slot and generation), and neither
 * size nor place is known before the value is. So the key names a small
 * segment of its own (shared-memory-segment.ts, announced like any object),
 * and the cell holds the id of the object currently stored for it:
 *
 *   Int32  version   0 never set; odd while a writer changes it; even once set
 *   Int32  length    bytes of the id below
 *   bytes  id        ASCII, at most REF_BYTES: `<pid>.<thread>.<seq>[:<slot>.<generation>]`
 *
 * The version word is a sequence lock: a writer takes it from even v to v + 1
 * (compareExchange, so writers take turns), writes the id, stores v + 2 and
 * notifies. A reader reads the version, the id, and the version again, and
 * keeps the id only when both reads agree and are even, so it never sees a
 * mix of two ids. Waiting for a value is `Atomics.wait` (or `waitAsync`) on
 * the version word while it is 0: the writer's notify wakes every thread
 * waiting on the cell at once, without polling.
 */
import { ConnectorError } from '../../errors.js';
import { allocateSegment } from './segment.js';

/** After the segment's 8-byte header. */
const WORDS_AT = 8;
const VERSION = 0;
const LENGTH = 1;
const REF_AT = WORDS_AT + 8;
/** Longer than any id the connector makes (digits of a pid, thread, sequence, slot and generation). */
const REF_BYTES = 96;
const CELL_BYTES = REF_AT + REF_BYTES - WORDS_AT;

/** How often a reader rereads a cell whose writer is mid-write before it gives up. */
const MAX_READS = 1_000;

/** `<cell segment id>:future`: tells a cell's key from an object's. */
const CELL_ID = /^(\d+\.\d+\.\d+):future$/;

/** The segment id of a cell id; undefined for any other id. */
export function cellSegmentOf(id: string): string | undefined {
  // Asked of every key read or evicted: most are not cells, told apart without running the pattern.
  return id.endsWith(':future') ? CELL_ID.exec(id)?.[1] : undefined;
}

export function cellIdOf(segmentId: string): string {
  return `${segmentId}:future`;
}

/** A fresh cell, never set. */
export function createCell(): SharedArrayBuffer {
  return allocateSegment(CELL_BYTES);
}

/** Whether a segment has a cell's size; anything else under a cell id was not made by `createCell`. */
export function isCell(segment: SharedArrayBuffer): boolean {
  return segment.byteLength === WORDS_AT + CELL_BYTES;
}

function wordsOf(cell: SharedArrayBuffer): Int32Array {
  return new Int32Array(cell, WORDS_AT, 2);
}

/** The id stored in the cell (undefined while never set) and the version it was read at. */
export function readCell(cell: SharedArrayBuffer, timeoutMs: number): { version: number; ref: string | undefined } {
  const words = wordsOf(cell);
  const bytes = new Uint8Array(cell, REF_AT, REF_BYTES);
  const deadline = performance.now() + timeoutMs;
  for (let reads = 0; reads < MAX_READS; reads++) {
    const version = Atomics.load(words, VERSION);
    if (version === 0) return { version, ref: undefined };
    if (version % 2 === 1) {
      // A writer is between its two stores; it notifies when done.
      const left = deadline - performance.now();
      if (left <= 0) break;
      Atomics.wait(words, VERSION, version, Math.min(left, 1));
      continue;
    }
    const length = Atomics.load(words, LENGTH);
    const ref = length > 0 && length <= REF_BYTES ? String.fromCharCode(...bytes.subarray(0, length)) : undefined;
    if (Atomics.load(words, VERSION) === version) return { version, ref };
  }
  throw new ConnectorError('shared-memory', 'get', `a future's cell stayed mid-write for ${timeoutMs} ms: its writer thread stopped while setting it`);
}

/** The version now: it moves on with every write, so a reader can tell whether a write came between two reads. */
export function cellVersion(cell: SharedArrayBuffer): number {
  return Atomics.load(wordsOf(cell), VERSION);
}

/** Stores `ref` in the cell and wakes every waiter; returns the id it replaced. */
export function writeCell(cell: SharedArrayBuffer, ref: string, timeoutMs: number): string | undefined {
  if (ref.length > REF_BYTES) throw new ConnectorError('shared-memory', 'set', `object id ${ref} is longer than a cell holds (${REF_BYTES})`);
  const words = wordsOf(cell);
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const version = Atomics.load(words, VERSION);
    if (version % 2 === 0 && Atomics.compareExchange(words, VERSION, version, version + 1) === version) break;
    const left = deadline - performance.now();
    if (left <= 0) throw new ConnectorError('shared-memory', 'set', `a future's cell stayed mid-write for ${timeoutMs} ms: another writer thread stopped while setting it`);
    Atomics.wait(words, VERSION, version | 1, Math.min(left, 1));
  }
  const bytes = new Uint8Array(cell, REF_AT, REF_BYTES);
  const length = Atomics.load(words, LENGTH);
  const old = length > 0 && length <= REF_BYTES ? String.fromCharCode(...bytes.subarray(0, length)) : undefined;
  for (let i = 0; i < ref.length; i++) bytes[i] = ref.charCodeAt(i);
  Atomics.store(words, LENGTH, ref.length);
  // Seen by a reader only after the id: Atomics.store is sequentially consistent and orders the plain writes above before it.
  Atomics.add(words, VERSION, 1);
  Atomics.notify(words, VERSION);
  return old;
}

/** Blocks until the cell has been set, or `timeoutMs` passed: one Atomics.wait, woken by the writer's notify. */
export function waitCellSync(cell: SharedArrayBuffer, timeoutMs: number): void {
  const words = wordsOf(cell);
  if (Atomics.load(words, VERSION) === 0 && timeoutMs > 0) Atomics.wait(words, VERSION, 0, timeoutMs);
}

type WaitAsync = (array: Int32Array, index: number, value: number, timeoutMs: number) => { async: false; value: string } | { async: true; value: Promise<string> };
// In Node since 16; the ES2024 lib that types it is newer than the lib this package compiles against.
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/** Like `waitCellSync` without blocking the thread. */
export async function waitCell(cell: SharedArrayBuffer, timeoutMs: number): Promise<void> {
  const words = wordsOf(cell);
  if (Atomics.load(words, VERSION) !== 0 || timeoutMs <= 0) return;
  const waiting = waitAsync(words, VERSION, 0, timeoutMs);
  if (!waiting.async) return;
  // A pending waitAsync does not keep Node's event loop alive: a referenced timer does, as a polling wait's would.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([waiting.value, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  clearTimeout(timer);
}
