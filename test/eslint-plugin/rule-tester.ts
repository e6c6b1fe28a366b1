/**
 * One RuleTester for every rule test: vitest hooks, and typed linting against
 * the fixture project, whose file.ts stands in for each case's code.
 */
import { RuleTester } from '@typescript-eslint/rule-tester';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, it } from 'vitest';

RuleTester.afterAll = afterAll;
RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;

export const FIXTURE_DIR = fileURLToPath(new URL('./fixtures', import.meta.url));
export const FIXTURE_FILE = 'file.ts';

/** What the fixture project needs to type-check linted code against this package's sources. */
// With CI=true typescript-eslint would infer a single run and build one program from disk, which then
// cannot see the text these tests lint in place of file.ts: ask for the watch-style program always.
export const parserOptions = { project: './tsconfig.json', tsconfigRootDir: FIXTURE_DIR, disallowAutomaticSingleRunInference: true };

export const ruleTester = new RuleTester({
  defaultFilenames: { ts: FIXTURE_FILE, tsx: 'unused.tsx' },
  languageOptions: { parserOptions },
});

/** First line of most cases; invalid cases' locations count it as line 1. */
export const IMPORTS =
  "import { extract, encodeProxies, getKey, resolveAsync, Store, type Proxy, type ProxyOr, type OwnedProxy, type RefProxy } from '../../../src/index.js';";
