/**
 * The other ways to apply the transform, each checked against tspc's output for
 * the same fixture: ts-patch installed persistently into a TypeScript copy, the
 * ts-proxystore-tsc CLI and the esbuild plugin (the TypeScript 7 path), plus
 * the package wiring they rely on.
 */
import fs from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TS6, build, copyFixture, readJs, removeCopies, run, type Build } from './helpers/compilers.js';
import { lineAndColumn, markedSites } from './helpers/emitted.js';
import { CLI_BIN, REPO, TRANSFORMER_EXPORTS, stagePackage, type Stage } from './helpers/stage.js';

const BUILD_TIMEOUT_MS = 300_000;

let stage: Stage;
let reference: Build;
let referenceProject: string;

beforeAll(async () => {
  stage = await stagePackage();
  referenceProject = copyFixture(stage, 'calls-esm', 'routes');
  reference = await build(TS6, true, referenceProject, 'tsconfig.json', 'out-tspc');
  expect(reference.code, reference.stdout).toBe(0);
}, BUILD_TIMEOUT_MS);
afterAll(removeCopies);

async function execute(entry: string): Promise<unknown> {
  const result = await run(entry, [], { cwd: path.dirname(entry) });
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout);
}

describe('persistent ts-patch install', () => {
  it('a TypeScript patched with `ts-patch install` emits what tspc emits', async () => {
    const work = path.dirname(copyFixture(stage, 'calls-esm', 'persistent'));
    const typescript = path.join(work, 'typescript');
    // Never the repo's own TypeScript: install into a copy.
    fs.cpSync(path.join(REPO, 'node_modules/typescript'), typescript, { recursive: true });
    const install = await run(path.join(REPO, 'node_modules/ts-patch/bin/ts-patch.js'), ['install', '--dir', typescript], { cwd: work });
    expect(install.stdout).toContain('ts-patch installed');
    const project = path.join(work, 'calls-esm');
    const result = await run(path.join(typescript, 'bin/tsc'), ['-p', 'tsconfig.json', '--outDir', 'out'], { cwd: project });
    expect(result.code, result.stdout).toBe(0);
    expect(readJs(path.join(project, 'out'))).toEqual(reference.js);
    // What `setup` leaves behind: ts-proxystore-tsc on that patched TypeScript must not apply the transform a second time. `-p .` names the folder, as with tsc.
    const cli = path.join(stage.packageDir, CLI_BIN['ts-proxystore-tsc']);
    const viaCli = await run(cli, ['-p', '.', '--typescript', typescript], { cwd: project });
    expect(viaCli.stdout).toBe('');
    expect(viaCli.code).toBe(0);
    expect(readJs(path.join(project, 'dist'))).toEqual(reference.js);
  }, BUILD_TIMEOUT_MS);
});

/**
 * A project set up as the docs advise for TypeScript 7: `typescript` is the Go
 * compiler (no API), its TypeScript 6 companion is installed next to it.
 */
function typescript7Project(label: string): string {
  const project = copyFixture(stage, 'calls-esm', label);
  fs.mkdirSync(path.join(project, 'node_modules/@typescript'), { recursive: true });
  fs.symlinkSync(path.join(REPO, 'node_modules/typescript7'), path.join(project, 'node_modules/typescript'));
  fs.symlinkSync(path.join(REPO, 'node_modules/typescript'), path.join(project, 'node_modules/@typescript/typescript6'));
  return project;
}

