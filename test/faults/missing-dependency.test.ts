/**
 * A project that installed ts-proxystore without its optional peers (bullmq,
 * ioredis) and imports an entry point that needs one: the error must say
 * which package to install, not a bare ERR_MODULE_NOT_FOUND.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.join(import.meta.dirname, '..', '..');
let project: string;

beforeAll(async () => {
  // The build as installed, next to its own dependencies only: no bullmq, no ioredis.
  project = await mkdtemp(path.join(os.tmpdir(), 'missing-peer-'));
  const installed = path.join(project, 'node_modules', 'ts-proxystore');
  await mkdir(path.join(installed, 'dist'), { recursive: true });
  await cp(path.join(ROOT, 'package.json'), path.join(installed, 'package.json'));
  for (const part of ['src', 'runtime']) await cp(path.join(ROOT, 'dist', part), path.join(installed, 'dist', part), { recursive: true });
  for (const dependency of ['obug', 'lru-cache']) await symlink(path.join(ROOT, 'node_modules', dependency), path.join(project, 'node_modules', dependency));
  await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module', private: true }));
});
afterAll(() => rm(project, { recursive: true, force: true }));

async function importIn(specifier: string): Promise<string> {
  const source = `try { await import(${JSON.stringify(specifier)}); console.log('loaded'); } catch (e) { console.log(e.name + ': ' + e.message); }`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', source], { cwd: project });
  return stdout.trim();
}

describe('entry points whose optional dependency is missing', () => {
  it("names bullmq for 'ts-proxystore/executors/bullmq'", async () => {
    expect(await importIn('ts-proxystore/executors/bullmq')).toMatch(/^MissingDependencyError: ts-proxystore\/executors\/bullmq needs the package 'bullmq', which is not installed: npm install bullmq/);
  });

  it("names ioredis for 'ts-proxystore/connectors/redis'", async () => {
    expect(await importIn('ts-proxystore/connectors/redis')).toMatch(/^MissingDependencyError: ts-proxystore\/connectors\/redis needs the package 'ioredis', which is not installed: npm install ioredis/);
  });

  it('still loads the main entry and the piscina executor, which need neither', async () => {
    expect(await importIn('ts-proxystore')).toBe('loaded');
    expect(await importIn('ts-proxystore/executors/piscina')).toBe('loaded');
  });
});
