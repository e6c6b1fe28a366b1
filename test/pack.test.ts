import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rules } from '../eslint-plugin/index.js';
import { pack, packageJson as pkg, project, repoRoot as root, type Packed } from './helpers/packed.js';

const entryPoints = Object.keys(pkg.exports).filter((e) => !e.endsWith('.json'));
let packed: Packed;
/** Paths inside the tarball, without its `package/` prefix. */
let files: Set<string>;

beforeAll(() => {
  packed = pack('pack-test-');
  files = new Set(
    execFileSync('tar', ['-tzf', packed.tarball], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, '')),
  );
});
afterAll(() => packed?.remove());

const runModule = (cwd: string, source: string): string =>
  execFileSync(process.execPath, ['--input-type=module', '-e', source], { cwd, encoding: 'utf8' });

describe('npm pack', () => {
  it('the main entry works from plain Node ESM with nothing else installed', async () => {
    const dir = await project(packed, 'plain', ['--omit=dev']);
    expect(fs.existsSync(path.join(dir, 'node_modules', 'typescript'))).toBe(false);
    const out = runModule(dir, `
      import { Store, MemoryConnector, extract, encodeProxies, decodeProxies } from 'ts-proxystore';
      const store = new Store('s', new MemoryConnector());
      const p = await store.proxy({ a: [1, 2, 3] });
      const back = decodeProxies(structuredClone(encodeProxies(p)));
      console.log(JSON.stringify(extract(back)));`);
    expect(JSON.parse(out)).toEqual({ a: [1, 2, 3] });
    expect(fs.existsSync(path.join(dir, 'node_modules', pkg.name, 'dist', 'src', 'index.d.ts'))).toBe(true);
    // The engine-neutral executors entry loads without piscina or bullmq, with what a worker module and a caller need.
    const executors = runModule(dir, `const m = await import('ts-proxystore/executors'); console.log(JSON.stringify(['defineTasks', 'resultArray', 'taskSignal', 'StoreExecutor'].map((n) => typeof m[n])));`);
    expect(JSON.parse(executors)).toEqual(['function', 'function', 'function', 'function']);
    // Entries whose optional peers are missing say which package to install, when they load.
    const missing = runModule(dir, `
      const codes = {};
      for (const entry of ['connectors/redis', 'executors/bullmq', 'stream/redis', 'unplugin']) {
        try { await import('ts-proxystore/' + entry); codes[entry] = 'loaded'; } catch (error) { codes[entry] = [error.code, error.dependency]; }
      }
      console.log(JSON.stringify(codes));`);
    expect(JSON.parse(missing)).toEqual({
      'connectors/redis': ['PS_MISSING_DEPENDENCY', 'ioredis'],
      'executors/bullmq': ['PS_MISSING_DEPENDENCY', 'bullmq'],
      'stream/redis': ['PS_MISSING_DEPENDENCY', 'ioredis'],
      unplugin: ['PS_MISSING_DEPENDENCY', 'unplugin'],
    });
    // The testing entry's Redis launcher needs no test library; a suite used without vitest names it.
    const testing = runModule(dir, `
      import { startRedisServer, describeConnector } from 'ts-proxystore/testing';
      const redis = await startRedisServer();
      const reachable = typeof redis.port === 'number' && redis.port > 0;
      await redis.stop();
      let suite;
      try { describeConnector('x', { make: async () => { throw new Error('unused'); }, sync: false, sharedThroughConfig: false }); } catch (error) { suite = [error.name, error.code, error.message]; }
      console.log(JSON.stringify({ reachable, suite }));`);
    const { reachable, suite } = JSON.parse(testing) as { reachable: boolean; suite: [string, string, string] };
    expect(reachable).toBe(true);
    expect(suite.slice(0, 2)).toEqual(['MissingDependencyError', 'PS_MISSING_DEPENDENCY']);
    expect(suite[2]).toContain("'vitest'");
  });

  it('every entry point imports once its optional peers are installed', async () => {
    // Entry points such as the Redis connector or the ESLint plugin need their peers, as a user's project has them.
    const peers = Object.keys(pkg.peerDependencies).map((name) => `${name}@${pkg.devDependencies[name] ?? pkg.peerDependencies[name]}`);
    const dir = await project(packed, 'with-peers', ['--omit=dev', ...peers]);
    for (const entry of entryPoints) {
      const specifier = entry === '.' ? pkg.name : `${pkg.name}/${entry.slice(2)}`;
      const out = runModule(dir, `const m = await import(${JSON.stringify(specifier)}); console.log(JSON.stringify(Object.keys(m)));`);
      expect(JSON.parse(out), `exports of ${specifier}`).not.toHaveLength(0);
      const types = (pkg.exports[entry] as { types: string }).types;
      expect(fs.existsSync(path.join(dir, 'node_modules', pkg.name, types)), `${specifier} types`).toBe(true);
    }
  });
});

describe('what the tarball carries', () => {
  it('a LICENSE (MIT), a CHANGELOG and where the project lives', () => {
    expect(files).toContain('LICENSE');
    expect(files).toContain('CHANGELOG.md');
    const meta = pkg as unknown as { license: string; homepage: string; bugs: { url: string }; repository: { url: string } };
    expect(meta.license).toBe('MIT');
    expect(fs.readFileSync(path.join(root, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    for (const url of [meta.homepage, meta.bugs.url, meta.repository.url]) expect(url).toMatch(/^(git\+)?https:\/\//);
  });

  it('every relative link in its Markdown resolves inside the tarball', () => {
    const unpacked = path.join(packed.work, 'unpacked');
    fs.mkdirSync(unpacked, { recursive: true });
    execFileSync('tar', ['-xzf', packed.tarball, '-C', unpacked]);
    const dead: string[] = [];
    for (const file of [...files].filter((f) => f.endsWith('.md'))) {
      const text = fs.readFileSync(path.join(unpacked, 'package', file), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/i.test(target!) || target!.startsWith('#')) continue;
        const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(file), target!.replace(/#.*$/, '')));
        const inside = resolved.replace(/\/$/, '');
        if (!files.has(inside) && ![...files].some((f) => f.startsWith(`${inside}/`))) dead.push(`${file}: ${target}`);
      }
    }
    expect(dead).toEqual([]);
  });

  it("every lint rule's docs.url is this repository's page for it, and the page ships", () => {
    const repository = pkg.repository.url.replace(/^git\+/, '').replace(/\.git$/, '');
    for (const [name, rule] of Object.entries(rules)) {
      expect(rule.meta.docs?.url).toBe(`${repository}/blob/main/docs/rules/${name}.md`);
      expect(files).toContain(`docs/rules/${name}.md`);
    }
  });
});
