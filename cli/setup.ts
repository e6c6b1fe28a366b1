/**
 * `ts-proxystore setup`: everything a project needs to use the compiler
 * transformer, the editor plugin and the lint rules, in one idempotent step.
 *
 * 1. Finds the project's TypeScript and installs the ts-patch that patches it
 *    (3.x for TypeScript 5, 4.x for TypeScript 6). TypeScript 7 has no compiler
 *    API for transformers: the command says how to keep TypeScript 6 beside it.
 * 2. Adds `"prepare": "ts-patch install"`, so every install patches the compiler.
 * 3. Adds the transformer and the language-service plugin to `compilerOptions.plugins`.
 * 4. Adds `proxystore.configs.recommended` to the ESLint flat config.
 *
 * Files are edited as text at the places found by TypeScript's parser, so
 * comments and formatting stay as they were. A second run finds everything in
 * place and changes nothing. `--dry-run` prints the diffs and the install
 * command instead.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join, relative } from 'node:path';
import type ts from 'typescript';
import { unifiedDiff } from './diff.js';
import { CliError } from './errors.js';

const TRANSFORMER = 'ts-proxystore/transformer';
const LANGUAGE_SERVICE = 'ts-proxystore/language-service';
const ESLINT_PLUGIN = 'ts-proxystore/eslint-plugin';
const PREPARE = 'ts-patch install';
const ESLINT_CONFIGS = ['eslint.config.js', 'eslint.config.mjs', 'eslint.config.cjs', 'eslint.config.ts', 'eslint.config.mts', 'eslint.config.cts'];

/** The ts-patch line for each TypeScript major that has a transformer API. */
const TS_PATCH_FOR: Readonly<Record<number, string>> = { 5: '^3.3.0', 6: '^4.0.1' };

export interface SetupOptions {
  readonly cwd: string;
  /** The tsconfig to add the plugins to, relative to `cwd`. */
  readonly project: string;
  readonly dryRun: boolean;
  readonly log: (line: string) => void;
}

interface FileChange {
  readonly file: string;
  readonly before: string | undefined;
  readonly after: string;
}

