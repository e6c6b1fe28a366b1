/**
 * Store put+get against doing the same I/O by hand, side by side in one run.
 * Goal (issue 2): within 1.3x of raw for 1 KB / 1 MB / 10 MB.
 *   memory: Store over MemoryConnector vs keeping a copy of the bytes in a Map
 *   file:   Store over FileConnector   vs fs.writeFile + fs.readFile of the same bytes
 * The store's cache is off, so every get goes to the connector.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FileConnector, MemoryConnector, Store, type Connector } from 'ts-proxystore';
import { formatRatio, median, timeMany } from '../timing.js';

const SIZES = [
  ['1 KB', 1024],
  ['1 MB', 1024 * 1024],
  ['10 MB', 10 * 1024 * 1024],
] as const;

function payload(bytes: number): Float64Array {
  const data = new Float64Array(bytes / 8);
  for (let i = 0; i < data.length; i++) data[i] = Math.random();
  return data;
}

function viaStore(connector: Connector, data: Float64Array): () => Promise<void> {
  const store = new Store(`bench-${connector.kind}`, connector, { cacheSize: 0 });
  return async () => {
    const key = await store.put(data);
    const back = await store.get<Float64Array>(key);
    if (back?.length !== data.length) throw new Error('round trip lost data');
    await store.evict(key);
  };
}

function rawMemory(data: Float64Array): () => Promise<void> {
  const map = new Map<string, Uint8Array>();
  return () => {
    map.set('k', new Uint8Array(data.buffer.slice(0)));
    const back = map.get('k');
    if (back?.byteLength !== data.byteLength) throw new Error('lost data');
    map.delete('k');
    return Promise.resolve();
  };
}

function rawFile(directory: string, data: Float64Array): () => Promise<void> {
  const file = path.join(directory, 'raw.bin');
  return async () => {
    await fs.writeFile(file, new Uint8Array(data.buffer));
    const back = await fs.readFile(file);
    if (back.byteLength !== data.byteLength) throw new Error('lost data');
    await fs.rm(file);
  };
}

async function main(): Promise<void> {
  const directory = await fs.mkdtemp(path.join(os.tmpdir(), 'store-bench-'));
  const rows: Record<string, Record<string, string>> = {};
  try {
    for (const [label, bytes] of SIZES) {
      const data = payload(bytes);
      const reps = bytes >= 10 * 1024 * 1024 ? 15 : bytes >= 1024 * 1024 ? 50 : 500;
      const cases = {
        memory: [viaStore(new MemoryConnector(), data), rawMemory(data)],
        file: [viaStore(new FileConnector({ directory }), data), rawFile(directory, data)],
      } as const;
      for (const [name, [ours, raw]] of Object.entries(cases)) {
        const [oursMs = [], rawMs = []] = await timeMany([ours, raw], reps);
        const m = median(oursMs);
        const r = median(rawMs);
        rows[`${name} ${label}`] = { 'store ms': m.toFixed(3), 'raw ms': r.toFixed(3), 'store/raw': formatRatio(m / r, 1.3) };
      }
    }
  } finally {
    await fs.rm(directory, { recursive: true, force: true });
  }
  console.log('Store put+get vs raw I/O (median, cache off). Goal: store/raw <= 1.3');
  console.table(rows);
}

await main();
