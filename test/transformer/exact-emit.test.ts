/**
 * Exact emit: with wrapping on, every emitted file is byte for byte what plain
 * tsc writes apart from the wrapper calls and the one import, and that import
 * sits below what must stay on top: the shebang, license headers,
 * triple-slash directives, the directive prologue. Comments after the last statement survive, and a module
 * whose imports were all type-only keeps tsc's `export {};`. Checked for tspc,
 * the ts-proxystore-tsc CLI and the esbuild plugin.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TS6, build, copyFixture, readJs, removeCopies, run, type Build } from './helpers/compilers.js';
import { markedSites, unwrap } from './helpers/emitted.js';
import { CLI_BIN, stagePackage, type Stage } from './helpers/stage.js';

const BUILD_TIMEOUT_MS = 300_000;

const LICENSE = "/*! headers.ts | a license header: the run time's import goes below it | MIT */";

/** The line each file's runtime import must directly follow: the end of what stays on top. */
const IMPORT_FOLLOWS: Readonly<Record<string, string>> = {
  'headers.js': '/// <reference types="node" />',
  'directive.js': "'use client';",
  // CommonJS output starts with tsc's own `Object.defineProperty(exports, "__esModule", …)`: the require goes above it.
  'legacy.cjs': '"use strict";',
};

let stage: Stage;
let project: string;
let transformed: Build;
let plain: Build;
let withoutComments: { transformed: Build; plain: Build };

beforeAll(async () => {
  stage = await stagePackage();
  project = copyFixture(stage, 'emit', 'exact-emit');
  [transformed, plain, withoutComments] = await Promise.all([
    build(TS6, true, project, 'tsconfig.json', 'out-transformed'),
    build(TS6, false, project, 'tsconfig.json', 'out-plain'),
    (async () => {
      const [t, p] = await Promise.all([
        build(TS6, true, project, 'tsconfig.nocomments.json', 'out-nocomments-transformed'),
        build(TS6, false, project, 'tsconfig.nocomments.json', 'out-nocomments-plain'),
      ]);
      return { transformed: t, plain: p };
    })(),
  ]);
}, BUILD_TIMEOUT_MS);
afterAll(removeCopies);

function importLine(js: string): string {
  const [line] = unwrap(js).imports;
  if (line === undefined) throw new Error('no runtime import');
  return line;
}

