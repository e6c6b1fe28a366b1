import { isProxy } from '../proxy/proxy.js';

/** What a reference costs on the wire: a descriptor is a few hundred bytes whatever its target. */
const DESCRIPTOR_BYTES = 300;

/**
 * Whether sending `value` by value would cost at least `bytes`, judged without
 * serializing it. Binary data counts its byteLength exactly; everything else is
 * a lower-bound estimate of its structured-clone size: a string 1 byte per
 * character, a number, bigint or Date 8, other primitives 1, a container 1
 * plus its keys and contents, a nested proxy the size of its descriptor
 * (never its target, which would resolve it). The walk stops as soon as the sum
 * reaches `bytes`, so a decision costs at most about `bytes` steps however large
 * the value, and the value is serialized only once, by the store that keeps it.
 */
export function sizeAtLeast(value: unknown, bytes: number): boolean {
  if (bytes <= 0) return true;
  // The usual argument or result: its size is known without a walk.
  if (ArrayBuffer.isView(value)) return value.byteLength >= bytes;
  let total = 0;
  const seen = new Set<object>();
  // Iterators, not lists: a huge array is walked only as far as the threshold needs.
  const pending: Iterator<unknown>[] = [[value].values()];
  const queue: Queue = (items) => pending.push(items);
  while (pending.length > 0) {
    const next = (pending.at(-1) as Iterator<unknown>).next();
    if (next.done === true) {
      pending.pop();
      continue;
    }
    total += shallowSize(next.value, seen, queue);
    if (total >= bytes) return true;
  }
  return false;
}

/** Items of a container sampled in full; a bigger one is judged by its first this many, scaled to its length. */
const SAMPLED_ITEMS = 32;
/** Items looked at in all: past this, the rest is not counted and the estimate is a lower bound. */
const ESTIMATE_STEPS = 2_048;

interface Sampled {
  readonly items: Iterator<unknown>;
  /** Items still to look at. */
  left: number;
  /** How many bytes of the whole each byte seen here stands for. */
  readonly scale: number;
}

/**
 * About how many bytes sending `value` by value moves, by the rules of
 * `sizeAtLeast`, at a bounded cost whatever its size: binary data and strings
 * count exactly; a container of more than 32 items counts its first 32,
 * scaled to its length, which is close for the uniform arrays big data
 * usually is; the walk stops after 2,048 items (besides listing the keys
 * of the objects it looks at, it reads nothing more). For figures (executor
 * stats), never for decisions. It never throws: a getter or a revoked Proxy
 * that throws ends the count there, since a figure must not fail the call it
 * describes.
 */
export function estimateBytes(value: unknown): number {
  // What a call usually carries and returns is counted without the walk's bookkeeping: a primitive or binary data,
  // or a short list of primitives (a call's arguments once its objects went by key).
  const leaf = leafSize(value);
  if (leaf !== undefined) return leaf;
  let list: number | undefined;
  try {
    list = primitivesSize(value);
  } catch {
    // A revoked Proxy throws even when asked whether it is an array: the walk copes with it.
  }
  return list ?? walkedSize(value);
}

/** `estimateBytes` by the walk: sampled containers, at most ESTIMATE_STEPS items, a throw ending the count. */
function walkedSize(value: unknown): number {
  let total = 0;
  let steps = 0;
  const seen = new Set<object>();
  const pending: Sampled[] = [{ items: [value].values(), left: 1, scale: 1 }];
  let scale = 1;
  const queue: Queue = (items, count) => {
    const sampled = Math.min(count, SAMPLED_ITEMS);
    if (sampled > 0) pending.push({ items, left: sampled, scale: (scale * count) / sampled });
  };
  try {
    while (pending.length > 0 && steps < ESTIMATE_STEPS) {
      const top = pending.at(-1) as Sampled;
      const next = top.left > 0 ? top.items.next() : { done: true as const, value: undefined };
      if (next.done === true) {
        pending.pop();
        continue;
      }
      top.left -= 1;
      steps += 1;
      scale = top.scale;
      total += shallowSize(next.value, seen, queue) * scale;
    }
  } catch {
    // What was counted before the throw stands, as a lower bound.
  }
  return Math.round(total);
}

/** `estimateBytes` of an array (not a proxy of one) of at most SAMPLED_ITEMS primitives; undefined for anything else. */
function primitivesSize(value: unknown): number | undefined {
  // isProxy before length: reading a proxy's length would resolve it.
  if (!Array.isArray(value) || isProxy(value) || value.length > SAMPLED_ITEMS) return undefined;
  let total = 1;
  for (const item of value as unknown[]) {
    if (typeof item === 'object' ? item !== null : typeof item === 'function') return undefined;
    total += leafSize(item) as number;
  }
  return total;
}

/** What `shallowSize` gives for a primitive or binary data (which contain nothing to walk); undefined for anything else. */
function leafSize(item: unknown): number | undefined {
  switch (typeof item) {
    case 'string':
      return item.length;
    case 'number':
    case 'bigint':
      return 8;
    case 'object':
      if (item === null) return 1;
      // A proxy is never a view to ArrayBuffer.isView: it is left to the walk, which counts its descriptor.
      return ArrayBuffer.isView(item) ? item.byteLength : undefined;
    case 'function':
      return undefined;
    default:
      return 1;
  }
}

/** Takes the items of a container (`count` of them) to walk later. */
type Queue = (items: Iterator<unknown>, count: number) => void;

/** Bytes `item` adds by itself; queues what it contains. */
function shallowSize(item: unknown, seen: Set<object>, queue: Queue): number {
  if (item === null || (typeof item !== 'object' && typeof item !== 'function')) return leafSize(item) as number;
  if (isProxy(item)) return DESCRIPTOR_BYTES;
  if (seen.has(item)) return 1;
  seen.add(item);
  if (ArrayBuffer.isView(item)) return item.byteLength;
  if (item instanceof ArrayBuffer || item instanceof SharedArrayBuffer) return item.byteLength;
  if (item instanceof Date) return 8;
  if (item instanceof Map) queue(flatEntries(item as Map<unknown, unknown>), 2 * item.size);
  else if (item instanceof Set) queue(item.values(), item.size);
  else if (Array.isArray(item)) queue(item.values(), item.length);
  else {
    const keys = Object.keys(item);
    queue(keysAndValues(item as Record<string, unknown>, keys), 2 * keys.length);
  }
  return 1;
}

/** Like the entries of `Object.entries`, but each value read only when the walk gets to it. */
function* keysAndValues(item: Record<string, unknown>, keys: readonly string[]): Generator<unknown> {
  for (const key of keys) {
    yield key;
    yield item[key];
  }
}

function* flatEntries(entries: Iterable<[unknown, unknown]>): Generator<unknown> {
  for (const [key, value] of entries) {
    yield key;
    yield value;
  }
}
