/**
 * The text edits `ts-proxystore setup` makes, on the shapes tsconfig and ESLint
 * config files come in: the result parses, holds the entries, and keeps the
 * rest of the text as it was.
 */
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { addEslintConfig, addTsconfigPlugins } from '../../cli/setup.js';

const ENTRIES = ['{ "transform": "ts-proxystore/transformer" }', '{ "name": "ts-proxystore/language-service" }'];

function pluginsOf(text: string): unknown {
  const { config, error } = ts.parseConfigFileTextToJson('tsconfig.json', text) as { config?: { compilerOptions?: { plugins?: unknown } }; error?: unknown };
  expect(error).toBeUndefined();
  return config?.compilerOptions?.plugins;
}

/** Every character of `original`, in order, in `edited`: the edit only inserted text. */
function isSubsequence(original: string, edited: string): boolean {
  let at = 0;
  for (const char of edited) if (char === original[at]) at++;
  return at === original.length;
}

const WANTED = [{ transform: 'ts-proxystore/transformer' }, { name: 'ts-proxystore/language-service' }];

describe('setup: tsconfig edits', () => {
  it.each([
    ['no compilerOptions', '{\n  "include": ["src"]\n}\n', WANTED],
    ['empty compilerOptions', '{\n  "compilerOptions": {}\n}\n', WANTED],
    ['an empty plugins array', '{\n  "compilerOptions": { "strict": true, "plugins": [] }\n}\n', WANTED],
    [
      'other plugins, comments and trailing commas',
      '{\n  // keep me\n  "compilerOptions": {\n    "plugins": [\n      { "name": "other" }, // theirs\n    ],\n  },\n}\n',
      [{ name: 'other' }, ...WANTED],
    ],
    ['a one-line plugins array', '{ "compilerOptions": { "plugins": [{ "name": "other" }] } }', [{ name: 'other' }, ...WANTED]],
  ])('%s', (_, text, expected) => {
    const edited = addTsconfigPlugins(ts, 'tsconfig.json', text, ENTRIES);
    expect(pluginsOf(edited)).toEqual(expected);
    expect(isSubsequence(text, edited), edited).toBe(true);
  });
});

/** The config's exported elements, by evaluating the edited text's shape with the TypeScript parser. */
function exportedItems(text: string): string[] {
  const source = ts.createSourceFile('eslint.config.js', text, ts.ScriptTarget.Latest, true);
  for (const statement of source.statements) {
    const expression = ts.isExportAssignment(statement)
      ? statement.expression
      : ts.isExpressionStatement(statement) && ts.isBinaryExpression(statement.expression)
        ? statement.expression.right
        : undefined;
    if (expression === undefined) continue;
    const items = ts.isArrayLiteralExpression(expression) ? expression.elements : ts.isCallExpression(expression) ? expression.arguments : [];
    return items.map((item) => item.getText(source));
  }
  return [];
}

describe('setup: ESLint config edits', () => {
  it.each([
    ['an array', "import js from '@eslint/js';\n\nexport default [\n  js.configs.recommended,\n];\n", true],
    ['a one-line array', "import js from '@eslint/js';\nexport default [js.configs.recommended];\n", true],
    ['tseslint.config(…)', "// @ts-check\nimport tseslint from 'typescript-eslint';\n\nexport default tseslint.config(\n  ...tseslint.configs.recommendedTypeChecked\n);\n", true],
    ['defineConfig([…]) with a trailing comma', "import { defineConfig } from 'eslint/config';\n\nexport default defineConfig([\n  { rules: {} },\n],);\n", true],
    ['an empty array', 'export default [];\n', true],
    ['CommonJS', "const js = require('@eslint/js');\n\nmodule.exports = [\n  js.configs.recommended\n];\n", false],
  ])('%s', (_, text, esm) => {
    const edited = addEslintConfig(ts, 'eslint.config.js', text, esm);
    if (edited === undefined) throw new Error('no edit');
    expect(exportedItems(edited).at(-1)).toBe('proxystore.configs.recommended');
    expect(exportedItems(edited).slice(0, -1)).toEqual(exportedItems(text));
    expect(edited).toContain(esm ? "import proxystore from 'ts-proxystore/eslint-plugin';" : "const proxystore = require('ts-proxystore/eslint-plugin').default;");
    expect(ts.transpileModule(edited, { reportDiagnostics: true }).diagnostics ?? []).toEqual([]);
    expect(isSubsequence(text, edited)).toBe(true);
  });

  it('leaves a config that exports a variable to the user', () => {
    expect(addEslintConfig(ts, 'eslint.config.js', 'const config = [];\nexport default config;\n', true)).toBeUndefined();
  });

  it('picks another name when `proxystore` is taken', () => {
    const edited = addEslintConfig(ts, 'eslint.config.js', "import proxystore from './local.js';\nexport default [proxystore];\n", true);
    expect(edited).toContain("import proxystorePlugin from 'ts-proxystore/eslint-plugin';");
    expect(exportedItems(edited ?? '')).toEqual(['proxystore', 'proxystorePlugin.configs.recommended']);
  });
});
