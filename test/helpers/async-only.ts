import type { Connector } from '../../runtime/connectors/connector.js';

/** `inner` without `getSync`: a connector that can only read asynchronously. `onRead` runs before each `get`. */
export function asyncOnly(inner: Connector, onRead?: () => void): Connector {
  return {
    kind: inner.kind,
    put: (d) => inner.put(d),
    putBatch: (d) => inner.putBatch(d),
    get: (k) => {
      onRead?.();
      return inner.get(k);
    },
    getBatch: (k) => inner.getBatch(k),
    exists: (k) => inner.exists(k),
    evict: (k) => inner.evict(k),
    config: () => inner.config(),
    close: (o) => inner.close(o),
  };
}
