/** The get, compute, set pattern that the rules and the proxy type checks use for their caches. */

/**
 * Remembers `compute`'s answer per first argument, undefined answers included,
 * in `cache` (a fresh WeakMap unless one is shared). Further arguments reach
 * `compute` on a key's first call only: they must not change the answer for
 * that key (the TypeScript a checker came from, the program a declaration is in).
 */
export function memoize<K extends object, A extends unknown[], V>(
  compute: (key: K, ...rest: A) => V,
  cache: WeakMap<K, V> = new WeakMap(),
): (key: K, ...rest: A) => V {
  return (key, ...rest) => {
    const known = cache.get(key);
    if (known !== undefined || cache.has(key)) return known as V;
    const value = compute(key, ...rest);
    cache.set(key, value);
    return value;
  };
}
