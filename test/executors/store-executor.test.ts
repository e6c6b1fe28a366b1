import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Piscina } from 'piscina';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../runtime/errors.js';
import { PiscinaExecutor } from '../../runtime/executors/piscina.js';
import { sizeAtLeast } from '../../runtime/store/size.js';
import { StoreExecutor, type ShouldProxy } from '../../runtime/executors/store-executor.js';
import { getKey, isProxy, proxy } from '../../runtime/proxy/proxy.js';
import { NestingTooDeepError } from '../../runtime/proxy/walk.js';
import { MemoryConnector, Store, type Executor } from '../../src/index.js';
import { fileStore, floats, taskPool, watchStoredInputs, type FileStore, type FixtureTasks } from './helpers.js';

describe('sizeAtLeast', () => {
  it('counts binary data by its byteLength, exactly', () => {
    expect(sizeAtLeast(new Float64Array(100), 800)).toBe(true);
    expect(sizeAtLeast(new Float64Array(100), 801)).toBe(false);
    expect(sizeAtLeast(new ArrayBuffer(10), 10)).toBe(true);
    expect(sizeAtLeast(new DataView(new ArrayBuffer(64), 8, 8), 9)).toBe(false);
  });

  it('estimates other values from their contents, through nested containers and cycles', () => {
    const cyclic: Record<string, unknown> = { text: 'x'.repeat(500) };
    cyclic.self = cyclic;
    expect(sizeAtLeast(cyclic, 500)).toBe(true);
    expect(sizeAtLeast(cyclic, 1_000)).toBe(false);
    expect(sizeAtLeast(new Map([['k', [new Uint8Array(300), new Set([new Uint8Array(300)])]]]), 600)).toBe(true);
    expect(sizeAtLeast(Array.from({ length: 100 }, (_, i) => i), 800)).toBe(true);
    expect(sizeAtLeast({ small: true }, 100)).toBe(false);
    expect(sizeAtLeast('anything', 0)).toBe(true);
  });

  it('stops as soon as the threshold is reached, however large the value', () => {
    const huge = Array.from({ length: 2_000_000 }, () => 1);
    const started = performance.now();
    for (let i = 0; i < 100; i++) expect(sizeAtLeast(huge, 100_000)).toBe(true);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('counts a nested proxy as its descriptor and never resolves it', () => {
    const untouchable = proxy<object>(() => {
      throw new Error('resolved');
    });
    expect(sizeAtLeast([untouchable], 100)).toBe(true);
    expect(sizeAtLeast([untouchable], 10_000)).toBe(false);
  });
});

describe('StoreExecutor', () => {
  let pool: Piscina;
  const stores: FileStore[] = [];
  beforeAll(() => {
    pool = taskPool();
  });
  afterEach(async () => {
    for (const made of stores.splice(0)) await made.remove();
  });
  afterAll(() => pool.destroy());

  function counted(): FileStore {
    const made = fileStore();
    stores.push(made);
    return made;
  }
  function executor(shouldProxy?: ShouldProxy, extra: { resultThreshold?: number } = {}): { ex: StoreExecutor<FixtureTasks>; files: () => string[] } {
    const { store, files } = counted();
    return { ex: new StoreExecutor(new PiscinaExecutor<FixtureTasks>(pool), { store, ...(shouldProxy === undefined ? {} : { shouldProxy }), ...extra }), files };
  }
  /** Which of `args` the executor sent as proxies. */
  async function arrivals(ex: StoreExecutor<FixtureTasks>, ...args: unknown[]): Promise<boolean[]> {
    const watched = watchStoredInputs(ex.store);
    await ex.submit('inspect', ...args);
    return args.map((arg) => watched.picked().includes(arg));
  }

  it('proxies top-level arguments by the policy: size (default 100 kB), never, always, types, a predicate', async () => {
    const big = floats(100_000);
    const small = floats(99_992);
    const map = new Map([[1, 2]]);
    await using bySize = executor().ex;
    const text = 'x'.repeat(200_000);
    // Primitives can never be proxied, however big: a string goes by value, an object holding it does not.
    expect(await arrivals(bySize, big, small, { text }, text, 7)).toEqual([true, false, true, false, false]);
    await using never = executor('never').ex;
    expect(await arrivals(never, big, map)).toEqual([false, false]);
    await using always = executor('always').ex;
    expect(await arrivals(always, big, map, 'text', 1)).toEqual([true, true, false, false]);
    await using byType = executor({ types: [Map] }).ex;
    expect(await arrivals(byType, big, map)).toEqual([false, true]);
    await using byPredicate = executor((value) => Array.isArray(value)).ex;
    expect(await arrivals(byPredicate, [1], big)).toEqual([true, false]);
    await using byThreshold = executor({ minBytes: 16 }).ex;
    expect(await arrivals(byThreshold, floats(16), floats(8))).toEqual([true, false]);
  });

  it('stores an argument given twice once', async () => {
    await using ex = executor('always').ex;
    const watched = watchStoredInputs(ex.store);
    const twice = floats(64);
    await ex.submit('inspect', twice, twice);
    expect(watched.picked()).toEqual([twice]);
  });

  it('proxies results from the size the policy implies, or from resultThreshold', async () => {
    await using never = executor('never').ex;
    expect(isProxy(await never.submit('fill', 200_000, 1))).toBe(false);
    await using always = executor('always').ex;
    expect(isProxy(await always.submit('fill', 1, 1))).toBe(true);
    await using threshold = executor('never', { resultThreshold: 80 }).ex;
    expect([isProxy(await threshold.submit('fill', 10, 1)), isProxy(await threshold.submit('fill', 9, 1))]).toEqual([true, false]);
  });

  it('refuses malformed options', () => {
    const { store } = counted();
    const inner = new PiscinaExecutor<FixtureTasks>(pool);
    expect(() => new StoreExecutor(inner, { store, shouldProxy: 'sometimes' as ShouldProxy })).toThrow(ConfigError);
    expect(() => new StoreExecutor(inner, { store, shouldProxy: { minBytes: -1 } })).toThrow(/minBytes must be a non-negative number/);
    expect(() => new StoreExecutor(inner, { store, resultThreshold: Number.NaN })).toThrow(/resultThreshold/);
  });

  it('frees results at shutdown, closes the store only when asked, and ignores what it does not own', async () => {
    const { store, files } = counted();
    const ex = new StoreExecutor(new PiscinaExecutor<FixtureTasks>(pool), { store, closeStore: true });
    const result = await ex.submit('fill', 200_000, 1);
    const mine = await store.proxy(floats(16));
    await ex.release(mine, 42, { nothing: 'here' });
    expect(files().sort()).toEqual([getKey(result), getKey(mine)].sort());
    await ex.shutdown();
    expect(files()).toEqual([getKey(mine)]);
    expect(store.closed).toBe(true);
  });

  it('release frees a result given alone or inside containers, once, and rejects (never throws) on a value nested too deep', async () => {
    const { ex, files } = executor('never', { resultThreshold: 0 });
    const [alone, inList, inMap] = [await ex.submit('fill', 10, 1), await ex.submit('fill', 10, 2), await ex.submit('fill', 10, 3)];
    expect(files()).toHaveLength(3);
    await ex.release(alone, alone);
    expect(files().sort()).toEqual([getKey(inList), getKey(inMap)].sort());
    await ex.release([inList, { deep: new Map([['k', inMap]]) }]);
    expect(files()).toEqual([]);
    let deep: unknown[] = [];
    for (let i = 0; i < 3_000; i++) deep = [deep];
    const released = ex.release(deep);
    await expect(released).rejects.toBeInstanceOf(NestingTooDeepError);
    await ex.shutdown();
  });

  it('keeps no other store once it owns nothing more in it', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const { store } = counted();
    // An engine whose task hands back a proxy of another store, as a task that proxies its result itself does.
    const making: { store?: Store } = {};
    const engine = { launch: () => ({ outcome: (making.store as Store).proxy({ a: 1 }).then((p) => ({ value: p, made: [p] })), finished: Promise.resolve() }), shutdown: () => Promise.resolve() };
    const ex = new StoreExecutor(engine as unknown as Executor, { store });
    const gone = await (async () => {
      const other = new Store('owned-elsewhere', new MemoryConnector());
      making.store = other;
      const result = await ex.run('anything', []);
      delete making.store;
      const key = getKey(result as object) as string;
      expect(await other.exists(key)).toBe(true);
      await ex.release(result);
      expect(await other.exists(key)).toBe(false);
      await other.close();
      return new WeakRef(other);
    })();
    // Each collection in a turn of its own: a WeakRef read keeps its target alive until the turn ends.
    let alive = true;
    for (let round = 0; round < 20 && alive; round++) {
      await new Promise((settle) => setTimeout(settle, 5));
      gc();
      alive = gone.deref() !== undefined;
    }
    expect(alive).toBe(false);
    await ex.shutdown();
  });

  it('frees a result once the caller has dropped it and it is garbage collected', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const { ex, files } = executor();
    await (async () => {
      const dropped = await ex.submit('fill', 200_000, 1);
      expect(files()).toEqual([getKey(dropped)]);
    })();
    for (let round = 0; round < 50 && files().length > 0; round++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(files()).toEqual([]);
    await ex.shutdown();
  });

  it('types calls by the task table', async () => {
    await using ex = executor().ex;
    const total: number = await ex.submit('sum', floats(8));
    expect(total).toBe(0);
    // @ts-expect-error: scale takes a number as its second argument
    await expect(ex.submit('scale', floats(8), 'twice')).resolves.toBeDefined();
    // @ts-expect-error: no such task
    await expect(ex.submit('nope')).rejects.toThrow(/no task named 'nope'/);
  });
});
