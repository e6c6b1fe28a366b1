/**
 * Each rule page's examples do what the page says, under `configs.strict` with
 * typed linting as a user runs it (typescript-eslint's parser and project
 * service, a tsconfig that maps `ts-proxystore` to the sources): every block of
 * `## Incorrect` gets at least one report from the page's rule, and every block
 * of `## Correct` gets none from any rule of the config. The blocks are written,
 * with the page's `<!-- prelude … -->` before them as test/docs.test.ts does,
 * into one scratch project and linted with one ESLint instance, so one program.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configs, rules } from '../../eslint-plugin/index.js';
import { blocksOf, preludeOf, repoRoot, type DocBlock } from '../helpers/doc-blocks.js';

const SECTIONS = ['Incorrect', 'Correct'] as const;
type Section = (typeof SECTIONS)[number];

const work = path.join(repoRoot, '.tmp', `rule-docs-${process.pid}`);

interface Example {
  readonly rule: string;
  readonly section: Section;
  readonly block: DocBlock;
  readonly file: string;
  /** Lines of the linted file before the block's first line (the prelude's). */
  readonly offset: number;
}

/** The `## ` heading a block sits under. */
function sectionOf(doc: string, block: DocBlock): string | undefined {
  const lines = readFileSync(path.join(repoRoot, doc), 'utf8').split('\n').slice(0, block.line - 1);
  return lines.findLast((text) => text.startsWith('## '))?.slice(3).trim();
}

const examples: Example[] = Object.keys(rules)
  .sort()
  .flatMap((rule) => {
    const doc = `docs/rules/${rule}.md`;
    const prelude = preludeOf(doc);
    return blocksOf(doc).flatMap((block, i) => {
      const section = sectionOf(doc, block);
      if (block.lang !== 'ts' || !SECTIONS.includes(section as Section)) return [];
      const file = path.join(work, `${rule}-${i}-${section!.toLowerCase()}.ts`);
      return [{ rule, section: section as Section, block, file, offset: prelude === '' ? 0 : prelude.split('\n').length }];
    });
  });

const results = new Map<string, ESLint.LintResult>();

beforeAll(async () => {
  mkdirSync(work, { recursive: true });
  // The repository's compiler options, `paths` included: blocks import 'ts-proxystore' by name, as users do.
  writeFileSync(path.join(work, 'tsconfig.json'), JSON.stringify({ extends: '../../tsconfig.json', include: ['*.ts'], exclude: [] }));
  for (const { block, file } of examples) {
    const prelude = preludeOf(block.doc);
    // `export {}` makes every block a module, so top-level await and names do not clash across blocks.
    writeFileSync(file, `${prelude === '' ? '' : `${prelude}\n`}${block.code}\nexport {};\n`);
  }
  const eslint = new ESLint({
    cwd: work,
    overrideConfigFile: true,
    overrideConfig: [
      { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser, parserOptions: { projectService: true, tsconfigRootDir: work } } },
      configs.strict,
    ],
  });
  for (const result of await eslint.lintFiles(examples.map((e) => e.file))) results.set(result.filePath, result);
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The messages for one example, as `docs/rules/x.md:line rule: message`. */
function reportsOf({ block, file, offset }: Example): { ruleId: string | null; text: string }[] {
  const result = results.get(file);
  if (result === undefined) throw new Error(`${file} was not linted`);
  return result.messages.map((m) => ({
    ruleId: m.ruleId,
    text: `${block.doc}:${block.line + m.line - 1 - offset} ${m.ruleId ?? '(fatal)'}: ${m.message}`,
  }));
}

describe('rule docs: examples under configs.strict', () => {
  it.each(Object.keys(rules).sort())('%s has Incorrect and Correct examples', (rule) => {
    const sections = examples.filter((e) => e.rule === rule).map((e) => e.section);
    expect(new Set(sections)).toEqual(new Set(SECTIONS));
  });

  for (const example of examples) {
    const { rule, section, block } = example;
    it(`${rule}: ${section} (${block.doc}:${block.line})`, () => {
      const reports = reportsOf(example);
      if (section === 'Correct') {
        expect(reports.map((r) => r.text), 'a Correct example gets no report').toEqual([]);
      } else {
        expect(reports.filter((r) => r.ruleId === null).map((r) => r.text), 'an Incorrect example parses').toEqual([]);
        const listing = reports.map((r) => r.text).join('\n');
        expect(reports.some((r) => r.ruleId === `ts-proxystore/${rule}`), `an Incorrect example is reported by ${rule}; got:\n${listing}`).toBe(true);
      }
    });
  }
});
