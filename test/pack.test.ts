import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pack-test-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string; exports: Record<string, unknown> };
const entryPoints = Object.keys(pkg.exports).filter((e) => !e.endsWith('.json'));

describe('npm pack', () => {
  it('installs into a fresh project and every entry point imports from plain Node ESM', () => {
    const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: root, encoding: 'utf8' }).trim().split('\n').pop()!;
    const project = path.join(work, 'app');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--omit=dev', path.join(work, tarball)], { cwd: project, stdio: 'pipe' });
    for (const entry of entryPoints) {
      const specifier = entry === '.' ? pkg.name : `${pkg.name}/${entry.slice(2)}`;
      const script = `const m = await import(${JSON.stringify(specifier)}); console.log(JSON.stringify(Object.keys(m).sort()));`;
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: project, encoding: 'utf8' });
      expect(JSON.parse(out), `exports of ${specifier}`).not.toHaveLength(0);
    }
    // The main entry works end to end without any TypeScript tooling installed.
    const smoke = `
      import { Store, MemoryConnector, extract, encodeProxies, decodeProxies } from 'ts-proxystore';
      const store = new Store('s', new MemoryConnector());
      const p = await store.proxy({ a: [1, 2, 3] });
      const back = decodeProxies(structuredClone(encodeProxies(p)));
      console.log(JSON.stringify(extract(back)));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', smoke], { cwd: project, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ a: [1, 2, 3] });
    expect(fs.existsSync(path.join(project, 'node_modules', 'typescript'))).toBe(false);
    const types = path.join(project, 'node_modules', pkg.name, 'dist', 'src', 'index.d.ts');
    expect(fs.existsSync(types)).toBe(true);
  });
});
