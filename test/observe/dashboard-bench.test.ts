/**
 * `npm run bench -- --dashboard` as a user runs it: the real benchmark in its
 * own process, its dashboard watched in headless Chromium while the work goes on.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { chromium, type Browser, type Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDirs } from '../../runtime/testing/temp-dirs.js';

/** Debian's chromium; .ci/run installs it. Missing, the test fails: it never skips. */
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const BENCH = path.resolve(import.meta.dirname, '..', '..', 'dist', 'bench', 'paper', 'main.js');

const dirs = tempDirs('dashboard-bench-');
let browser: Browser;
beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
});
afterAll(async () => {
  await browser?.close();
  await dirs.removeAll();
});

/** Bytes as the page writes them ("12 B", "3.4 MB"), back to a number. */
function bytesOf(text: string | null): number {
  const match = /^([\d.]+) (B|kB|MB|GB|TB)$/.exec(text ?? '');
  if (match === null) throw new Error(`not a byte count: ${JSON.stringify(text)}`);
  return Number(match[1]) * 1000 ** ['B', 'kB', 'MB', 'GB', 'TB'].indexOf(match[2] as string);
}

async function field(row: Locator, name: string): Promise<string | null> {
  return row.locator(`[data-field="${name}"]`).textContent();
}

/** The bench's first line names the dashboard's address. */
async function dashboardUrl(bench: ChildProcess): Promise<string> {
  for await (const line of createInterface({ input: bench.stdout! })) {
    const url = /^dashboard: (http:\/\/\S+)$/.exec(line)?.[1];
    if (url !== undefined) return url;
  }
  throw new Error('the bench ended without naming its dashboard');
}

describe('npm run bench -- --dashboard', () => {
  it('serves the live dashboard while the benchmark runs: its task counts and bytes by value and by proxy grow', async () => {
    const tmp = await dirs.make();
    // Enough round trips to outlast the test's checks on a quiet machine; the test stops the run once it has seen them.
    // No warm-up: its 1 kB calls would count in the bytes below, which are about 1 MB payloads.
    const args = ['--engine', 'piscina', '--connector', 'shared-memory,file', '--experiments', 'roundtrip', '--sizes', '1MB', '--reps', '5000', '--warm-calls', '0', '--dashboard', '--out', tmp];
    // The file store's directory goes under TMPDIR, so whatever the stopped run leaves is the test's to remove.
    const bench = spawn(process.execPath, [BENCH, ...args], { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'ignore'] });
    const exited = once(bench, 'exit');
    const page = await browser.newPage({ viewport: { width: 1280, height: 1180 } });
    try {
      const url = await dashboardUrl(bench);
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      await page.goto(url);
      await page.waitForFunction("document.getElementById('status').textContent === 'live'");

      // The engine's own executor counts every call, the proxy lanes' too; a lane counts its own.
      const byValue = page.locator('tr[data-executor="piscina engine (all calls)"][data-task="noop"]');
      const byProxy = page.locator('tr[data-executor="piscina by proxy (shared-memory)"][data-task="noop"]');
      const done = async (row: Locator): Promise<number> => Number(await field(row, 'done'));
      await expect.poll(() => done(byValue), { timeout: 60_000 }).toBeGreaterThan(0);
      await expect.poll(() => done(byProxy), { timeout: 30_000 }).toBeGreaterThan(0);
      const first = { value: await done(byValue), proxy: await done(byProxy), moved: bytesOf(await field(byProxy, 'argsByProxy')) };
      // The numbers keep moving while the bench runs.
      await expect.poll(() => done(byValue), { timeout: 30_000 }).toBeGreaterThan(first.value);
      await expect.poll(() => done(byProxy), { timeout: 30_000 }).toBeGreaterThan(first.proxy);
      await expect.poll(async () => bytesOf(await field(byProxy, 'argsByProxy')), { timeout: 30_000 }).toBeGreaterThan(first.moved);

      // By value, the 1 MB payload travels in the messages both ways.
      const [valueIn, valueOut] = [await field(byValue, 'argsByValue'), await field(byValue, 'resultByValue')].map(bytesOf) as [number, number];
      expect(valueIn).toBeGreaterThanOrEqual(1e6);
      expect(valueOut).toBeGreaterThanOrEqual(1e6);
      // By proxy only descriptors travel in the messages; the payload goes through the store.
      const [proxyIn, proxyStored, proxyOut] = [await field(byProxy, 'argsByValue'), await field(byProxy, 'argsByProxy'), await field(byProxy, 'resultByProxy')].map(bytesOf) as [number, number, number];
      expect(proxyStored).toBeGreaterThanOrEqual(1e6);
      expect(proxyOut).toBeGreaterThanOrEqual(1e6);
      expect(proxyStored).toBeGreaterThan(100 * proxyIn);
      // The lanes' calls count once in the totals: under the engine, not again under the lanes that wrap it.
      const snapshot = (await (await fetch(new URL('snapshot.json', url))).json()) as { nested: string[] };
      expect(snapshot.nested.sort()).toEqual(['piscina by proxy (file)', 'piscina by proxy (shared-memory)']);
      // Both stores of the run are listed, and the chart of bytes moved names both ways.
      await expect.poll(() => page.locator('#stores tr[data-store]').count()).toBe(2);
      expect(await page.locator('#legend-moved').textContent()).toBe('by valueby proxy');

      const shot = process.env['DASHBOARD_SCREENSHOT'];
      if (shot !== undefined) {
        // For the docs' picture: enough history that the charts show lines, not points.
        await page.waitForFunction('Number(document.body.dataset.updates) >= 20', undefined, { timeout: 60_000 });
        await mkdir(path.dirname(shot), { recursive: true });
        await page.screenshot({ path: shot, fullPage: true });
      }
    } finally {
      await page.close();
      if (bench.exitCode === null) bench.kill('SIGTERM');
      await exited;
    }
  });
});
