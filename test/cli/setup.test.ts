/**
 * `npx ts-proxystore setup` on fresh projects, as a user runs it: TypeScript
 * installed from the registry, the built command run in the project, ts-patch
 * installed from the registry by the command itself (npm's cache first, as
 * `--prefer-offline`). Then the proof that it worked: plain `tsc` (patched by
 * setup) emits the wrapped call, and ESLint with the edited config reports a
 * proxy reaching a built-in. A second run changes nothing. Installs are slow,
 * so there are two projects: TypeScript 5.9 as CommonJS, TypeScript 6.0 as ESM.
 * Needs `npm run build` (it runs dist/cli/index.js). A third project, made by
 * `tsc --init` with this repository's packages, has no ESLint config: the one
 * setup writes must lint it, itself included, with `eslint .`.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { setup as runSetup } from '../../cli/setup.js';
import { tempDirs } from '../../runtime/testing/temp-dirs.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/cli/index.js');
const INSTALL_TIMEOUT = 240_000;
const dirs = tempDirs('ts-proxystore-setup-');
afterAll(() => dirs.removeAll());

const SOURCE = `import type { ProxyOr } from 'ts-proxystore';

/** Kept where other code reaches it, so the value may leave the call: calls of total are wrapped. */
export let last: unknown;

export function total(data: ProxyOr<{ values: number[] }>): number {
  last = data;
  return data.values.length;
}

export function isBytes(body: ProxyOr<Uint8Array>): boolean {
  return ArrayBuffer.isView(body);
}

console.log(total({ values: [1, 2, 3] }));
`;

const TSCONFIG = `{
  // Written by hand: setup keeps this comment.
  "compilerOptions": {
    "target": "es2022",
    "module": "nodenext",
    "rootDir": "src",
    "outDir": "dist",
    "strict": true,
    "skipLibCheck": true,
    "types": [],
  },
}
`;

const ESLINT_ESM = `// @ts-check
import tseslint from 'typescript-eslint';

export default tseslint.config(
  ...tseslint.configs.recommendedTypeChecked,
  { languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } } },
);
`;

const ESLINT_CJS = `const tseslint = require('typescript-eslint');

module.exports = [
  ...tseslint.configs.recommendedTypeChecked,
  { languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: __dirname } } }
];
`;

interface Fresh {
  readonly typescript: string;
  readonly type: 'module' | 'commonjs';
  readonly eslintConfig: string;
  readonly eslintText: string;
  readonly tsPatchMajor: number;
}

function sh(command: string, args: readonly string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false' } });
}

function setup(cwd: string, ...args: string[]): SpawnSyncReturns<string> {
  return sh(process.execPath, [CLI, 'setup', ...args], cwd);
}

const FILES = ['package.json', 'tsconfig.json'];

async function freshProject({ typescript, type, eslintConfig, eslintText }: Fresh): Promise<string> {
  const dir = await dirs.make();
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'fresh', version: '1.0.0', type, devDependencies: { typescript } }, null, 2)}\n`);
  writeFileSync(join(dir, 'tsconfig.json'), TSCONFIG);
  writeFileSync(join(dir, eslintConfig), eslintText);
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src/index.ts'), SOURCE);
  const install = sh('npm', ['install'], dir);
  expect(install.status, install.stderr).toBe(0);
  return dir;
}

