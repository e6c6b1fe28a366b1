import { MemoryConnector, type Connector, type Key } from '../../src/index.js';

export interface CountingHooks {
  /** Runs before each put (e.g. to hold it until the test says so). */
  readonly beforePut?: () => Promise<void>;
  /** Runs before each eviction (e.g. to make it fail). */
  readonly beforeEvict?: (key: Key) => void;
}

/** A memory connector that knows how many objects it holds, so tests can tell a store is empty. */
export function countingConnector(hooks: CountingHooks = {}): { connector: Connector; live: () => number } {
  const inner = new MemoryConnector();
  const keys = new Set<string>();
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
    get: (k) => inner.get(k),
    getBatch: (k) => inner.getBatch(k),
    getSync: (k) => inner.getSync(k),
    exists: (k) => inner.exists(k),
    evict: async (k) => {
      hooks.beforeEvict?.(k);
      await inner.evict(k);
      keys.delete(k as string);
    },
    config: () => inner.config(),
    close: (o) => inner.close(o),
  };
  return { connector, live: () => keys.size };
}
