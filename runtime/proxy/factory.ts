import type { Key } from '../connectors/connector.js';

/**
 * What a proxy knows about its target before resolving it. Populated proxies
 * take it from the value in hand; descriptors carry it across processes, so
 * `typeof`, `Array.isArray`, `instanceof` and `await` answer without I/O.
 */
export interface ProxyMetadata {
  /** Picks the placeholder: `typeof` and `Array.isArray` are fixed by it. */
  readonly kind: 'object' | 'array' | 'function';
  /** Constructor name for printing, e.g. 'Float64Array', 'Map', 'Model'. */
  readonly typeName?: string;
  /** Name in the class registry, to find the prototype in another process. */
  readonly className?: string;
  /** Whether the target has a callable `then` (so `await` must resolve it). */
  readonly thenable?: boolean;
}

/** Produces a proxy's target. Called at most once per successful resolution. */
export interface Factory<T> {
  (): T;
  /** Resolution that never blocks the thread; used by resolveAsync when present. */
  resolveAsync?: () => Promise<T>;
  /** The store key, for factories that read from a store. */
  readonly key?: Key;
  /** What `JSON.stringify(proxy)` writes instead of the target (a store proxy's descriptor). */
  readonly toJSON?: () => unknown;
}
