/**
 * 10,000 proxies per memory-management style, each created and used; the store
 * must end empty. Objects live in a FileConnector directory, so "empty" is
 * counted on disk, outside anything the store or the connector could misreport.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ContextLifetime, FileConnector, LeaseLifetime, Store, borrow, resolveAsync, type Proxy } from '../src/index.js';

const COUNT = 10_000;
const CHUNK = 500;

interface Item {
  i: number;
  payload: number[];
}

const item = (i: number): Item => ({ i, payload: [i, i + 1, i + 2] });

/** 0 + 1 + … + (COUNT - 1): what using every proxy once adds up to. */
const EXPECTED_SUM = (COUNT * (COUNT - 1)) / 2;

function chunks(): Item[][] {
  const out: Item[][] = [];
  for (let start = 0; start < COUNT; start += CHUNK) out.push(Array.from({ length: Math.min(CHUNK, COUNT - start) }, (_, k) => item(start + k)));
  return out;
}

let directory: string;
let store: Store;
const stored = async (): Promise<number> => (await fs.readdir(directory)).length;

beforeEach(async (context) => {
  directory = await fs.mkdtemp(path.join(os.tmpdir(), 'soak-'));
  store = new Store(`soak-${context.task.id}`, new FileConnector({ directory }), { metrics: true });
});
afterEach(async () => {
  vi.useRealTimers();
  await store.close({ clear: true });
  await fs.rm(directory, { recursive: true, force: true });
});

// Disk-bound (40,000 files written and deleted): allow for a busy machine.
describe(`memory soak: ${COUNT} proxies per style end with an empty store`, { timeout: 180_000 }, () => {
  it('evict-on-resolve', async () => {
    const proxies: Proxy<Item>[] = [];
    for (const batch of chunks()) proxies.push(...(await store.proxyBatch(batch, { evict: true, populateTarget: false })));
    expect(await stored()).toBe(COUNT);
    let sum = 0;
    for (let start = 0; start < COUNT; start += CHUNK) {
      const values = await Promise.all(proxies.slice(start, start + CHUNK).map((p) => resolveAsync(p)));
      for (const value of values) sum += value.i;
    }
    expect(sum).toBe(EXPECTED_SUM);
    expect(await stored()).toBe(0);
  });

  it('ContextLifetime', async () => {
    let sum = 0;
    {
      await using lifetime = new ContextLifetime(store);
      for (const batch of chunks()) {
        for (const p of await store.proxyBatch(batch, { lifetime })) sum += p.i;
      }
      expect(await stored()).toBe(COUNT);
    }
    expect(sum).toBe(EXPECTED_SUM);
    expect(await stored()).toBe(0);
  });

  it('LeaseLifetime', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const lease = new LeaseLifetime(store, { expiry: 60_000 });
    let sum = 0;
    for (const batch of chunks()) {
      for (const p of await store.proxyBatch(batch, { lifetime: lease })) sum += p.payload[0] ?? 0;
    }
    expect(sum).toBe(EXPECTED_SUM);
    expect(await stored()).toBe(COUNT);
    vi.advanceTimersByTime(60_000);
    expect(lease.done).toBe(true);
    await lease.close(); // the expiry's own ending: wait for its evictions
    expect(await stored()).toBe(0);
  });

  it('ownership with `using`', async () => {
    let sum = 0;
    for (const batch of chunks()) {
      await Promise.all(
        batch.map(async (value) => {
          await using owned = await store.ownedProxy(value);
          using shared = borrow(owned);
          sum += shared.i;
        }),
      );
    }
    expect(sum).toBe(EXPECTED_SUM);
    // Every object was written, one put each, and every one was evicted.
    expect(store.metrics()?.put?.count).toBe(COUNT);
    expect(store.metrics()?.evict?.count).toBe(COUNT);
    expect(await stored()).toBe(0);
  });
});
