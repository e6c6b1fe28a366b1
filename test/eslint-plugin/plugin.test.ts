import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { ESLint as ESLint9 } from 'eslint9';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import plugin, { rules } from '../../eslint-plugin/index.js';
import { FIXTURE_DIR, FIXTURE_FILE, IMPORTS, parserOptions } from './rule-tester.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NAMESPACE = 'ts-proxystore';
const SECTIONS = ['## What it catches', '## Incorrect', '## Correct', '## Options', '## When not to use it'];

const ruleNames = Object.keys(rules).sort();
const namesIn = (dir: string, suffix: string): string[] =>
  readdirSync(join(ROOT, dir))
    .filter((file) => file.endsWith(suffix))
    .map((file) => file.slice(0, -suffix.length))
    .sort();
const configRules = (config: { rules: object }): string[] => Object.keys(config.rules).sort();

function ruleNamed(name: string): (typeof rules)[keyof typeof rules] & { meta: { docs: object } } {
  const rule = rules[name as keyof typeof rules];
  if (rule.meta.docs === undefined) throw new Error(`${name} has no meta.docs`);
  return rule as typeof rule & { meta: { docs: object } };
}
const rulesClaiming = (...configs: string[]): string[] =>
  ruleNames.filter((name) => configs.includes(ruleNamed(name).meta.docs.recommended));

describe('eslint plugin', () => {
  it('exports every rule file, and each has a test and a doc', () => {
    expect(Reflect.get(plugin, 'rules')).toBe(rules);
    expect(ruleNames).toEqual(namesIn('eslint-plugin/rules', '.ts'));
    expect(namesIn('test/eslint-plugin/rules', '.test.ts')).toEqual(ruleNames);
    expect(namesIn('docs/rules', '.md')).toEqual(ruleNames);
  });

  it.each(ruleNames)('%s: meta and documentation agree', (name) => {
    const rule = ruleNamed(name);
    const doc = readFileSync(join(ROOT, 'docs/rules', `${name}.md`), 'utf8');
    expect(rule.name).toBe(name);
    expect(rule.meta.docs.requiresTypeChecking).toBe(true);
    expect(rule.meta.docs.url).toMatch(new RegExp(`/docs/rules/${name}\\.md$`));
    expect(doc.startsWith(`# ${name}\n\n> ${rule.meta.docs.description}.\n`)).toBe(true);
    for (const section of SECTIONS) expect(doc).toContain(`\n${section}\n`);
    const claims = rule.meta.docs.recommended === 'recommended' ? '`configs.recommended` and `configs.strict`' : '`configs.strict`';
    expect(doc).toContain(`Enabled in ${claims}.`);
    expect(doc.includes('Offers suggestions')).toBe(rule.meta.hasSuggestions === true);
  });

  it('places each rule in the configs it claims', () => {
    const prefixed = (names: string[]): string[] => names.map((name) => `${NAMESPACE}/${name}`);
    expect(configRules(plugin.configs.recommended)).toEqual(prefixed(rulesClaiming('recommended')));
    expect(configRules(plugin.configs.strict)).toEqual(prefixed(rulesClaiming('recommended', 'strict')));
    for (const config of [plugin.configs.recommended, plugin.configs.strict]) {
      expect(config.plugins[NAMESPACE]).toBe(plugin);
      expect(new Set(Object.values(config.rules))).toEqual(new Set(['error']));
    }
  });

  it('names itself with the package version', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(plugin.meta).toEqual({ name: 'ts-proxystore/eslint-plugin', version: manifest.version });
  });

  // ESLint 9 is still what most projects run; the plugin's peer range promises both.
  it.each([
    ['10', ESLint],
    ['9', ESLint9 as unknown as typeof ESLint],
  ])('runs under ESLint %s from the strict flat config', async (version, Engine) => {
    expect(Engine.version.split('.')[0]).toBe(version);
    const eslint = new Engine({
      cwd: FIXTURE_DIR,
      overrideConfigFile: true,
      overrideConfig: [
        { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser, parserOptions } },
        plugin.configs.strict,
      ],
    });
    const code = `${IMPORTS}\ndeclare const p: Proxy<{ n: number }>;\nJSON.stringify(p);\nfor (let i = 0; i < 3; i++) void p.n;\n`;
    const [result] = await eslint.lintText(code, { filePath: join(FIXTURE_DIR, FIXTURE_FILE) });
    expect(result?.messages.map((message) => [message.ruleId, message.line])).toEqual([
      [`${NAMESPACE}/no-json-stringify-proxy`, 3],
      [`${NAMESPACE}/prefer-extract-in-loop`, 4],
    ]);
  });
});