describe.each<Fresh>([
  { typescript: '5.9.3', type: 'commonjs', eslintConfig: 'eslint.config.cjs', eslintText: ESLINT_CJS, tsPatchMajor: 3 },
  { typescript: '6.0.3', type: 'module', eslintConfig: 'eslint.config.mjs', eslintText: ESLINT_ESM, tsPatchMajor: 4 },
])('ts-proxystore setup with TypeScript $typescript ($type)', (fresh) => {
  it(
    'installs the matching ts-patch, edits the configs so tsc wraps and ESLint checks, and is idempotent',
    async () => {
      const dir = await freshProject(fresh);
      const files = [...FILES, fresh.eslintConfig];
      const original = new Map(files.map((file) => [file, readFileSync(join(dir, file), 'utf8')]));

      const dry = setup(dir, '--dry-run');
      expect(dry.status, dry.stderr).toBe(0);
      expect(dry.stdout).toContain(`would run: npm install --save-dev ts-patch@^${fresh.tsPatchMajor === 3 ? '3.3.0' : '4.0.1'}`);
      expect(dry.stdout).toContain('+++ b/tsconfig.json');
      expect(dry.stdout).toContain(`+++ b/${fresh.eslintConfig}`);
      for (const [file, text] of original) expect(readFileSync(join(dir, file), 'utf8'), file).toBe(text);
      expect(existsSync(join(dir, 'node_modules/ts-patch'))).toBe(false);

      const done = setup(dir);
      expect(done.status, done.stderr).toBe(0);
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { scripts: Record<string, string>; devDependencies: Record<string, string> };
      expect(manifest.scripts.prepare).toBe('ts-patch install');
      expect(manifest.devDependencies['ts-patch']).toMatch(new RegExp(`^\\^${fresh.tsPatchMajor}\\.`));
      const installed = JSON.parse(readFileSync(join(dir, 'node_modules/ts-patch/package.json'), 'utf8')) as { version: string };
      expect(installed.version.split('.')[0]).toBe(String(fresh.tsPatchMajor));
      const tsconfig = readFileSync(join(dir, 'tsconfig.json'), 'utf8');
      expect(tsconfig).toContain('// Written by hand: setup keeps this comment.');
      expect(tsconfig).toContain('"plugins": [\n      { "transform": "ts-proxystore/transformer" },\n      { "name": "ts-proxystore/language-service" }\n    ],');
      const eslint = readFileSync(join(dir, fresh.eslintConfig), 'utf8');
      expect(eslint).toContain(fresh.type === 'module' ? "import proxystore from 'ts-proxystore/eslint-plugin';" : "const proxystore = require('ts-proxystore/eslint-plugin').default;");
      expect(eslint).toContain('  proxystore.configs.recommended');

      // Run again: nothing left to do, nothing written.
      const changed = new Map(files.map((file) => [file, readFileSync(join(dir, file), 'utf8')]));
      const again = setup(dir);
      expect(again.status, again.stderr).toBe(0);
      expect(again.stdout).toContain('Everything is set up already: nothing to change.');
      for (const [file, text] of changed) expect(readFileSync(join(dir, file), 'utf8'), file).toBe(text);

      // The package itself (as built here) and the lint toolchain, where an install would put them.
      symlinkSync(ROOT, join(dir, 'node_modules/ts-proxystore'), 'dir');
      symlinkSync(join(ROOT, 'node_modules/typescript-eslint'), join(dir, 'node_modules/typescript-eslint'), 'dir');
      // Plain tsc: setup ran `ts-patch install`, so the project's own TypeScript applies the transformer.
      const tsc = sh(process.execPath, [join(dir, 'node_modules/typescript/bin/tsc'), '-p', '.'], dir);
      expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
      expect(readFileSync(join(dir, 'dist/index.js'), 'utf8')).toContain('autoProxy({ values: [1, 2, 3] }, "src/index.ts:15:19"');
      const lint = sh(process.execPath, [join(ROOT, 'node_modules/eslint/bin/eslint.js'), '--format', 'json', 'src/index.ts'], dir);
      const [result] = JSON.parse(lint.stdout) as { messages: { ruleId: string; line: number }[] }[];
      expect(result?.messages.map((message) => [message.ruleId, message.line])).toEqual([['ts-proxystore/no-proxy-to-native', 12]]);
    },
    INSTALL_TIMEOUT,
  );
});