describe('TypeScript 7 path', () => {
  it('tsc 7 type-checks, ts-proxystore-tsc emits what tspc emits through the TypeScript 6 API', async () => {
    const project = typescript7Project('cli');
    const check = await run(path.join(project, 'node_modules/typescript/bin/tsc'), ['-p', 'tsconfig.json', '--noEmit'], { cwd: project });
    expect(check.stdout).toBe('');
    expect(check.code).toBe(0);
    const cli = path.join(stage.packageDir, CLI_BIN['ts-proxystore-tsc']);
    const result = await run(cli, ['-p', 'tsconfig.json'], { cwd: project });
    expect(result.stdout).toBe('');
    expect(result.code).toBe(0);
    expect(readJs(path.join(project, 'dist'))).toEqual(reference.js);
  }, BUILD_TIMEOUT_MS);

  it('the CLI fails on errors but not on warnings', async () => {
    const project = copyFixture(stage, 'diagnostics', 'cli');
    const cli = path.join(stage.packageDir, CLI_BIN['ts-proxystore-tsc']);
    const [warning, error] = await Promise.all([
      run(cli, ['-p', 'tsconfig.json'], { cwd: project }),
      run(cli, ['-p', 'tsconfig.error.json'], { cwd: project }),
    ]);
    expect(warning.stdout).toMatch(/src\/misuse\.ts\(41,16\): warning TS98001: Proxy<Doc> is passed to parameter 'd' of 'save'/);
    expect(warning.code).toBe(0);
    expect(error.stdout).toMatch(/error TS98001/);
    expect(error.code).toBe(1);
  }, BUILD_TIMEOUT_MS);

  it('esbuild with the unplugin bundles the transformed program: same wrapping, same behaviour, maps to the source', async () => {
    const project = typescript7Project('esbuild');
    const script = `
      import * as esbuild from 'esbuild';
      import { proxystore } from 'ts-proxystore/unplugin';
      const result = await esbuild.build({
        entryPoints: ['src/main.ts'], outfile: 'out-bundle/main.js', bundle: true, packages: 'external',
        platform: 'node', format: 'esm', target: 'es2022', sourcemap: 'linked', logLevel: 'silent',
        plugins: [proxystore.esbuild({ tsconfig: 'tsconfig.json' })],
      });
      console.log(JSON.stringify(result.warnings.map((w) => w.text)));`;
    const bundled = await run('--input-type=module', ['-e', script], { cwd: project });
    expect(bundled.stderr).toBe('');
    expect(JSON.parse(bundled.stdout)).toEqual([]);

    // esbuild renames the bindings and reformats the calls, so only the call sites are compared.
    const bundle = fs.readFileSync(path.join(project, 'out-bundle/main.js'), 'utf8');
    const sites = [...bundle.matchAll(/"(src\/[\w/.-]+\.ts:\d+:\d+)"/g)].map((m) => m[1]);
    expect(sites.sort()).toEqual([...markedSites(project, 'wrap'), ...markedSites(project, 'each')].sort());
    expect(bundle.match(/\.autoProxyEach\(/g)).toHaveLength(markedSites(project, 'each').length);

    const [fromBundle, fromTspc] = await Promise.all([execute(path.join(project, 'out-bundle/main.js')), execute(path.join(reference.outDir, 'main.js'))]);
    expect(fromBundle).toEqual(fromTspc);

    const map = new SourceMap(JSON.parse(fs.readFileSync(path.join(project, 'out-bundle/main.js.map'), 'utf8')) as never);
    const source = fs.readFileSync(path.join(project, 'src/main.ts'), 'utf8');
    const [line, column] = lineAndColumn(bundle, bundle.indexOf('solve(', bundle.indexOf('method: new Solver('))).split(':').map(Number) as [number, number];
    const entry = map.findEntry(line - 1, column - 1) as { originalSource: string; originalLine: number; originalColumn: number };
    expect(entry.originalSource).toMatch(/src\/main\.ts$/);
    expect(`${entry.originalLine + 1}:${entry.originalColumn + 1}`).toBe(lineAndColumn(source, source.indexOf('solve(', source.indexOf('method: new Solver('))));
  }, BUILD_TIMEOUT_MS);
});

describe('package wiring', () => {
  it('package.json exports the transformer, the run time it inserts and the bundler plugin, and ships the CLI', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
      exports: Record<string, unknown>;
      bin?: Record<string, string>;
      files: string[];
      peerDependencies?: Record<string, string>;
    };
    expect(manifest.exports).toMatchObject(TRANSFORMER_EXPORTS);
    expect(manifest.bin).toMatchObject(CLI_BIN);
    expect(manifest.files).toEqual(expect.arrayContaining(['dist/transformer', 'dist/eslint-plugin']));
    expect(Object.keys(manifest.peerDependencies ?? {})).toEqual(expect.arrayContaining(['typescript', 'ts-patch']));
  });

  it('loading the transformer does not load TypeScript: ts-patch hands it the compiler it runs on', async () => {
    const script = `
      const require = (await import('node:module')).createRequire(import.meta.url);
      await import('ts-proxystore/transformer');
      console.log(JSON.stringify(Object.keys(require.cache).filter((file) => /[\\\\/]typescript[\\\\/]lib[\\\\/]/.test(file))));`;
    const result = await run('--input-type=module', ['-e', script], { cwd: stage.root });
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual([]);
  });
});
