import { isProxy } from '../proxy.js';

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
  while (pending.length > 0) {
    const next = (pending.at(-1) as Iterator<unknown>).next();
    if (next.done === true) {
      pending.pop();
      continue;
    }
    total += shallowSize(next.value, seen, pending);
    if (total >= bytes) return true;
  }
  return false;
}

/** Bytes `item` adds by itself; queues what it contains. */
function shallowSize(item: unknown, seen: Set<object>, pending: Iterator<unknown>[]): number {
  switch (typeof item) {
    case 'string':
      return item.length;
    case 'number':
    case 'bigint':
      return 8;
    case 'object':
    case 'function':
      break;
    default:
      return 1;
  }
  if (item === null) return 1;
  if (isProxy(item)) return DESCRIPTOR_BYTES;
  if (seen.has(item)) return 1;
  seen.add(item);
  if (ArrayBuffer.isView(item)) return item.byteLength;
  if (item instanceof ArrayBuffer || item instanceof SharedArrayBuffer) return item.byteLength;
  if (item instanceof Date) return 8;
  if (item instanceof Map) pending.push(flatEntries(item as Map<unknown, unknown>));
  else if (item instanceof Set || Array.isArray(item)) pending.push((item as Iterable<unknown>)[Symbol.iterator]());
  else pending.push(flatEntries(Object.entries(item)));
  return 1;
}

function* flatEntries(entries: Iterable<[unknown, unknown]>): Generator<unknown> {
  for (const [key, value] of entries) {
    yield key;
    yield value;
  }
}
