// A third-party connector: objects in a Map of this thread, shared by every instance that names the same space.
import { randomUUID } from 'node:crypto';
import { ConfigError, ConnectorError, registerConnectorKind, type Connector, type ConnectorConfig, type Key } from 'ts-proxystore';

/** Every space of this thread, so that a connector rebuilt from a config reaches the objects of the one it was made from. */
const spaces = new Map<string, Map<string, Uint8Array>>();

export class MapConnector implements Connector {
  readonly kind = 'example-map';
  readonly #objects: Map<string, Uint8Array>;
  /** What this instance put: `close({ clear: true })` deletes these and nothing else. */
  readonly #mine = new Set<string>();
  #closed = false;

  constructor(readonly space: string = randomUUID()) {
    let objects = spaces.get(space);
    if (objects === undefined) spaces.set(space, (objects = new Map<string, Uint8Array>()));
    this.#objects = objects;
  }

  put(data: Uint8Array): Promise<Key> {
    return settle(() => this.#put('put', data));
  }

  putBatch(data: readonly Uint8Array[]): Promise<Key[]> {
    return settle(() => data.map((bytes) => this.#put('putBatch', bytes)));
  }

  get(key: Key): Promise<Uint8Array | undefined> {
    return settle(() => this.#objects.get(this.#id('get', key)));
  }

  getBatch(keys: readonly Key[]): Promise<(Uint8Array | undefined)[]> {
    return settle(() => keys.map((key) => this.#objects.get(this.#id('getBatch', key))));
  }

  /** Offered because a Map answers at once: a proxy can then resolve on its first synchronous touch. */
  getSync(key: Key): Uint8Array | undefined {
    return this.#objects.get(this.#id('getSync', key));
  }

  exists(key: Key): Promise<boolean> {
    return settle(() => this.#objects.has(this.#id('exists', key)));
  }

  evict(key: Key): Promise<void> {
    return settle(() => {
      const id = this.#id('evict', key);
      this.#objects.delete(id);
      this.#mine.delete(id);
    });
  }

  /** Plain JSON: a descriptor carries it, and `registerConnectorKind` below rebuilds the connector from it. */
  config(): ConnectorConfig {
    return { kind: this.kind, options: { space: this.space } };
  }

  close(options: { clear?: boolean } = {}): Promise<void> {
    this.#closed = true;
    if (options.clear === true) {
      for (const id of this.#mine) this.#objects.delete(id);
      this.#mine.clear();
    }
    return Promise.resolve();
  }

  #put(operation: string, data: Uint8Array): string {
    this.#assertOpen(operation);
    const id = randomUUID();
    // A copy: the caller may reuse its array once the put returns.
    this.#objects.set(id, data.slice());
    this.#mine.add(id);
    return id;
  }

  /** Keys come back from descriptors, i.e. from anyone: check their shape before using them. */
  #id(operation: string, key: Key): string {
    this.#assertOpen(operation);
    if (typeof key !== 'string') throw new ConnectorError(this.kind, operation, 'keys are strings', { key });
    return key;
  }

  #assertOpen(operation: string): void {
    if (this.#closed) throw new ConnectorError(this.kind, operation, `connector for space '${this.space}' is closed`);
  }
}

/** The Map answers at once; this runs its work behind the async interface, so that a failure (a closed connector) is a rejection. */
function settle<T>(work: () => T): Promise<T> {
  return new Promise((resolve) => resolve(work()));
}

/** What `randomUUID()` makes: the only keys this connector hands out. */
const MADE_KEY = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

registerConnectorKind({
  kind: 'example-map',
  // Any other option in a config is refused, naming it, before fromOptions runs.
  options: ['space'],
  // Options from a descriptor are untrusted input: accept exactly what config() writes.
  fromOptions({ space }) {
    if (typeof space !== 'string' || space === '') throw new ConfigError(`example-map connector: option 'space' must be a non-empty string, got ${JSON.stringify(space)}`);
    return new MapConnector(space);
  },
  // An unsigned descriptor that would delete its object (evict on resolve, an owned proxy) must name a key of this shape.
  isMadeKey: (key) => typeof key === 'string' && MADE_KEY.test(key),
});
