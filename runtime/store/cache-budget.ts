/**
 * One bound on what several stores' caches hold together. Each store's cache
 * keeps its own limits (`cacheSize`, `cacheBytes`); a budget bounds their
 * sum, for stores whose limits someone else chose: the stores a process
 * builds from descriptors (up to 64 of them, each allowed up to the policy's
 * cache bounds) share one, so a flood of forged descriptors cannot make the
 * process hold 64 times a store's cache. When an entry pushes the sum past the
 * budget, the least recently used entries of all the caches go first.
 */
/** What a budget needs of a cache entry: its size, and when it was last used (the budget's clock). */
export interface BudgetedEntry {
  readonly bytes: number;
  used: number;
}

export interface CacheBudgetLimits {
  /** Encoded bytes all the caches may hold together. */
  readonly maxBytes: number;
  /** Objects all the caches may hold together. */
  readonly maxObjects: number;
}

/** What a budget needs of a cache (an lru-cache `LRUCache` of budgeted entries has it). */
export interface BudgetedCache {
  readonly calculatedSize: number;
  readonly size: number;
  /** Drops the least recently used entry. */
  pop(): BudgetedEntry | undefined;
  delete(id: string): boolean;
  /** [id, entry] pairs, least recently used first. */
  rentries(): Iterator<unknown[]>;
}

export class CacheBudget {
  /** Weak: a store dropped everywhere else takes its cache with it, budget or not. */
  readonly #caches = new Set<WeakRef<BudgetedCache>>();
  readonly #refs = new WeakMap<BudgetedCache, WeakRef<BudgetedCache>>();
  #clock = 0;

  constructor(readonly limits: () => CacheBudgetLimits) {}

  join(cache: BudgetedCache): void {
    const ref = new WeakRef(cache);
    this.#refs.set(cache, ref);
    this.#caches.add(ref);
  }

  leave(cache: BudgetedCache): void {
    const ref = this.#refs.get(cache);
    if (ref !== undefined) this.#caches.delete(ref);
  }

  /** Marks `entry` as just used: the last to go. */
  touch(entry: BudgetedEntry): void {
    entry.used = ++this.#clock;
  }

  /** After `cache` took `entry` under `id`: drops least recently used entries across the caches until all fit the budget. */
  admit(cache: BudgetedCache, id: string, entry: BudgetedEntry): void {
    this.touch(entry);
    const { maxBytes, maxObjects } = this.limits();
    if (entry.bytes > maxBytes || maxObjects === 0) {
      // It alone is over the budget: keeping it would push out everything else first.
      cache.delete(id);
      return;
    }
    const caches = this.#live();
    let bytes = 0;
    let objects = 0;
    for (const each of caches) {
      bytes += each.calculatedSize;
      objects += each.size;
    }
    while (bytes > maxBytes || objects > maxObjects) {
      const victim = oldestOf(caches);
      const dropped = victim?.pop();
      if (dropped === undefined) return;
      bytes -= dropped.bytes;
      objects -= 1;
    }
  }

  /** What the caches hold together now. */
  usage(): { readonly bytes: number; readonly objects: number } {
    let bytes = 0;
    let objects = 0;
    for (const cache of this.#live()) {
      bytes += cache.calculatedSize;
      objects += cache.size;
    }
    return { bytes, objects };
  }

  #live(): BudgetedCache[] {
    const live: BudgetedCache[] = [];
    for (const ref of this.#caches) {
      const cache = ref.deref();
      if (cache === undefined) this.#caches.delete(ref);
      else live.push(cache);
    }
    return live;
  }
}

/** The cache whose least recently used entry was used longest ago. */
function oldestOf(caches: readonly BudgetedCache[]): BudgetedCache | undefined {
  let oldest: BudgetedCache | undefined;
  let oldestUse = Infinity;
  for (const cache of caches) {
    const tail = cache.rentries().next();
    if (tail.done === true) continue;
    const entry = tail.value[1] as BudgetedEntry;
    if (entry.used < oldestUse) {
      oldestUse = entry.used;
      oldest = cache;
    }
  }
  return oldest;
}
