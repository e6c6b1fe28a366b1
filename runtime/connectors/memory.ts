import { randomUUID } from 'node:crypto';
import type { CloseOptions, Connector, ConnectorConfig, Key, ListedObject, StartedPut } from './connector.js';
import { registerConnectorKind } from './kinds.js';
import { ConnectorError } from '../errors.js';
import { settle, spaceOption } from './in-process.js';
import { rejectUnknownOptions } from './options.js';

export interface MemoryConnectorOptions {
  /**
   * Connectors with the same space in one process see the same objects, so a
   * connector rebuilt from `config()` here (a descriptor decoded in the process
   * that made it) reaches them. Default: a fresh random space per instance.
   */
  readonly space?: string;
}

/**
 * Process-wide so that spaces outlive the connector instances that name them.
 * A space's entry is dropped once empty, so finished spaces do not accumulate.
 */
const spaces = new Map<string, Map<string, Uint8Array>>();

/**
 * Keeps objects in this process's memory. Nothing crosses a thread or process
 * boundary: in another process the same space is a different, empty one.
 *
 * Ownership of bytes, chosen for speed (measured on the dev VM: a put that
 * copies costs 0.5–1 ms per MB including allocation, 5–10 ms for 10 MB, against
 * 2–5 µs at any size for one that keeps the reference):
 * - `put` adopts a Uint8Array that spans a whole, unshared ArrayBuffer without
 *   copying: do not mutate or transfer it afterwards. A view into a larger or
 *   shared buffer is copied, because such buffers are typically pools or
 *   reused writer buffers that would change under us or pin far more memory
 *   than the object.
 * - `get`/`getSync` return the stored Uint8Array itself (a plain Uint8Array,
 *   never a Buffer), the same instance to every reader: treat it as read-only.
 */
const MEMORY_OPTIONS = ['space'];

export class MemoryConnector implements Connector {
  readonly kind = 'memory';
  readonly reach = 'thread';
  readonly space: string;
  /** Only these are removed by `close({ clear: true })`; other instances on the space keep theirs. */
  readonly #stored = new Set<string>();
  #closed = false;

  constructor(options: MemoryConnectorOptions = {}) {
    rejectUnknownOptions('memory', options, MEMORY_OPTIONS);
    this.space = spaceOption(options.space, 'memory') ?? randomUUID();
  }

  put(data: Uint8Array): Promise<Key> {
    return settle(() => this.#put('put', data));
  }

  /** The write is a map insertion, so it is complete before the key is returned. */
  startPut(data: Uint8Array): StartedPut {
    return { key: this.#put('startPut', data), written: Promise.resolve(), readable: true };
  }

  newKey(): Key {
    this.#assertOpen('newKey');
    return randomUUID();
  }

  set(key: Key, data: Uint8Array): Promise<void> {
    return settle(() => {
      this.#put('set', data, this.#id('set', key));
    });
  }

  putBatch(data: readonly Uint8Array[]): Promise<Key[]> {
    return settle(() => {
      this.#assertOpen('putBatch');
      return data.map((bytes) => this.#put('putBatch', bytes));
    });
  }

  get(key: Key): Promise<Uint8Array | undefined> {
    return settle(() => this.#get('get', key));
  }

  getSync(key: Key): Uint8Array | undefined {
    return this.#get('getSync', key);
  }

  getBatch(keys: readonly Key[]): Promise<(Uint8Array | undefined)[]> {
    return settle(() => {
      this.#assertOpen('getBatch');
      return keys.map((key) => this.#get('getBatch', key));
    });
  }

  exists(key: Key): Promise<boolean> {
    return settle(() => this.#get('exists', key) !== undefined);
  }

  evict(key: Key): Promise<void> {
    return settle(() => {
      const id = this.#id('evict', key);
      this.#stored.delete(id);
      this.#remove([id]);
    });
  }

  config(): ConnectorConfig {
    return { kind: this.kind, options: { space: this.space } };
  }

  /** Every object in the space, this instance's or another's; a copy, so the caller may evict while it iterates. */
  list(): ListedObject[] {
    this.#assertOpen('list');
    return [...(spaces.get(this.space) ?? [])].map(([key, data]) => ({ key, bytes: data.byteLength }));
  }

  /** Idempotent; `clear` is honoured by whichever call asks for it. */
  close(options: CloseOptions = {}): Promise<void> {
    this.#closed = true;
    if (options.clear === true) {
      this.#remove(this.#stored);
      this.#stored.clear();
    }
    return Promise.resolve();
  }

  #put(operation: string, data: Uint8Array, id: string = randomUUID()): string {
    this.#assertOpen(operation);
    const { buffer } = data;
    // A plain view over an adopted buffer, so readers never get a Buffer (whose slice() does not copy).
    const stored = buffer instanceof ArrayBuffer && data.byteLength === buffer.byteLength ? new Uint8Array(buffer) : new Uint8Array(data);
    let objects = spaces.get(this.space);
    if (objects === undefined) spaces.set(this.space, (objects = new Map<string, Uint8Array>()));
    objects.set(id, stored);
    this.#stored.add(id);
    return id;
  }

  #remove(ids: Iterable<string>): void {
    const objects = spaces.get(this.space);
    if (objects === undefined) return;
    for (const id of ids) objects.delete(id);
    if (objects.size === 0) spaces.delete(this.space);
  }

  #get(operation: string, key: Key): Uint8Array | undefined {
    const id = this.#id(operation, key);
    return spaces.get(this.space)?.get(id);
  }

  #id(operation: string, key: Key): string {
    this.#assertOpen(operation);
    if (typeof key !== 'string') throw new ConnectorError(this.kind, operation, 'memory keys are strings', { key });
    return key;
  }

  #assertOpen(operation: string): void {
    if (this.#closed) throw new ConnectorError(this.kind, operation, `connector for space '${this.space}' is closed`);
  }
}

registerConnectorKind(
  { kind: 'memory', options: MEMORY_OPTIONS, fromOptions: (options) => new MemoryConnector({ space: spaceOption(options.space, 'memory') }) },
  { builtin: true },
);
