import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { it } from 'vitest';
import plugin from '../../eslint-plugin/index.js';
import { FIXTURE_DIR, FIXTURE_FILE, parserOptions } from './rule-tester.js';

it('scratch', () => {
  const linter = new Linter({ configType: 'flat', cwd: FIXTURE_DIR });
  const rules = (process.env.RULES ?? '').split(',');
  const config: Linter.Config[] = [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser, parserOptions }, plugins: { 'ts-proxystore': plugin }, rules: Object.fromEntries(rules.map((r) => [`ts-proxystore/${r}`, 'error'])) }];
  const code = readFileSync('/tmp/snippet.ts', 'utf8');
  for (const m of linter.verify(code, config, join(FIXTURE_DIR, FIXTURE_FILE))) {
    console.log(`${m.line}:${m.column}-${m.endLine}:${m.endColumn} ${m.ruleId} ${m.messageId ?? ''} ${m.message}${m.suggestions ? ' SUGG ' + JSON.stringify(m.suggestions.map((s) => s.fix)) : ''}`);
  }
});
