/**
 * The transformer's diagnostics where users look for them on the command
 * line: in type-check-only runs (`tspc --noEmit`, `--emitDeclarationOnly`),
 * which emit no JS and so never run the transform itself, and without failing
 * the build when all they say is a warning. Both ts-patch versions.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TS5, TS6, copyFixture, readJs, removeCopies, run, type Compiler } from './helpers/compilers.js';
import { markedSites } from './helpers/emitted.js';
import { diagnosticsOf } from './helpers/fixture-suite.js';
import { stagePackage } from './helpers/stage.js';

const BUILD_TIMEOUT_MS = 300_000;

afterAll(removeCopies);

async function tspc(compiler: Compiler, label: string, args: readonly string[]): Promise<{ project: string; code: number; sites: string[]; kinds: Set<string> }> {
  const project = copyFixture(await stagePackage(), 'diagnostics', label);
  const result = await run(compiler.tspc, args, { cwd: project, env: compiler.env });
  expect(result.stderr).toBe('');
  const found = diagnosticsOf(result.stdout);
  return { project, code: result.code, sites: found.map((d) => d.site).sort(), kinds: new Set(found.map((d) => `${d.severity} TS${d.code}`)) };
}

describe.each([
  [TS6.name, TS6, 'ts6'],
  [TS5.name, TS5, 'ts5'],
] as const)('%s', (_name, compiler, label) => {
  it(
    '--noEmit reports every TS98001 as a warning, writes nothing and exits 0',
    async () => {
      const { project, code, sites, kinds } = await tspc(compiler, `${label}-noemit`, ['-p', 'tsconfig.json', '--noEmit']);
      expect(sites).toEqual(markedSites(project, 'diag'));
      expect(kinds).toEqual(new Set(['warning TS98001']));
      expect(code).toBe(0);
      expect(fs.existsSync(path.join(project, 'dist'))).toBe(false);
    },
    BUILD_TIMEOUT_MS,
  );

  it(
    '--emitDeclarationOnly reports them too, and writes only declarations',
    async () => {
      const { project, code, sites, kinds } = await tspc(compiler, `${label}-dts`, ['-p', 'tsconfig.json', '--emitDeclarationOnly', '--declaration']);
      expect(sites).toEqual(markedSites(project, 'diag'));
      expect(kinds).toEqual(new Set(['warning TS98001']));
      expect(code).toBe(0);
      expect(fs.readdirSync(path.join(project, 'dist'))).toContain('misuse.d.ts');
      expect(readJs(path.join(project, 'dist')).size).toBe(0);
    },
    BUILD_TIMEOUT_MS,
  );

  it(
    'with "diagnostics": "error" they fail a type-check-only run',
    async () => {
      const { project, code, sites, kinds } = await tspc(compiler, `${label}-noemit-error`, ['-p', 'tsconfig.error.json', '--noEmit']);
      expect(sites).toEqual(markedSites(project, 'diag'));
      expect(kinds).toEqual(new Set(['error TS98001']));
      expect(code).not.toBe(0);
    },
    BUILD_TIMEOUT_MS,
  );
});
