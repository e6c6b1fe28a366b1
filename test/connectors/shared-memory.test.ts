import path from 'node:path';
import { BroadcastChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Connector, Key } from '../../runtime/connectors/connector.js';
import { connectorFromConfig, resolvePolicy } from '../../runtime/connectors/kinds.js';
import { SharedMemoryConnector } from '../../runtime/connectors/shared-memory/connector.js';
import { ConfigError, ConnectorError, DescriptorError } from '../../runtime/errors.js';
import { extract, getKey, isResolved } from '../../runtime/proxy/proxy.js';
import { decodeProxies, encodeProxies } from '../../runtime/store/references.js';
import { Store } from '../../runtime/store/store.js';
import type { Proxy } from '../../src/types.js';
import { startWorker, type WorkerClient } from '../helpers/worker-client.js';
import { describeConnector, expectBytes, payload } from '../../runtime/testing/connector-conformance.js';

describeConnector('shared-memory', { make: () => Promise.resolve(new SharedMemoryConnector()), sync: true, sharedThroughConfig: true });

// The fixtures import the package by name, i.e. the build in dist/ (npm test builds first).
const fixture = (name: string): string => path.join(import.meta.dirname, '..', 'fixtures', name);

/** Drives test/fixtures/shm-worker.mjs. */
const startShmWorker = (): WorkerClient => startWorker(fixture('shm-worker.mjs'));

const space = (): string => `test-${crypto.randomUUID()}`;

