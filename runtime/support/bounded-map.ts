/**
 * Sets `key` in a memo that starts over once it holds `max` entries: any
 * number of keys costs bounded memory, and a reset costs only recomputing
 * what was forgotten. Returns `value`.
 */
export function setBounded<K, V>(memo: Map<K, V>, max: number, key: K, value: V): V {
  if (memo.size >= max) memo.clear();
  memo.set(key, value);
  return value;
}
