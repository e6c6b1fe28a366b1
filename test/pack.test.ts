import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface PackageJson {
  name: string;
  exports: Record<string, unknown>;
  peerDependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

const root = path.resolve(import.meta.dirname, '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pack-test-'));
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as PackageJson;
const entryPoints = Object.keys(pkg.exports).filter((e) => !e.endsWith('.json'));
let tarball = '';

beforeAll(() => {
  const name = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: root, encoding: 'utf8' }).trim().split('\n').pop()!;
  tarball = path.join(work, name);
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** A fresh ESM project with the tarball (and `extra` packages) installed. */
function project(name: string, extra: string[]): string {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--omit=dev', tarball, ...extra], { cwd: dir, stdio: 'pipe' });
  return dir;
}

const runModule = (cwd: string, source: string): string =>
  execFileSync(process.execPath, ['--input-type=module', '-e', source], { cwd, encoding: 'utf8' });

describe('npm pack', () => {
  it('the main entry works from plain Node ESM with nothing else installed', () => {
    const dir = project('plain', []);
    expect(fs.existsSync(path.join(dir, 'node_modules', 'typescript'))).toBe(false);
    const out = runModule(dir, `
      import { Store, MemoryConnector, extract, encodeProxies, decodeProxies } from 'ts-proxystore';
      const store = new Store('s', new MemoryConnector());
      const p = await store.proxy({ a: [1, 2, 3] });
      const back = decodeProxies(structuredClone(encodeProxies(p)));
      console.log(JSON.stringify(extract(back)));`);
    expect(JSON.parse(out)).toEqual({ a: [1, 2, 3] });
    expect(fs.existsSync(path.join(dir, 'node_modules', pkg.name, 'dist', 'src', 'index.d.ts'))).toBe(true);
  });

  it('every entry point imports once its optional peers are installed', () => {
    // Entry points such as the Redis connector or the ESLint plugin need their peers, as a user's project has them.
    const peers = Object.keys(pkg.peerDependencies).map((name) => `${name}@${pkg.devDependencies[name] ?? pkg.peerDependencies[name]}`);
    const dir = project('with-peers', peers);
    for (const entry of entryPoints) {
      const specifier = entry === '.' ? pkg.name : `${pkg.name}/${entry.slice(2)}`;
      const out = runModule(dir, `const m = await import(${JSON.stringify(specifier)}); console.log(JSON.stringify(Object.keys(m)));`);
      expect(JSON.parse(out), `exports of ${specifier}`).not.toHaveLength(0);
      const types = (pkg.exports[entry] as { types: string }).types;
      expect(fs.existsSync(path.join(dir, 'node_modules', pkg.name, types)), `${specifier} types`).toBe(true);
    }
  });
});