describe('tspc', () => {
  it('builds cleanly and wraps the marked arguments', () => {
    expect(plain.code, plain.stdout).toBe(0);
    expect(transformed.stdout).toBe('');
    expect(transformed.code).toBe(0);
    const sites = [...transformed.js.values()].flatMap((js) => unwrap(js).sites.map((s) => s.site));
    expect(sites.sort()).toEqual(markedSites(project, 'wrap'));
  });

  it('every file equals plain tsc output once the wrappers and the import are taken out', () => {
    expect([...transformed.js.keys()].sort()).toEqual([...plain.js.keys()].sort());
    for (const [file, js] of transformed.js) expect(unwrap(js).text, file).toBe(plain.js.get(file));
  });

  it('puts the import below the shebang, license headers and directives, and nowhere else', () => {
    for (const [file, follows] of Object.entries(IMPORT_FOLLOWS)) {
      const js = transformed.js.get(file) as string;
      const lines = js.split('\n');
      const at = lines.indexOf(importLine(js));
      expect(lines[at - 1], file).toBe(follows);
      // Everything above the import is plain tsc's own first lines.
      expect((plain.js.get(file) as string).startsWith(`${lines.slice(0, at).join('\n')}\n`), file).toBe(true);
    }
    expect((transformed.js.get('headers.js') as string).split('\n').slice(0, 5)).toEqual([
      '#!/usr/bin/env node',
      LICENSE,
      IMPORT_FOLLOWS['headers.js'],
      'import * as __proxystore from "ts-proxystore/auto-proxy";',
      '/** The first statement keeps its own doc comment, below the import. */',
    ]);
    expect((transformed.js.get('legacy.cjs') as string).split('\n').slice(0, 2)).toEqual(['#!/usr/bin/env node', '"use strict";']);
    expect(transformed.js.get('legacy.cjs')).toContain(' * @license MIT');
  });

  it('keeps the comments after the last statement, and `export {};` of a module with only type imports', () => {
    expect(transformed.js.get('headers.js')).toMatch(/\/\/ A comment after the last statement\.\n\/\* And a block comment, the very last thing in the file\. \*\/\n$/);
    expect(transformed.js.get('legacy.cjs')).toMatch(/\/\* The end\. \*\/\n$/);
    expect(plain.js.get('directive.js')).toMatch(/\nexport \{\};\n$/);
    expect(transformed.js.get('directive.js')).toMatch(/\nexport \{\};\n$/);
  });

  it('with removeComments, equals plain tsc output too (pinned headers stay on top)', () => {
    expect(withoutComments.transformed.code, withoutComments.transformed.stdout).toBe(0);
    for (const [file, js] of withoutComments.transformed.js) expect(unwrap(js).text, file).toBe(withoutComments.plain.js.get(file));
    expect((withoutComments.transformed.js.get('headers.js') as string).split('\n').slice(0, 3)).toEqual([
      '#!/usr/bin/env node',
      LICENSE,
      'import * as __proxystore from "ts-proxystore/auto-proxy";',
    ]);
  });

  it('runs: same results as the plain build, large arguments arrive as proxies', async () => {
    const [withProxies, without] = await Promise.all(
      [transformed, plain].map(async (b) => {
        const result = await run(path.join(b.outDir, 'main.js'), [], { cwd: b.outDir });
        expect(result.stderr).toBe('');
        return JSON.parse(result.stdout) as { results: unknown; seen: Record<string, boolean[]>; keys: number };
      }),
    );
    expect(withProxies?.results).toEqual(without?.results);
    expect(withProxies?.seen).toEqual({ headed: [true] });
    expect(without?.seen).toEqual({ headed: [false] });
  });
});

describe('the other routes', () => {
  it('ts-proxystore-tsc writes exactly what tspc writes', async () => {
    const copy = copyFixture(stage, 'emit', 'exact-emit-cli');
    const result = await run(path.join(stage.packageDir, CLI_BIN['ts-proxystore-tsc']), ['-p', 'tsconfig.json'], { cwd: copy });
    expect(result.stdout).toBe('');
    expect(result.code).toBe(0);
    expect(readJs(path.join(copy, 'dist'))).toEqual(transformed.js);
  }, BUILD_TIMEOUT_MS);

  it('the esbuild plugin hands esbuild the same file: header and shebang stay above the import', async () => {
    const copy = copyFixture(stage, 'emit', 'exact-emit-esbuild');
    const script = `
      import * as esbuild from 'esbuild';
      import { proxystore } from 'ts-proxystore/unplugin';
      await esbuild.build({
        entryPoints: ['src/headers.ts', 'src/directive.ts'], outdir: 'out-esbuild', bundle: false, format: 'esm',
        platform: 'node', target: 'es2022', legalComments: 'inline', logLevel: 'error',
        plugins: [proxystore.esbuild({ tsconfig: 'tsconfig.json' })],
      });`;
    const result = await run('--input-type=module', ['-e', script], { cwd: copy });
    expect(result.stderr).toBe('');
    const headers = fs.readFileSync(path.join(copy, 'out-esbuild/headers.js'), 'utf8').split('\n');
    expect(headers.slice(0, 3)).toEqual(['#!/usr/bin/env node', LICENSE, 'import * as __proxystore from "ts-proxystore/auto-proxy";']);
    const directive = fs.readFileSync(path.join(copy, 'out-esbuild/directive.js'), 'utf8');
    expect(directive.indexOf("'use client'")).toBeLessThan(directive.indexOf('ts-proxystore/auto-proxy'));
    expect(directive).toContain('__proxystore.autoProxy(');
  }, BUILD_TIMEOUT_MS);
});
