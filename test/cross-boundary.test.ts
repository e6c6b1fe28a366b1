import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileConnector, Store, type Proxy, decodeProxies, encodeProxies, extract, isProxy, isResolved, proxyReviver } from '../src/index.js';

// The fixtures import the package by name, i.e. the build in dist/ (npm test builds first).
const fixture = (name: string): string => path.join(import.meta.dirname, 'fixtures', name);

let directory: string;
let store: Store;
beforeAll(async () => {
  directory = await fs.mkdtemp(path.join(os.tmpdir(), 'cross-boundary-'));
  store = new Store('cross', new FileConnector({ directory }), { metrics: true, cacheSize: 4 });
});
afterAll(async () => {
  await store.close({ clear: true });
  await fs.rm(directory, { recursive: true, force: true });
});

describe('worker threads', () => {
  it('a proxy made here resolves in a worker, reading the bytes once; one made there resolves here', async () => {
    const data = new Float64Array(100_000).map((_, i) => i);
    const p = await store.proxy(data);
    const worker = new Worker(fixture('worker-resolve.mjs'), { workerData: { encoded: encodeProxies({ data: p }), directory } });
    const [reply] = (await once(worker, 'message')) as [{
      isProxy: boolean; resolvedBefore: boolean; sum: number; length: number;
      metrics: Record<string, { count: number; totalBytes: number }>; made: unknown;
    }];
    await worker.terminate();
    expect(reply.isProxy).toBe(true);
    expect(reply.resolvedBefore).toBe(false);
    expect(reply.length).toBe(100_000);
    expect(reply.sum).toBe((99_999 * 100_000) / 2);
    expect(reply.metrics.get?.count).toBe(1);
    expect(reply.metrics.get?.totalBytes).toBeGreaterThanOrEqual(800_000);
    const made = decodeProxies(reply.made) as Proxy<{ from: string; values: number[] }>;
    expect(isProxy(made)).toBe(true);
    expect(isResolved(made)).toBe(false);
    expect(extract(made)).toEqual({ from: 'worker', values: [1, 2, 3] });
  });
});

describe('child processes', () => {
  it('a proxy crosses to another process as JSON and one comes back', async () => {
    const p = await store.proxy({ items: [3, 4, 5] });
    const child = execFile(process.execPath, [fixture('child-resolve.mjs')], { encoding: 'utf8' });
    child.stdin?.end(JSON.stringify({ data: p, directory }));
    let out = '';
    let err = '';
    child.stdout?.on('data', (chunk: string) => (out += chunk));
    child.stderr?.on('data', (chunk: string) => (err += chunk));
    const [code] = (await once(child, 'exit')) as [number];
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).not.toContain('"items"'); // only the reference travelled
    const reply = JSON.parse(out, proxyReviver()) as {
      isProxy: boolean; first: number; total: number;
      metrics: Record<string, { count: number }>;
      reply: { from: string; pid: number; doubled: number[] };
    };
    expect(reply.isProxy).toBe(true);
    expect(reply.first).toBe(3);
    expect(reply.total).toBe(12);
    expect(reply.metrics.get?.count).toBe(1);
    expect(isProxy(reply.reply)).toBe(true);
    expect(reply.reply.from).toBe('child');
    expect(reply.reply.pid).not.toBe(process.pid);
    expect([...reply.reply.doubled]).toEqual([6, 8, 10]);
  });
});