describe('SharedMemoryConnector', () => {
  const opened: { close(options?: { clear?: boolean }): Promise<void> }[] = [];
  const workers: WorkerClient[] = [];
  function shm(options: ConstructorParameters<typeof SharedMemoryConnector>[0] = {}): SharedMemoryConnector {
    const connector = new SharedMemoryConnector(options);
    opened.push(connector);
    return connector;
  }
  function store(connector: Connector, options: ConstructorParameters<typeof Store>[2] = {}): Store {
    const made = new Store(`shm-${crypto.randomUUID()}`, connector, options);
    opened.push(made);
    return made;
  }
  function worker(): WorkerClient {
    const client = startShmWorker();
    workers.push(client);
    return client;
  }
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((client) => client.terminate()));
    for (const closable of opened.splice(0)) await closable.close({ clear: true });
  });

  it('is a built-in kind once imported', () => {
    expect(resolvePolicy().kinds).toContain('shared-memory');
  });

  it('hands out views on shared memory: every reader sees the same bytes, writes included', async () => {
    const connector = shm();
    const key = await connector.put(payload(64, 1));
    const [first, second] = [connector.getSync(key), await connector.get(key)];
    expect(first?.buffer).toBeInstanceOf(SharedArrayBuffer);
    // Each read is a view of its own (a lease: see shared-memory-pool.ts) on the same memory.
    expect(first?.byteOffset).toBe(second?.byteOffset);
    expect(first!.byteOffset % 8).toBe(0);
    first![0] = 99;
    expect(second![0]).toBe(99);
  });

  it('copies the input on put, so later changes to it do not reach the store', async () => {
    const connector = shm();
    const data = payload(100, 2);
    const key = await connector.put(data);
    data.fill(0);
    expectBytes(await connector.get(key), payload(100, 2));
  });

  it('resolves a typed array through a Store as a view on the segment, without a copy', async () => {
    const s = store(shm());
    const key = await s.put(new Float64Array([1, 2, 3]));
    const value = s.getSync<Float64Array>(key)!;
    expect(value).toBeInstanceOf(Float64Array);
    expect(value.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Array.from(value)).toEqual([1, 2, 3]);
  });

  it('stores a Store put in the segment the serializer wrote, with no second copy', async () => {
    const connector = shm();
    const allocate = vi.spyOn(connector, 'allocate');
    const s = store(connector);
    const key = await s.put(new Float64Array(1000).fill(2.5));
    expect(allocate.mock.results).toHaveLength(1);
    const stored = await connector.get(key);
    const written = allocate.mock.results[0]?.value as Uint8Array;
    expect(stored?.byteOffset).toBe(written.byteOffset);
    written[100] = 42;
    expect(stored?.[100]).toBe(42);
    expect(Array.from(s.getSync<Float64Array>(key)!.subarray(0, 2))).toEqual([2.5, 2.5]);
  });

  it('stores an array from Store.allocate in place: no copy on put, the reader’s view is the writer’s memory', async () => {
    const connector = shm();
    const s = store(connector, { cacheSize: 0 });
    const grid = s.allocate(Float64Array, 1000);
    expect(grid.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(grid.every((x) => x === 0)).toBe(true);
    grid.fill(1.5);
    const p = await s.proxy(grid, { populateTarget: false });
    const read = extract(p);
    expect(read.byteOffset).toBe(grid.byteOffset);
    grid[3] = 7;
    expect(read[3]).toBe(7);
    // Only the first put adopts: a second one stores a copy.
    const again = s.getSync<Float64Array>(await s.put(grid))!;
    expect(again[3]).toBe(7);
    grid[3] = 8;
    expect(again[3]).toBe(7);
    for (const ctor of [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, BigInt64Array, BigUint64Array] as const) {
      const made = s.allocate(ctor as typeof Uint8Array, 3);
      expect(made).toBeInstanceOf(ctor);
      expect(s.getSync<ArrayLike<unknown>>(await s.put(made))).toBeInstanceOf(ctor);
    }
  });

  it('keeps the slot of a Store.allocate array while the array lives, unless it was allocated transient: then its put ends the claim', async () => {
    const slotOf = (key: Key): string => (key as string).replace(/^[\d.]+:(\d+)\..*$/, '$1');
    for (const transient of [false, true]) {
      const s = store(shm({ space: space() }), { cacheSize: 0 });
      const array = s.allocate(Uint8Array, 4000, { transient }).fill(1);
      const key = await s.put(array);
      await s.evict(key);
      const next = await s.put(new Uint8Array(4000).fill(2));
      // The lowest free slot of the size class serves the next put: the evicted one, once nothing claims it.
      expect(slotOf(next) === slotOf(key), `transient: ${transient}`).toBe(transient);
      expect(array[0]).toBe(transient ? 2 : 1);
    }
  });

  it('copies an allocated array put a second time, leaving the first object as it was', async () => {
    const connector = shm();
    const bytes = connector.allocate(16).fill(1);
    const first = await connector.put(bytes);
    const second = await connector.put(bytes);
    bytes.fill(9);
    expectBytes(await connector.get(first), new Uint8Array(16).fill(9));
    expectBytes(await connector.get(second), new Uint8Array(16).fill(1));
  });

  it('refuses to allocate once closed, and a Store reports that as the ConnectorError it is', async () => {
    const connector = shm();
    const s = store(connector);
    await connector.close();
    expect(() => connector.allocate(8)).toThrow(/allocate.*closed/);
    await expect(s.put(new Float64Array(4))).rejects.toBeInstanceOf(ConnectorError);
  });

  it('answers missing for keys of another space, and refuses keys of another process or shape', async () => {
    const connector = shm();
    const other = shm();
    const key = (await other.put(payload(8, 3))) as string;
    expect(await connector.get(key)).toBeUndefined();
    expect(connector.getSync(key)).toBeUndefined();
    const foreign = key.replace(/^\d+/, String(process.pid + 1)).replace(/@.*$/, `@${connector.space}`);
    const error = await connector.get(foreign).catch((rejection: unknown) => rejection);
    expect(error).toBeInstanceOf(ConnectorError);
    expect((error as Error).message).toMatch(/made in process \d+, and shared memory reaches only the threads of that process/);
    for (const bad of [42, 'plain', `1.2@${connector.space}`, { k: key }]) {
      expect(() => connector.getSync(bad as Key)).toThrow(/not a key of a shared-memory connector/);
    }
  });

  it('gives up with a ConnectorError when no thread answers for an object it lacks', async () => {
    const connector = shm({ answerTimeoutMs: 50 });
    // Owned by a thread id no thread has: nobody will answer.
    const unanswered = `${process.pid}.999999.1@${connector.space}`;
    const started = performance.now();
    expect(() => connector.getSync(unanswered)).toThrow(/no thread of space .* answered within 50 ms/);
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    const error = await connector.get(unanswered).catch((rejection: unknown) => rejection);
    expect(error).toMatchObject({ operation: 'get', key: unanswered });
  });

  it('describes itself by space and timeout, and checks options, stricter from elsewhere', async () => {
    const connector = shm({ space: 'named', answerTimeoutMs: 2000 });
    expect(connector.config()).toEqual({ kind: 'shared-memory', options: { space: 'named', answerTimeoutMs: 2000, poolBytes: 256 << 20 } });
    expect(shm({ space: 'named' }).config().options.answerTimeoutMs).toBe(10_000);
    const key = await connector.put(payload(10, 4));
    const rebuilt = connectorFromConfig({ kind: 'shared-memory', options: { space: 'named' } }, { trusted: false });
    opened.push(rebuilt);
    expectBytes(await rebuilt.get(key), payload(10, 4));
    for (const options of [{ space: '' }, { space: 7 }, { answerTimeoutMs: 0 }, { answerTimeoutMs: 'soon' }, { answerTimeoutMs: Infinity }, { poolBytes: -1 }, { poolBytes: 1.5 }, { poolBytes: '1G' }]) {
      expect(() => connectorFromConfig({ kind: 'shared-memory', options: options as never }), JSON.stringify(options)).toThrow(ConfigError);
    }
    expect(() => connectorFromConfig({ kind: 'shared-memory', options: { answerTimeoutMs: 60_000 } }, { trusted: false })).toThrow(DescriptorError);
    expect(() => connectorFromConfig({ kind: 'shared-memory', options: { poolBytes: 2 ** 40 } }, { trusted: false })).toThrow(DescriptorError);
    opened.push(connectorFromConfig({ kind: 'shared-memory', options: { answerTimeoutMs: 60_000 } }));
  });

  it('ignores anything else posted on its channel', async () => {
    const connector = shm();
    const key = await connector.put(payload(16, 5));
    const intruder = new BroadcastChannel(`ts-proxystore:shared-memory:1:${connector.space}`);
    for (const junk of [null, 7, 'put', { op: 'put', items: 3 }, { op: 'evict', ids: [1] }, { op: 'want', id: 'x', from: 1, signal: 5 }, { op: 'offer', id: '1.2.3', to: 0, segment: new SharedArrayBuffer(2) }]) {
      intruder.postMessage(junk);
    }
    intruder.close();
    expectBytes(connector.getSync(key), payload(16, 5));
    expectBytes(await connector.get(key), payload(16, 5));
  });

  it('prompts collection of dropped segments, which V8 alone would leave uncollected', async () => {
    // Without the pool every put gets a segment of its own, as beyond the pool's cap.
    const connector = shm({ poolBytes: 0 });
    const data = new Uint8Array(64 << 20).fill(1);
    const before = process.memoryUsage().rss;
    for (let round = 0; round < 24; round++) await connector.evict(await connector.put(data));
    // 1.5 GB went through; without the prompt RSS grows by about that much.
    expect(process.memoryUsage().rss - before).toBeLessThan(700 << 20);
  });

  describe('across worker threads', () => {
    it('resolves a proxy from the main thread in a worker as a view on the same memory: the worker’s write shows here', async () => {
      const s = store(shm({ space: space() }), { cacheSize: 0 });
      const array = Float64Array.from({ length: 1000 }, (_, i) => i);
      const p = await s.proxy(array, { populateTarget: false });
      const view = await s.get<Float64Array>(getKey(p)!);
      const w = worker();
      const report = await w.call<{ shared: boolean; length: number; sum: number }>('resolve', {
        encoded: encodeProxies({ p }),
        write: { index: 0, value: 42 },
      });
      expect(report).toEqual({ shared: true, length: 1000, sum: (999 * 1000) / 2 });
      expect(view![0]).toBe(42);
      expect(isResolved(p)).toBe(false);
      expect(p[0]).toBe(42);
      expect(array[0]).toBe(0); // the caller's own array was copied at put, and is not shared
    });

    it('frees an evicted object in every thread: the worker then finds the key missing', async () => {
      const s = store(shm({ space: space() }), { cacheSize: 0 });
      const p = await s.proxy(new Float64Array(100).fill(1));
      const encoded = encodeProxies({ p });
      const w = worker();
      expect((await w.call<{ sum: number }>('resolve', { encoded })).sum).toBe(100);
      expect(await w.call('exists', { encoded })).toEqual({ exists: true, getSync: 'present' });
      await s.evict(getKey(p)!);
      expect(await w.call('exists', { encoded })).toEqual({ exists: false, getSync: 'missing' });
    });

    it('resolves here a result made in a worker, also after that worker has exited', async () => {
      const shared = space();
      store(shm({ space: shared }));
      const w = worker();
      const { encoded } = await w.call<{ encoded: unknown }>('make', { space: shared, values: [7, 8, 9] });
      await w.terminate();
      const { p } = decodeProxies(encoded) as { p: Proxy<Float64Array> };
      const value = extract(p);
      expect(Array.from(value)).toEqual([7, 8, 9]);
      expect(value.buffer).toBeInstanceOf(SharedArrayBuffer);
    });

    it('getNow reads at once what this thread holds, and leaves to get what another thread must hand over', async () => {
      const shared = space();
      const w = worker();
      const { encoded } = await w.call<{ encoded: unknown }>('make', { space: shared, values: [1, 2], poolBytes: 0 });
      const made = getKey((decodeProxies(encoded) as { p: Proxy<Float64Array> }).p)!;
      // Joined after the worker's put, so that segment was never announced here: only get may wait for it.
      const connector = shm({ space: shared });
      const mine = await connector.put(payload(32, 7));
      expectBytes(connector.getNow(mine) ?? undefined, payload(32, 7));
      expect(connector.getNow(made)).toBeNull();
      expect(await connector.get(made)).toBeInstanceOf(Uint8Array);
      expect(connector.getNow(made)).toBeInstanceOf(Uint8Array);
      const future = connector.newKey();
      expect(connector.getNow(future)).toBeNull();
      await connector.evict(mine);
      // Missing, or (its slab handed back once idle) for get to find missing.
      expect(connector.getNow(mine)).not.toBeInstanceOf(Uint8Array);
      expect(await connector.get(mine)).toBeUndefined();
    });

    it('resolves synchronously here a result from a worker whose space this thread had not joined, by asking the worker', async () => {
      const w = worker();
      const { encoded } = await w.call<{ encoded: unknown }>('make', { space: space(), values: [4, 5] });
      const { p } = decodeProxies(encoded) as { p: Proxy<Float64Array> };
      expect(Array.from(extract(p))).toEqual([4, 5]);
    });

    it('serves a thread that joined the space before the put and one that joins after, alike', async () => {
      const shared = space();
      const s = store(shm({ space: shared }));
      const early = worker();
      await early.call('make', { space: shared, values: [0] }); // now a member of the space
      const p = await s.proxy(Float64Array.from([1, 2, 3]));
      const late = worker();
      const encoded = encodeProxies({ p });
      const reports = await Promise.all([early.call('resolve', { encoded }), late.call('resolve', { encoded })]);
      expect(reports).toEqual([
        { shared: true, length: 3, sum: 6 },
        { shared: true, length: 3, sum: 6 },
      ]);
    });

    it('answers missing at once for the objects of a thread that has left the space', async () => {
      const shared = space();
      const connector = shm({ space: shared });
      const { key } = await worker().call<{ key: Key }>('putEvictLeave', { space: shared });
      const started = performance.now();
      expect(connector.getSync(key)).toBeUndefined();
      expect(await connector.exists(key)).toBe(false);
      expect(performance.now() - started).toBeLessThan(1000);
    });

    it('sends a proxy to a piscina task, which doubles the array in place and answers with a proxy of its own', async () => {
      const shared = space();
      const s = store(shm({ space: shared }), { cacheSize: 0 });
      const pool = new Piscina({ filename: fixture('shm-task.mjs'), minThreads: 1, maxThreads: 1 });
      try {
        for (let round = 1; round <= 2; round++) {
          const p = await s.proxy(Float64Array.from([1, 2, 3, 4]), { populateTarget: false });
          const reply = (await pool.run({ encoded: encodeProxies({ p }) })) as { shared: boolean; result: unknown };
          expect(reply.shared).toBe(true);
          expect(Array.from(p)).toEqual([2, 4, 6, 8]);
          const { p: result } = decodeProxies(reply.result) as { p: { length: number; threadId: number } };
          expect(result.length).toBe(4);
          expect(result.threadId).toBeGreaterThan(0);
        }
      } finally {
        await pool.destroy();
      }
    });
  });
});
