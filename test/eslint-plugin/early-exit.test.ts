/**
 * The plugin costs nothing in a program that never imports ts-proxystore: every
 * rule registers no listeners there, and works as usual once a file imports
 * the package. A probe rule hands each real rule the real ESLint context, so
 * what is counted is what ESLint would run.
 */
import { join } from 'node:path';
import { Linter, type Rule } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { rules } from '../../eslint-plugin/index.js';
import { FIXTURE_DIR, FIXTURE_FILE, IMPORTS, parserOptions } from './rule-tester.js';

type AnyRule = { create(context: unknown): Record<string, unknown> };

/** How many listeners each of the plugin's rules registers for `code` linted as the fixture's file.ts. */
function listenerCounts(code: string): Record<string, number> {
  const counts: Record<string, number> = {};
  const probe: Rule.RuleModule = {
    create(context) {
      for (const [name, rule] of Object.entries(rules)) counts[name] = Object.keys((rule as unknown as AnyRule).create(context)).length;
      return {};
    },
  };
  const messages = new Linter({ configType: 'flat' }).verify(
    code,
    [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser, parserOptions }, plugins: { probe: { rules: { probe } } }, rules: { 'probe/probe': 'error' } }],
    join(FIXTURE_DIR, FIXTURE_FILE),
  );
  expect(messages).toEqual([]);
  return counts;
}

const BODY = 'export function area(w: number, h: number): number { return w * h; }\nconst bytes = new Uint8Array(4); ArrayBuffer.isView(bytes);\n';

describe('early exit', () => {
  it('no rule listens in a program without ts-proxystore', () => {
    const counts = listenerCounts(BODY);
    expect(Object.keys(counts).sort()).toEqual(Object.keys(rules).sort());
    expect(Object.values(counts).every((count) => count === 0)).toBe(true);
  });

  it('every rule listens once a file imports the package', () => {
    const counts = listenerCounts(`${IMPORTS}\n${BODY}`);
    expect(Object.entries(counts).filter(([, count]) => count === 0)).toEqual([]);
  });
});
