/**
 * The behaviour every connector owes the store, as one suite each connector's
 * test file runs against its own setup. Connector-specific behaviour (paths,
 * hosts, ownership of bytes) belongs in that file, not here.
 */
import type { Connector, Key } from '../connectors/connector.js';
import { connectorFromConfig } from '../connectors/kinds.js';
import { ConnectorError } from '../errors.js';
import { jsonRoundTrip, rejection } from './outcomes.js';
import { testApi } from './test-api.js';

export interface ConnectorSetup {
  /** A fresh connector that shares no objects with the ones made before it. */
  make(): Promise<Connector>;
  /** Runs after each test for every connector `make` returned, once the suite has closed it with `clear`. */
  cleanup?(connector: Connector): Promise<void>;
  /** Whether the connector offers `getSync`; the suite also checks that it does exactly when declared. */
  readonly sync: boolean;
  /** Whether a connector rebuilt from `config()` in this process reaches the same objects. */
  readonly sharedThroughConfig: boolean;
}

const SIZES = [
  { label: 'empty', size: 0 },
  { label: 'one-byte', size: 1 },
  { label: 'small', size: 300 },
  { label: '1 MiB', size: 1 << 20 },
  { label: '10 MiB', size: 10 << 20 },
];

export function describeConnector(name: string, setup: ConnectorSetup): void {
  const { afterEach, describe, expect, it } = testApi('describeConnector');
  describe(`${name} connector: conformance`, () => {
    const made: Connector[] = [];
    const rebuilt: Connector[] = [];

    async function make(): Promise<Connector> {
      const connector = await setup.make();
      made.push(connector);
      return connector;
    }

    /** Whether `connector` has the optional `method`; one that lacks it must not be of a kind whose built-in connector has it. */
    function offers<M extends 'startPut' | 'getNow' | 'evictNow'>(connector: Connector, method: M, builtIn: readonly string[]): connector is Connector & Required<Pick<Connector, M>> {
      if (connector[method] !== undefined) return true;
      expect(builtIn).not.toContain(connector.kind);
      return false;
    }

    /** As a descriptor would: the config crosses a JSON boundary first. */
    function rebuild(connector: Connector): Connector {
      const copy = connectorFromConfig(jsonRoundTrip(connector.config()));
      rebuilt.push(copy);
      return copy;
    }

    afterEach(async () => {
      // Rebuilt copies first: they may share a backing whose owner tidies it up last.
      for (const connector of rebuilt.splice(0)) await connector.close({ clear: true });
      for (const connector of made.splice(0)) {
        await connector.close({ clear: true });
        await setup.cleanup?.(connector);
      }
    });

    it.each(SIZES)('round-trips a $label payload byte for byte', async ({ size }) => {
      const connector = await make();
      const data = payload(size, size);
      const key = await connector.put(data);
      expectBytes(await connector.get(key), data);
    });

    it('hands out JSON-safe keys that still work after a JSON round trip', async () => {
      const connector = await make();
      const data = payload(1000, 1);
      const key = await connector.put(data);
      const travelled = jsonRoundTrip(key);
      expect(travelled).toEqual(key);
      expectBytes(await connector.get(travelled), data);
      expect(await connector.exists(travelled)).toBe(true);
      await connector.evict(travelled);
      expect(await connector.exists(key)).toBe(false);
    });

    it('hands out a distinct key for every put, even of identical bytes', async () => {
      const connector = await make();
      const data = payload(64, 2);
      const evicted = await connector.put(data);
      const kept = [...(await Promise.all([1, 2, 3, 4, 5].map(() => connector.put(data)))), ...(await connector.putBatch([data, data, data]))];
      expect(distinct([evicted, ...kept])).toBe(kept.length + 1);
      await connector.evict(evicted);
      expect(await connector.get(evicted)).toBeUndefined();
      for (const bytes of await connector.getBatch(kept)) expectBytes(bytes, data);
    });

    it('startPut, where offered, hands out a JSON-safe key at once that reads back once written', async () => {
      const connector = await make();
      if (!offers(connector, 'startPut', ['memory', 'file', 'redis', 'shared-memory', 'peer'])) return;
      const data = payload(4096, 7);
      const started = connector.startPut(data);
      expect(JSON.parse(JSON.stringify(started.key))).toEqual(started.key);
      await started.written;
      expectBytes(await connector.get(started.key), data);
      expect(await connector.exists(started.key)).toBe(true);
    });

    it('list, where offered, reports each object with its size, and no longer once evicted', async () => {
      const connector = await make();
      if (connector.list === undefined) {
        expect(['memory', 'file', 'redis', 'multi']).not.toContain(connector.kind);
        return;
      }
      const sizes = [0, 10, 4096];
      const keys = await Promise.all(sizes.map((size, i) => connector.put(payload(size, i))));
      const listed = async (): Promise<Map<string, number>> => {
        const found = new Map<string, number>();
        for await (const { key, bytes } of connector.list!()) found.set(JSON.stringify(key), bytes);
        return found;
      };
      const before = await listed();
      keys.forEach((key, i) => expect(before.get(JSON.stringify(key))).toBe(sizes[i]));
      await connector.evict(keys[1] as Key);
      expect((await listed()).has(JSON.stringify(keys[1]))).toBe(false);
    });

    it('newKey and set, where offered, name an object before it exists, then write and overwrite it in place', async () => {
      const connector = await make();
      if (connector.newKey === undefined || connector.set === undefined) {
        expect('newKey' in connector).toBe('set' in connector);
        expect(['memory', 'file', 'shared-memory', 'redis', 'multi']).not.toContain(connector.kind);
        return;
      }
      const key = connector.newKey();
      expect(jsonRoundTrip(key)).toEqual(key);
      expect(connector.newKey()).not.toEqual(key);
      expect(await connector.exists(key)).toBe(false);
      expect(await connector.get(key)).toBeUndefined();
      const first = payload(2048, 3);
      await connector.set(key, first);
      expectBytes(await connector.get(key), payload(2048, 3));
      // Overwrite in place: same key, new bytes, for every reader (a copy rebuilt from the config too).
      await connector.set(key, payload(100, 4));
      expectBytes(await connector.get(key), payload(100, 4));
      if (setup.sharedThroughConfig) expectBytes(await rebuild(connector).get(jsonRoundTrip(key)), payload(100, 4));
      expect(connector.canSet?.(key) ?? true).toBe(true);
      // A put's key can be overwritten too, unless the connector says it cannot (canSet); then set refuses it and leaves the object be.
      const put = await connector.put(payload(10, 5));
      if (connector.canSet?.(put) ?? true) {
        await connector.set(put, payload(20, 6));
        expectBytes(await connector.get(put), payload(20, 6));
      } else {
        await expect(connector.set(put, payload(20, 6))).rejects.toBeInstanceOf(ConnectorError);
        expectBytes(await connector.get(put), payload(10, 5));
      }
      await connector.evict(key);
      expect(await connector.exists(key)).toBe(false);
    });

    it('allocate, where offered, hands out 8-aligned bytes that put, putBatch and startPut store as written', async () => {
      const connector = await make();
      if (connector.allocate === undefined) {
        expect(connector.kind).not.toBe('shared-memory');
        return;
      }
      const fill = (size: number, seed: number): Uint8Array => {
        const bytes = connector.allocate!(size);
        expect(bytes.byteLength).toBe(size);
        expect(bytes.byteOffset % 8).toBe(0);
        bytes.set(payload(size, seed));
        return bytes;
      };
      const single = await connector.put(fill(1 << 20, 1));
      const batch = await connector.putBatch([fill(0, 2), fill(300, 3)]);
      const started = connector.startPut?.(fill(64, 4));
      await started?.written;
      expectBytes(await connector.get(single), payload(1 << 20, 1));
      expect((await connector.getBatch(batch)).map((b) => b?.byteLength)).toEqual([0, 300]);
      expectBytes((await connector.getBatch(batch))[1], payload(300, 3));
      if (started !== undefined) expectBytes(await connector.get(started.key), payload(64, 4));
      expect(() => connector.allocate!(-1)).toThrow(ConnectorError);
    });

    it('scratch, where offered, gives 8-aligned memory whose puts read back intact after it is reused', async () => {
      const connector = await make();
      if (connector.scratch === undefined) {
        expect(['file', 'redis']).not.toContain(connector.kind);
        return;
      }
      const size = 1 << 20;
      const filled = (seed: number): Uint8Array => {
        const bytes = connector.scratch!(size);
        expect(bytes.byteLength).toBe(size);
        expect(bytes.byteOffset % 8).toBe(0);
        bytes.set(payload(size, seed));
        return bytes;
      };
      const first = await connector.put(filled(1));
      const [second] = await connector.putBatch([filled(2)]);
      const started = connector.startPut?.(filled(3));
      await started?.written;
      const fourth = await connector.put(filled(4));
      expectBytes(await connector.get(first), payload(size, 1));
      expectBytes(await connector.get(second as Key), payload(size, 2));
      if (started !== undefined) expectBytes(await connector.get(started.key), payload(size, 3));
      expectBytes(await connector.get(fourth), payload(size, 4));
    });

    it('putBatch keeps input order; getBatch answers in key order with undefined for missing keys', async () => {
      const connector = await make();
      const data = [0, 1, 2, 3].map((i) => payload(100 + i * 1000, 10 + i));
      const keys = await connector.putBatch(data);
      expect(keys).toHaveLength(4);
      expect(distinct(keys)).toBe(4);
      const missing = await missingKey(connector);
      const got = await connector.getBatch([keys[2]!, missing, keys[0]!, keys[3]!, missing, keys[1]!]);
      expect(got).toHaveLength(6);
      expectBytes(got[0], data[2]!);
      expect(got[1]).toBeUndefined();
      expectBytes(got[2], data[0]!);
      expectBytes(got[3], data[3]!);
      expect(got[4]).toBeUndefined();
      expectBytes(got[5], data[1]!);
      expect(await connector.putBatch([])).toEqual([]);
      expect(await connector.getBatch([])).toEqual([]);
    });

    it('reports a missing key through get and exists, and evicting it again is fine', async () => {
      const connector = await make();
      const key = await connector.put(payload(10, 3));
      expect(await connector.exists(key)).toBe(true);
      await connector.evict(key);
      expect(await connector.get(key)).toBeUndefined();
      expect(await connector.exists(key)).toBe(false);
      await expect(connector.evict(key)).resolves.toBeUndefined();
    });

    it('keeps connectors made independently apart: they neither see nor evict each other’s objects', async () => {
      const [a, b] = [await make(), await make()];
      const data = payload(50, 4);
      const key = await a.put(data);
      expect(await b.get(key)).toBeUndefined();
      expect(await b.exists(key)).toBe(false);
      await b.evict(key);
      expectBytes(await a.get(key), data);
    });

    it('offers getSync exactly when the setup declares it', async () => {
      const connector = await make();
      expect(typeof connector.getSync).toBe(setup.sync ? 'function' : 'undefined');
    });

    it.runIf(setup.sync)('getSync agrees with get, missing keys included', async () => {
      const connector = await make();
      for (const size of [0, 300, 1 << 20]) {
        const data = payload(size, 5);
        const key = await connector.put(data);
        expectBytes(connector.getSync!(key), data);
        expectBytes(await connector.get(key), data);
      }
      expect(connector.getSync!(await missingKey(connector))).toBeUndefined();
    });

    it('getNow, where offered, agrees with get (missing keys included) whenever it reads, and never blocks', async () => {
      const connector = await make();
      if (!offers(connector, 'getNow', ['shared-memory'])) return;
      for (const size of [0, 300, 1 << 20]) {
        const data = payload(size, 6);
        const key = await connector.put(data);
        const now = connector.getNow(key);
        if (now !== null) expectBytes(now, data);
        expectBytes(await connector.get(key), data);
      }
      expect(connector.getNow(await missingKey(connector)) ?? undefined).toBeUndefined();
    });

    it('evictNow, where offered, evicts at once when it says so, and otherwise leaves the object to evict', async () => {
      const connector = await make();
      if (!offers(connector, 'evictNow', ['shared-memory'])) return;
      for (const size of [0, 300, 1 << 20]) {
        const key = await connector.put(payload(size, 7));
        if (!connector.evictNow(key)) {
          expectBytes(await connector.get(key), payload(size, 7));
          await connector.evict(key);
        }
        expect(await connector.get(key)).toBeUndefined();
        expect(await connector.exists(key)).toBe(false);
      }
      expect(typeof connector.evictNow(await missingKey(connector))).toBe('boolean');
    });

    it('config() is plain JSON and rebuilds a connector of the same kind and config', async () => {
      const connector = await make();
      const config = connector.config();
      expect(config.kind).toBe(connector.kind);
      expect(jsonRoundTrip(config)).toEqual(config);
      const copy = rebuild(connector);
      expect(copy.kind).toBe(connector.kind);
      expect(copy.config()).toEqual(config);
    });

    it.runIf(setup.sharedThroughConfig)('a connector rebuilt from config() reaches the same objects, both ways', async () => {
      const connector = await make();
      const data = payload(2000, 6);
      const key = await connector.put(data);
      const copy = rebuild(connector);
      expectBytes(await copy.get(key), data);
      const back = payload(3000, 7);
      const backKey = await copy.put(back);
      expectBytes(await connector.get(backKey), back);
      await copy.evict(key);
      expect(await connector.exists(key)).toBe(false);
    });

    it('close({ clear: true }) leaves other connectors’ objects alone', async () => {
      const [a, b] = [await make(), await make()];
      await a.put(payload(100, 8));
      const data = payload(100, 9);
      const key = await b.put(data);
      await a.close({ clear: true });
      expectBytes(await b.get(key), data);
    });

    it.runIf(setup.sharedThroughConfig)('close({ clear: true }) removes exactly this instance’s objects from a shared backing', async () => {
      const connector = await make();
      const own = [await connector.put(payload(100, 10)), ...(await connector.putBatch([payload(100, 11), payload(0, 0)]))];
      const copy = rebuild(connector);
      const data = payload(100, 12);
      const theirs = await copy.put(data);
      await connector.close({ clear: true });
      expect(await copy.getBatch(own)).toEqual([undefined, undefined, undefined]);
      expectBytes(await copy.get(theirs), data);
    });

    it.runIf(setup.sharedThroughConfig)('close() without clear keeps the objects for other instances', async () => {
      const connector = await make();
      const data = payload(100, 13);
      const key = await connector.put(data);
      const copy = rebuild(connector);
      await connector.close();
      expectBytes(await copy.get(key), data);
    });

    it('fails every operation after close with a ConnectorError naming it; closing again is harmless', async () => {
      const connector = await make();
      // Evicted first, so a connector whose backing is now empty must still refuse rather than answer 'missing'.
      const key = await missingKey(connector);
      await connector.close();
      const operations: Record<string, () => Promise<unknown>> = {
        put: () => connector.put(payload(1, 0)),
        putBatch: () => connector.putBatch([payload(1, 0)]),
        get: () => connector.get(key),
        getBatch: () => connector.getBatch([key]),
        exists: () => connector.exists(key),
        evict: () => connector.evict(key),
      };
      for (const [operation, run] of Object.entries(operations)) {
        const error = await rejection(run());
        expect(error, operation).toBeInstanceOf(ConnectorError);
        expect((error as ConnectorError).operation).toBe(operation);
      }
      if (connector.getSync !== undefined) expect(() => connector.getSync?.(key)).toThrow(ConnectorError);
      if (connector.getNow !== undefined) expect(() => connector.getNow?.(key)).toThrow(ConnectorError);
      if (connector.evictNow !== undefined) expect(() => connector.evictNow?.(key)).toThrow(ConnectorError);
      await expect(connector.close()).resolves.toBeUndefined();
    });

    it('bytes once returned stay unchanged through later puts, gets and evictions', async () => {
      const connector = await make();
      const data = payload(4096, 15);
      const key = await connector.put(data);
      const returned = await connector.get(key);
      const fromSync = connector.getSync?.(key);
      await connector.evict(key);
      for (let seed = 16; seed < 20; seed++) {
        const other = await connector.put(payload(4096, seed));
        await connector.get(other);
      }
      await connector.putBatch([payload(4096, 20), payload(4096, 21)]);
      expectBytes(returned, data);
      if (fromSync !== undefined) expectBytes(fromSync, data);
    });

    it('serves 100 parallel puts and then 100 parallel gets correctly', async () => {
      const connector = await make();
      const data = Array.from({ length: 100 }, (_, i) => payload((i * 7919) % 65_536, 100 + i));
      const keys = await Promise.all(data.map((bytes) => connector.put(bytes)));
      expect(distinct(keys)).toBe(100);
      const got = await Promise.all(keys.map((key) => connector.get(key)));
      got.forEach((bytes, i) => expectBytes(bytes, data[i]!));
    });
  });
}

