/**
 * The docs run as written: every TypeScript block in README.md, docs/ and
 * examples/ compiles under the project's strict settings, with the lines it
 * marks `// error` failing and no others; blocks that show an examples/ file
 * are that file, verbatim (the examples themselves are compiled with the
 * project and run from the packed tarball by test/examples.test.ts). The lint
 * rules docs/lint.md lists per config are the plugin's.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConfigs } from '../eslint-plugin/configs.js';
import { blocksOf, markdownFiles, preludeOf, repoRoot, type DocBlock } from './helpers/doc-blocks.js';

const work = path.join(repoRoot, '.tmp', `docs-blocks-${process.pid}`);
const typescriptBlocks = markdownFiles().flatMap(blocksOf).filter((b) => b.lang === 'ts' || b.lang === 'typescript');
const compiled = typescriptBlocks.filter((b) => b.example === undefined);
const shown = typescriptBlocks.filter((b) => b.example !== undefined);

interface Placed {
  readonly block: DocBlock;
  readonly file: string;
  /** Lines of the compiled file before the block's first line. */
  readonly offset: number;
}

const placed: Placed[] = compiled.map((block, i) => {
  const prelude = preludeOf(block.doc);
  const file = path.join(work, `${block.doc.replace(/[^\w]+/g, '-')}-${i}.ts`);
  return { block, file, offset: prelude === '' ? 0 : prelude.split('\n').length };
});
let program: ts.Program;

beforeAll(() => {
  mkdirSync(work, { recursive: true });
  for (const { block, file } of placed) {
    const prelude = preludeOf(block.doc);
    // `export {}` makes every block a module, so top-level await and names do not clash across blocks.
    writeFileSync(file, `${prelude === '' ? '' : `${prelude}\n`}${block.code}\nexport {};\n`);
  }
  const config = ts.getParsedCommandLineOfConfigFile(path.join(repoRoot, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  if (config === undefined) throw new Error('cannot read tsconfig.json');
  program = ts.createProgram(
    placed.map((p) => p.file),
    { ...config.options, noEmit: true },
  );
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** 1-based line numbers, within the block, of the compiler's diagnostics, with their messages. */
function diagnosticsOf({ file, offset }: Placed): Map<number, string[]> {
  const source = program.getSourceFile(file);
  if (source === undefined) throw new Error(`${file} is not in the program`);
  const found = new Map<number, string[]>();
  for (const d of [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]) {
    const line = source.getLineAndCharacterOfPosition(d.start ?? 0).line + 1 - offset;
    found.set(line, [...(found.get(line) ?? []), ts.flattenDiagnosticMessageText(d.messageText, '\n')]);
  }
  return found;
}

describe('TypeScript blocks in the docs compile under strict', () => {
  it('there are blocks to check, in README.md and docs/', () => {
    // The README's own TypeScript is its quick start, which shows examples/ files (checked below, compiled with the project).
    expect(new Set(shown.map((b) => b.doc))).toContain('README.md');
    expect(new Set(compiled.map((b) => b.doc.split('/')[0]))).toContain('docs');
    expect(compiled.length).toBeGreaterThan(20);
  });

  for (const p of placed) {
    const { doc, line, code } = p.block;
    it(`${doc}:${line}`, () => {
      const expected = code
        .split('\n')
        .flatMap((text, i) => (/\/\/ error\b/.test(text) ? [i + 1] : []));
      const found = diagnosticsOf(p);
      const report = [...found].map(([l, messages]) => `${doc}:${line + l - 1}: ${messages.join(' / ')}`).join('\n');
      expect([...found.keys()].sort((a, b) => a - b), report).toEqual(expected);
    });
  }
});

describe('blocks that show an example are the example, verbatim', () => {
  for (const block of shown) {
    it(`${block.doc}:${block.line} is ${block.example}`, () => {
      const file = readFileSync(path.join(repoRoot, block.example!), 'utf8');
      expect(block.code.trimEnd()).toBe(file.trimEnd());
    });
  }
});

describe('docs/lint.md lists the lint rules of each config', () => {
  const configs = createConfigs({ meta: { name: 'ts-proxystore/eslint-plugin', version: '0' } });
  const page = readFileSync(path.join(repoRoot, 'docs', 'lint.md'), 'utf8');
  for (const name of ['recommended', 'strict'] as const) {
    it(name, () => {
      const row = new RegExp(`^\\| \`${name}\` \\|(.*)\\|\\s*$`, 'm').exec(page);
      expect(row, `docs/lint.md has a table row for \`${name}\``).not.toBeNull();
      const names = [...row![1]!.matchAll(/`([\w-]+)`/g)].map((m) => m[1]!);
      // A row may say it holds all of `recommended` rather than repeat its rules.
      const included = names.includes('recommended') ? Object.keys(configs.recommended.rules) : [];
      const listed = [...included, ...names.filter((n) => n !== 'recommended').map((n) => `ts-proxystore/${n}`)].sort();
      expect(listed).toEqual(Object.keys(configs[name].rules).sort());
    });
  }
});