describe('ts-proxystore setup without an ESLint config', () => {
  it('creates an eslint.config.mjs with which `eslint .` lints a fresh project cleanly, the config file included', async () => {
    const dir = realpathSync(await dirs.make());
    // A fresh project as `npx tsc --init` makes it (no "include": only the TypeScript files are in the project).
    const init = sh(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '--init'], dir);
    expect(init.status, init.stdout + init.stderr).toBe(0);
    // "prepare" is there already, so setup runs no `ts-patch install` on the TypeScript linked below (this repository's).
    const devDependencies = { typescript: '^6.0.3', 'ts-patch': '^4.0.1', eslint: '^10.15.0', 'typescript-eslint': '^8.72.0' };
    writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'fresh', version: '1.0.0', scripts: { prepare: 'ts-patch install' }, devDependencies }, null, 2)}\n`);
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src/index.ts'), 'export function double(value: number): number {\n  return value * 2;\n}\n');
    // What `tsc` would emit with the outDir that `tsc --init` suggests: not part of any tsconfig, and not linted.
    mkdirSync(join(dir, 'dist'));
    writeFileSync(join(dir, 'dist/index.js'), 'export function double(value) {\n  return value * 2;\n}\n');
    writeFileSync(join(dir, 'dist/index.d.ts'), 'export declare function double(value: number): number;\n');
    mkdirSync(join(dir, 'node_modules'));
    for (const name of Object.keys(devDependencies)) symlinkSync(join(ROOT, 'node_modules', name), join(dir, 'node_modules', name), 'dir');
    // A stand-in for the plugin, without rules, so this needs no build: under test is the config around it
    // (the projects above run the built plugin's rules).
    const stub = join(dir, 'node_modules/ts-proxystore');
    mkdirSync(stub);
    writeFileSync(join(stub, 'package.json'), '{ "name": "ts-proxystore", "type": "module", "exports": { "./eslint-plugin": "./eslint-plugin.js" } }\n');
    writeFileSync(join(stub, 'eslint-plugin.js'), "export default { configs: { recommended: { name: 'ts-proxystore/recommended', rules: {} } } };\n");

    const lines: string[] = [];
    runSetup({ cwd: dir, project: 'tsconfig.json', dryRun: false, log: (line) => lines.push(line) });
    expect(lines).toContain('created eslint.config.mjs');

    const lint = sh(process.execPath, [join(dir, 'node_modules/eslint/bin/eslint.js'), '--format', 'json', '.'], dir);
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);
    const results = JSON.parse(lint.stdout) as { filePath: string; messages: unknown[] }[];
    expect(results.map((result) => [relative(dir, result.filePath), result.messages])).toEqual([
      ['eslint.config.mjs', []],
      ['src/index.ts', []],
    ]);
    // And the TypeScript files get the type-checked rules.
    const printed = sh(process.execPath, [join(dir, 'node_modules/eslint/bin/eslint.js'), '--print-config', 'src/index.ts'], dir);
    const config = JSON.parse(printed.stdout) as { rules: Record<string, unknown>; languageOptions: { parserOptions: { projectService?: unknown } } };
    expect(config.languageOptions.parserOptions.projectService).toBe(true);
    expect(config.rules['@typescript-eslint/no-floating-promises']).toEqual([2]);
  });
});

describe('ts-proxystore setup refuses what it cannot set up', () => {
  it('explains TypeScript 7 and changes nothing', async () => {
    const dir = await dirs.make();
    writeFileSync(join(dir, 'package.json'), '{ "name": "native", "devDependencies": { "typescript": "7.0.2" } }\n');
    writeFileSync(join(dir, 'tsconfig.json'), TSCONFIG);
    mkdirSync(join(dir, 'node_modules'));
    // The real TypeScript 7 package, where an install would put it.
    symlinkSync(join(ROOT, 'node_modules/typescript7'), join(dir, 'node_modules/typescript'), 'dir');
    const result = setup(dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('TypeScript 7.0.2 is the native compiler, which has no API for transformers');
    expect(result.stderr).toContain('"typescript": "npm:@typescript/typescript6@^6.0.2"');
    expect(readFileSync(join(dir, 'tsconfig.json'), 'utf8')).toBe(TSCONFIG);
  });

  it('says what is missing in a project without TypeScript or package.json', async () => {
    const empty = await dirs.make();
    expect(setup(empty).stderr).toContain(`no package.json in ${empty}`);
    writeFileSync(join(empty, 'package.json'), '{ "name": "bare" }\n');
    expect(setup(empty).stderr).toContain('TypeScript is not installed');
  });
});