/**
 * Deterministic bytes: the first 256 are every byte value (rotated by `seed`,
 * so small payloads differ too), the rest pseudo-random, so a shifted or
 * truncated copy cannot pass for the original.
 */
export function payload(size: number, seed: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  let state = (Math.imul(seed + 1, 0x9e3779b9) >>> 0) | 1;
  for (let i = 0; i < size; i++) {
    if (i < 256) {
      bytes[i] = (i + seed) & 0xff;
      continue;
    }
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[i] = state & 0xff;
  }
  return bytes;
}

/** Reports length and first differing offset rather than dumping megabytes into the failure message. */
export function expectBytes(actual: Uint8Array | undefined, expected: Uint8Array): void {
  const { expect } = testApi('expectBytes');
  expect(actual).toBeInstanceOf(Uint8Array);
  const bytes = actual ?? new Uint8Array();
  expect({ length: bytes.byteLength, firstDifference: firstDifference(bytes, expected) }).toEqual({ length: expected.byteLength, firstDifference: -1 });
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const shorter = Math.min(a.byteLength, b.byteLength);
  for (let i = 0; i < shorter; i++) if (a[i] !== b[i]) return i;
  return a.byteLength === b.byteLength ? -1 : shorter;
}

/** A key of the right shape that the connector no longer holds. */
async function missingKey(connector: Connector): Promise<Key> {
  const key = await connector.put(payload(1, 0));
  await connector.evict(key);
  return key;
}

function distinct(keys: readonly Key[]): number {
  return new Set(keys.map((key) => JSON.stringify(key))).size;
}

