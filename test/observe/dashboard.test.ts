import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileConnector } from '../../runtime/connectors/file.js';
import { PiscinaExecutor } from '../../runtime/executors/piscina.js';
import { StoreExecutor } from '../../runtime/executors/store-executor.js';
import { startDashboard } from '../../runtime/observe/dashboard.js';
import { ConfigError } from '../../runtime/errors.js';
import { Store } from '../../runtime/store/store.js';
import { floats, taskPool, type FixtureTasks } from '../executors/helpers.js';
import { tempDirs } from '../../runtime/testing/temp-dirs.js';

/** Debian's chromium; .ci/run installs it. Missing, the test fails: it never skips. */
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

const dirs = tempDirs('dashboard-');
let browser: Browser;
beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM });
});
afterAll(async () => {
  await browser?.close();
  await dirs.removeAll();
});

describe('the live dashboard, in a real browser', () => {
  it('loads, and its numbers change while a store and an executor work', async () => {
    const store = new Store('dashboard-files', new FileConnector({ directory: await dirs.make() }), { metrics: true });
    const pool = taskPool();
    const executor = new StoreExecutor(new PiscinaExecutor<FixtureTasks>(pool), { store });
    const dashboard = await startDashboard({ stores: [store], executors: { piscina: executor }, intervalMs: 200, listEveryMs: 200 });
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    try {
      expect(dashboard.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      await page.goto(dashboard.url);
      await page.waitForFunction("document.getElementById('status').textContent === 'live'");
      const row = page.locator('tr[data-store="dashboard-files"]');
      await expect.poll(() => row.locator('[data-field="puts"]').textContent()).toBe('0');

      // Work while the page watches: puts, reads, and tasks whose big inputs go by proxy.
      const keys = [];
      for (let i = 0; i < 5; i++) keys.push(await store.put(floats(200_000, i)));
      for (const key of keys) await store.get(key);
      const sums = await executor.map('sum', [[floats(200_000)], [floats(200_000, 1)]]);
      expect(sums).toHaveLength(2);
      await expect(executor.run('throws', ['on purpose'])).rejects.toThrow('on purpose');

      await expect.poll(() => row.locator('[data-field="puts"]').textContent(), { timeout: 10_000 }).not.toBe('0');
      await expect.poll(async () => Number(await row.locator('[data-field="objects"]').textContent()), { timeout: 10_000 }).toBeGreaterThanOrEqual(5);
      const sumRow = page.locator('tr[data-executor="piscina"][data-task="sum"]');
      await expect.poll(() => sumRow.locator('[data-field="done"]').textContent(), { timeout: 10_000 }).toBe('2');
      await expect.poll(() => page.locator('tr[data-task="throws"] [data-field="failed"]').textContent(), { timeout: 10_000 }).toBe('1');
      // Updates keep streaming: the page counts the snapshots it drew.
      const drawn = async (): Promise<number> => Number(await page.evaluate('document.body.dataset.updates'));
      const updates = await drawn();
      await expect.poll(drawn, { timeout: 5_000 }).toBeGreaterThan(updates);

      const shots = process.env['DASHBOARD_SCREENSHOT'];
      if (shots !== undefined) {
        await mkdir(path.dirname(shots), { recursive: true });
        await page.screenshot({ path: shots, fullPage: true });
      }
      const snapshot = dashboard.snapshot();
      expect(snapshot.stores[0]?.metrics?.['put']?.count).toBeGreaterThanOrEqual(5);
      expect(snapshot.executors['piscina']?.['sum']?.durations.reduce((a, b) => a + b, 0)).toBe(2);
      // The workers' own timings came back with the replies: inputs fetched, the task, the result.
      const worker = snapshot.executors['piscina']?.['sum']?.worker;
      expect(worker?.calls).toBe(2);
      expect(worker!.inputMs + worker!.taskMs + worker!.outputMs).toBeLessThanOrEqual(snapshot.executors['piscina']!['sum']!.totalMs);
      expect(await sumRow.locator('[data-field="taskMs"]').textContent()).toMatch(/^\d+\.\d{2}$/);
    } finally {
      await page.close();
      await dashboard.close();
      await executor.shutdown();
      await pool.destroy();
      await store.close({ clear: true });
    }
  });

  it('answers only requests addressed to loopback names, and serves only on loopback', async () => {
    const dashboard = await startDashboard();
    try {
      const ok = await fetch(new URL('snapshot.json', dashboard.url));
      expect(ok.status).toBe(200);
      expect(await ok.json()).toMatchObject({ stores: [], executors: {} });
      const { port } = new URL(dashboard.url);
      const rebound = await new Promise<number>((resolve, reject) => {
        import('node:http').then(({ get }) => get({ host: '127.0.0.1', port, path: '/snapshot.json', headers: { host: `evil.example:${port}` } }, (res) => resolve(res.statusCode ?? 0)).on('error', reject), reject);
      });
      expect(rebound).toBe(421);
    } finally {
      await dashboard.close();
    }
    await expect(startDashboard({ host: '0.0.0.0' })).rejects.toThrow(ConfigError);
  });
});