interface Manifest {
  type?: string;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

function readManifest(cwd: string): { text: string; manifest: Manifest } {
  const file = join(cwd, 'package.json');
  if (!existsSync(file)) throw new CliError(`no package.json in ${cwd}: run setup in the project's root (or pass --cwd)`);
  const text = readFileSync(file, 'utf8');
  try {
    return { text, manifest: JSON.parse(text) as Manifest };
  } catch (error) {
    throw new CliError(`${file} is not valid JSON (${(error as Error).message}): fix it and run setup again`);
  }
}

function declares(manifest: Manifest, name: string): boolean {
  return manifest.dependencies?.[name] !== undefined || manifest.devDependencies?.[name] !== undefined;
}

/** The installed version of a package as the project resolves it, if any. */
function installedVersion(projectRequire: NodeJS.Require, name: string): string | undefined {
  try {
    return (projectRequire(`${name}/package.json`) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

function major(version: string): number {
  return Number(version.split('.')[0]);
}

/** The install command of the project's package manager, told by its lockfile. */
function installCommand(cwd: string, spec: string): string[] {
  if (existsSync(join(cwd, 'pnpm-lock.yaml'))) return ['pnpm', 'add', '--save-dev', spec];
  if (existsSync(join(cwd, 'yarn.lock'))) return ['yarn', 'add', '--dev', spec];
  return ['npm', 'install', '--save-dev', spec];
}

/** The indentation unit of a file (its first indented line), and the indentation of the line a position is on. */
function indentation(text: string): { unit: string; at: (position: number) => string } {
  const unit = /\n([ \t]+)\S/.exec(text)?.[1] ?? '  ';
  return { unit, at: (position) => /^[ \t]*/.exec(text.slice(text.lastIndexOf('\n', position - 1) + 1))?.[0] ?? '' };
}

function lineOf(text: string, position: number): number {
  return text.slice(0, position).split('\n').length;
}

function propertyNamed(api: typeof ts, object: ts.ObjectLiteralExpression, name: string): ts.PropertyAssignment | undefined {
  return object.properties.find(
    (property): property is ts.PropertyAssignment =>
      api.isPropertyAssignment(property) && (api.isStringLiteral(property.name) || api.isIdentifier(property.name)) && property.name.text === name,
  );
}

/** Adds `entries` (JSON text) to `compilerOptions.plugins` of a tsconfig, creating what is missing, as text edits. */
export function addTsconfigPlugins(api: typeof ts, fileName: string, text: string, entries: readonly string[]): string {
  const source = api.parseJsonText(fileName, text);
  const root = source.statements[0]?.expression;
  if (root === undefined || !api.isObjectLiteralExpression(root)) throw new CliError(`${fileName} does not hold a JSON object: fix it and run setup again`);
  const { unit, at } = indentation(text);
  const insert = (position: number, inserted: string): string => text.slice(0, position) + inserted + text.slice(position);

  /** A block opening an object: the property `name` holding `value`, placed first in `object`. */
  const openIn = (object: ts.ObjectLiteralExpression, name: string, value: (indent: string) => string): string => {
    const first = object.properties[0];
    const indent = first === undefined ? at(object.getStart(source)) + unit : at(first.getStart(source));
    const closing = first === undefined ? `\n${at(object.getStart(source))}` : ',';
    return insert(object.getStart(source) + 1, `\n${indent}"${name}": ${value(indent)}${closing}`);
  };
  const list = (indent: string): string => `[\n${entries.map((entry) => `${indent}${unit}${entry}`).join(',\n')}\n${indent}]`;

  const options = propertyNamed(api, root, 'compilerOptions');
  if (options === undefined) return openIn(root, 'compilerOptions', (indent) => `{\n${indent}${unit}"plugins": ${list(indent + unit)}\n${indent}}`);
  if (!api.isObjectLiteralExpression(options.initializer)) throw new CliError(`compilerOptions in ${fileName} is not an object: fix it and run setup again`);
  const plugins = propertyNamed(api, options.initializer, 'plugins');
  if (plugins === undefined) return openIn(options.initializer, 'plugins', list);
  const array = plugins.initializer;
  if (!api.isArrayLiteralExpression(array)) throw new CliError(`compilerOptions.plugins in ${fileName} is not an array: fix it and run setup again`);
  const last = array.elements[array.elements.length - 1];
  if (last === undefined) return text.slice(0, array.getStart(source)) + list(at(array.getStart(source))) + text.slice(array.getEnd());
  const indent = at(last.getStart(source));
  const multiline = lineOf(text, last.getStart(source)) !== lineOf(text, array.getStart(source));
  const added = entries.map((entry) => (multiline ? `,\n${indent}${entry}` : `, ${entry}`)).join('');
  return insert(last.getEnd(), added);
}

/** The plugin entries a tsconfig lacks, read the way TypeScript reads it (comments and trailing commas allowed). */
function missingPlugins(api: typeof ts, fileName: string, text: string): string[] {
  const { config } = api.parseConfigFileTextToJson(fileName, text) as { config?: { compilerOptions?: { plugins?: unknown } } };
  const plugins = Array.isArray(config?.compilerOptions?.plugins) ? (config.compilerOptions.plugins as Record<string, unknown>[]) : [];
  const missing: string[] = [];
  if (!plugins.some((plugin) => plugin.transform === TRANSFORMER)) missing.push(`{ "transform": "${TRANSFORMER}" }`);
  if (!plugins.some((plugin) => plugin.name === LANGUAGE_SERVICE)) missing.push(`{ "name": "${LANGUAGE_SERVICE}" }`);
  return missing;
}

/** The flat-config expression a config file exports: `export default …` or `module.exports = …`. */
function exportedConfig(api: typeof ts, source: ts.SourceFile): ts.Expression | undefined {
  for (const statement of source.statements) {
    if (api.isExportAssignment(statement)) return statement.expression;
    if (!api.isExpressionStatement(statement) || !api.isBinaryExpression(statement.expression)) continue;
    const { left, right } = statement.expression;
    if (api.isPropertyAccessExpression(left) && left.getText(source) === 'module.exports') return right;
  }
  return undefined;
}

/**
 * Adds the plugin's recommended config to an ESLint flat config: an import
 * (or `require`) of the plugin, and one more element of the exported array or
 * argument of `tseslint.config(…)`/`defineConfig(…)`. Undefined when the file
 * exports something else (a variable, a function), which needs a person.
 */
export function addEslintConfig(api: typeof ts, fileName: string, text: string, esm: boolean): string | undefined {
  const source = api.createSourceFile(fileName, text, api.ScriptTarget.Latest, true, api.ScriptKind.TS);
  let exported = exportedConfig(api, source);
  while (exported !== undefined && (api.isParenthesizedExpression(exported) || api.isSatisfiesExpression(exported) || api.isAsExpression(exported))) {
    exported = exported.expression;
  }
  if (exported === undefined) return undefined;
  const items = api.isArrayLiteralExpression(exported) ? exported.elements : api.isCallExpression(exported) ? exported.arguments : undefined;
  if (items === undefined) return undefined;
  const name = /\bproxystore\b/.test(text) ? 'proxystorePlugin' : 'proxystore';
  const element = `${name}.configs.recommended`;
  const { at } = indentation(text);
  const last = items[items.length - 1];
  const edits: { position: number; text: string }[] = [];
  if (last === undefined) {
    edits.push({ position: exported.getEnd() - 1, text: element });
  } else {
    const multiline = lineOf(text, last.getStart(source)) !== lineOf(text, exported.getStart(source));
    const separator = multiline ? `\n${at(last.getStart(source))}` : ' ';
    // After a trailing comma, keep one: `[a, b,]` becomes `[a, b, proxystore…,]`.
    edits.push(
      items.hasTrailingComma
        ? { position: text.indexOf(',', last.getEnd()) + 1, text: `${separator}${element},` }
        : { position: last.getEnd(), text: `,${separator}${element}` },
    );
  }
  const statement = esm ? `import ${name} from '${ESLINT_PLUGIN}';` : `const ${name} = require('${ESLINT_PLUGIN}').default;`;
  const imports = source.statements.filter((node) =>
    esm ? api.isImportDeclaration(node) : api.isVariableStatement(node) && /\brequire\(/.test(node.getText(source)),
  );
  const anchor = imports[imports.length - 1];
  const first = source.statements[0];
  if (anchor !== undefined) edits.push({ position: anchor.getEnd(), text: `\n${statement}` });
  else edits.push({ position: first === undefined ? text.length : first.getStart(source), text: `${statement}\n` });
  // Apply from the end so earlier positions stay valid.
  return edits.sort((a, b) => b.position - a.position).reduce((result, edit) => result.slice(0, edit.position) + edit.text + result.slice(edit.position), text);
}

/**
 * The config for a project that has none. Type-checked rules need files of a tsconfig, and a fresh one
 * (`tsc --init`) holds only TypeScript: they apply to TypeScript files, so JavaScript such as this
 * file is parsed without type information, and the build output is not linted at all.
 */
const NEW_ESLINT_CONFIG = `import tseslint from 'typescript-eslint';
import proxystore from '${ESLINT_PLUGIN}';

export default tseslint.config(
  { ignores: ['dist/'] },
  {
    // Type information comes from tsconfig.json, which holds the TypeScript files only.
    files: ['**/*.{ts,tsx,mts,cts}'],
    extends: [...tseslint.configs.recommendedTypeChecked, proxystore.configs.recommended],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
  },
);
`;

function isEsmConfig(file: string, manifest: Manifest): boolean {
  if (/\.(mjs|mts)$/.test(file)) return true;
  if (/\.(cjs|cts)$/.test(file)) return false;
  return manifest.type === 'module';
}

/** The edit to the ESLint config, or a note saying why there is none. */
function eslintChange(api: typeof ts, cwd: string, manifest: Manifest, log: (line: string) => void): FileChange | undefined {
  const existing = ESLINT_CONFIGS.map((name) => join(cwd, name)).find((file) => existsSync(file));
  if (existing === undefined) {
    if (!declares(manifest, 'eslint')) {
      log('ESLint: not a dependency of this project, so no lint config was added (the rules need eslint and typescript-eslint).');
      return undefined;
    }
    if (!declares(manifest, 'typescript-eslint')) {
      log('ESLint: the rules need type information from typescript-eslint; install it and run setup again to get a config.');
      return undefined;
    }
    return { file: join(cwd, 'eslint.config.mjs'), before: undefined, after: NEW_ESLINT_CONFIG };
  }
  const text = readFileSync(existing, 'utf8');
  if (text.includes(ESLINT_PLUGIN)) return undefined;
  const after = addEslintConfig(api, existing, text, isEsmConfig(existing, manifest));
  if (after === undefined) {
    log(`ESLint: ${basename(existing)} does not export an array or a config(…) call; add \`proxystore.configs.recommended\` from '${ESLINT_PLUGIN}' by hand.`);
    return undefined;
  }
  if (!/projectService|project\s*:/.test(text)) {
    log(`ESLint: ${basename(existing)} shows no typed linting (parserOptions.projectService); the ts-proxystore rules need it.`);
  }
  return { file: existing, before: text, after };
}

function prepareChange(cwd: string): FileChange | undefined {
  const { text, manifest } = readManifest(cwd);
  const prepare = manifest.scripts?.prepare;
  if (prepare?.includes(PREPARE) === true) return undefined;
  const scripts = { ...manifest.scripts, prepare: prepare === undefined ? PREPARE : `${PREPARE} && ${prepare}` };
  const indent = /\n([ \t]+)"/.exec(text)?.[1] ?? '  ';
  const after = `${JSON.stringify({ ...manifest, scripts }, null, indent)}${text.endsWith('\n') ? '\n' : ''}`;
  return { file: join(cwd, 'package.json'), before: text, after };
}

export function setup({ cwd, project, dryRun, log }: SetupOptions): void {
  const { manifest } = readManifest(cwd);
  const projectRequire = createRequire(join(cwd, 'package.json'));
  const version = installedVersion(projectRequire, 'typescript');
  if (version === undefined) throw new CliError(`TypeScript is not installed in ${cwd}: install it (npm install --save-dev typescript) and run setup again`);
  if (major(version) >= 7) {
    throw new CliError(
      `TypeScript ${version} is the native compiler, which has no API for transformers or language-service plugins. ` +
        'Keep TypeScript 6 beside it for the transformer and ESLint: "typescript": "npm:@typescript/typescript6@^6.0.2" and "typescript7": "npm:typescript@^7", ' +
        'build with `tspc` (TypeScript 6), type-check with TypeScript 7 by its path if you like (`node node_modules/typescript7/bin/tsc --noEmit`: both put a `tsc` command in node_modules/.bin), and run setup again.',
    );
  }
  const patchRange = TS_PATCH_FOR[major(version)];
  if (patchRange === undefined) throw new CliError(`TypeScript ${version} is older than ts-proxystore supports (5.0 or later): upgrade it and run setup again`);
  log(`TypeScript ${version}: the transformer runs through ts-patch ${patchRange}.`);

  const patchVersion = installedVersion(projectRequire, 'ts-patch');
  const wantedMajor = major(patchRange.slice(1));
  const command = patchVersion !== undefined && major(patchVersion) === wantedMajor && declares(manifest, 'ts-patch') ? undefined : installCommand(cwd, `ts-patch@${patchRange}`);
  if (command === undefined) log(`ts-patch ${patchVersion ?? ''} is installed already.`);
  else if (dryRun) log(`would run: ${command.join(' ')}`);
  else {
    log(`running: ${command.join(' ')}`);
    const [program = 'npm', ...args] = command;
    const run = spawnSync(program, args, { cwd, stdio: 'inherit', shell: process.platform === 'win32' });
    if (run.status !== 0) throw new CliError(`${command.join(' ')} failed (exit ${run.status ?? run.signal}): install ts-patch ${patchRange} yourself and run setup again`);
  }

  const api = projectRequire('typescript') as typeof ts;
  const changes: FileChange[] = [];
  // After the install, which rewrites package.json itself.
  const prepare = prepareChange(cwd);
  if (prepare !== undefined) changes.push(prepare);
  const tsconfig = join(cwd, project);
  if (!existsSync(tsconfig)) throw new CliError(`no ${project} in ${cwd}: create one (npx tsc --init) or pass --project, and run setup again`);
  const tsconfigText = readFileSync(tsconfig, 'utf8');
  const missing = missingPlugins(api, tsconfig, tsconfigText);
  if (missing.length > 0) changes.push({ file: tsconfig, before: tsconfigText, after: addTsconfigPlugins(api, tsconfig, tsconfigText, missing) });
  const eslint = eslintChange(api, cwd, manifest, log);
  if (eslint !== undefined) changes.push(eslint);

  for (const change of changes) {
    const name = relative(cwd, change.file);
    if (dryRun) log(unifiedDiff(name, change.before, change.after).trimEnd());
    else {
      writeFileSync(change.file, change.after);
      log(`${change.before === undefined ? 'created' : 'updated'} ${name}`);
    }
  }
  if (changes.length === 0 && command === undefined) {
    log('Everything is set up already: nothing to change.');
    return;
  }
  if (dryRun || prepare === undefined) return;
  // What `prepare` does on every later install, once now, so `tsc` applies the plugin straight away.
  const patcher = projectRequire.resolve('ts-patch/bin/ts-patch.js');
  const patched = spawnSync(process.execPath, [patcher, 'install', '-s'], { cwd, stdio: 'inherit' });
  if (patched.status !== 0) throw new CliError(`ts-patch install failed (exit ${patched.status ?? patched.signal}): run \`npm run prepare\` and read its output`);
  log('patched the project\'s TypeScript (ts-patch install)');
}
