import { MemoryConnector, type Connector, type Key } from '../../src/index.js';

export interface CountingHooks {
  /** Runs before each put (e.g. to hold it until the test says so). */
  readonly beforePut?: () => Promise<void>;
  /** Runs before each eviction (e.g. to make it fail). */
  readonly beforeEvict?: (key: Key) => void;
  /** Runs before each async read (e.g. to hold it in flight until the test says so). */
  readonly beforeGet?: (key: Key) => Promise<void>;
}

/**
 * A memory connector that knows how many objects it holds, so tests can tell
 * a store is empty, and how many objects were read from it (async, sync and
 * batched reads alike), so tests can tell reads were shared.
 */
export function countingConnector(hooks: CountingHooks = {}): { connector: Connector; live: () => number; reads: () => number } {
  const inner = new MemoryConnector();
  const keys = new Set<string>();
  let reads = 0;
  const connector: Connector = {
    kind: inner.kind,
    put: async (d) => {
      await hooks.beforePut?.();
      const key = await inner.put(d);
      keys.add(key as string);
      return key;
    },
    putBatch: async (d) => {
      const put = await inner.putBatch(d);
      for (const key of put) keys.add(key as string);
      return put;
    },
    get: async (k) => {
      reads++;
      await hooks.beforeGet?.(k);
      return inner.get(k);
    },
    getBatch: (k) => {
      reads += k.length;
      return inner.getBatch(k);
    },
    getSync: (k) => {
      reads++;
      return inner.getSync(k);
    },
    exists: (k) => inner.exists(k),
    evict: async (k) => {
      hooks.beforeEvict?.(k);
      await inner.evict(k);
      keys.delete(k as string);
    },
    config: () => inner.config(),
    close: (o) => inner.close(o),
  };
  return { connector, live: () => keys.size, reads: () => reads };
}
