import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDirs } from '../../runtime/testing/temp-dirs.js';

const run = promisify(execFile);
const script = path.resolve(import.meta.dirname, '../fixtures/observe-logged.mjs');
const dirs = tempDirs('observe-log-');
afterAll(() => dirs.removeAll());

/** Runs the fixture with `env` added and gives back what it printed. */
async function logged(env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
  const base = { ...process.env };
  delete base['DEBUG'];
  delete base['PROXYSTORE_DEBUG'];
  return run(process.execPath, [script, await dirs.make()], { env: { ...base, ...env }, timeout: 30_000 });
}

describe('debug logs', () => {
  it('print nothing unless asked', async () => {
    const { stdout, stderr } = await logged({});
    expect(stdout).toBe('3');
    expect(stderr).toBe('');
  });

  it('with DEBUG=ts-proxystore:* print one line per operation with store, key, bytes, ms and cache hits', async () => {
    const { stderr } = await logged({ DEBUG: 'ts-proxystore:*' });
    const lines = stderr.split('\n');
    const put = lines.find((line) => line.includes('ts-proxystore:store') && / logged PUT \S+ \d+ B in \d+\.\d{3} ms/.test(line));
    expect(put).toBeDefined();
    expect(Number(/PUT \S+ (\d+) B/.exec(put!)![1])).toBeGreaterThanOrEqual(8000);
    expect(lines.some((line) => / logged GET \S+ \d+ B in [\d.]+ ms \(cached\)/.test(line))).toBe(true);
    expect(lines.some((line) => / logged EVICT \S+ 0 B in [\d.]+ ms/.test(line))).toBe(true);
    expect(lines.some((line) => line.includes('ts-proxystore:connector:file') && / logged put \d+ B in [\d.]+ ms/.test(line))).toBe(true);
  });

  it('say when a proxy resolves, how, and at which line it was made', async () => {
    const { stderr } = await logged({ DEBUG: 'ts-proxystore:proxy' });
    const resolve = stderr.split('\n').find((line) => line.includes('ts-proxystore:proxy'));
    expect(resolve).toMatch(/logged resolve \S+ sync in [\d.]+ ms \(made at .*observe-logged\.mjs:\d+/);
    expect(stderr).not.toContain('ts-proxystore:store');
  });

  it('turn on with PROXYSTORE_DEBUG too, all of them or a list of layers', async () => {
    expect((await logged({ PROXYSTORE_DEBUG: '1' })).stderr).toMatch(/ts-proxystore:store logged PUT/);
    const some = (await logged({ PROXYSTORE_DEBUG: 'connector:file' })).stderr;
    expect(some).toContain('ts-proxystore:connector:file');
    expect(some).not.toContain('ts-proxystore:store');
  });
});
