/**
 * `ts-proxystore annotate` on a fixture project, run as the built command a
 * user runs: task functions (a `defineTasks` table, a function handed to
 * `submit`) and a function named with `--function` get `ProxyOr<T>`
 * parameters, lib calls like `array.map(fn)` are left alone, comments and
 * formatting stay, and the project still type-checks afterwards.
 * Needs `npm run build` (it runs dist/cli/index.js).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDirs } from '../../runtime/testing/temp-dirs.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/cli/index.js');
const FIXTURE = fileURLToPath(new URL('./fixtures/annotate', import.meta.url));
const dirs = tempDirs('ts-proxystore-annotate-');
afterAll(() => dirs.removeAll());

/** A copy of the fixture whose node_modules holds this package (as built) and Node's types. */
async function fixtureCopy(): Promise<string> {
  const dir = await dirs.make();
  cpSync(FIXTURE, dir, { recursive: true });
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(ROOT, join(dir, 'node_modules/ts-proxystore'), 'dir');
  symlinkSync(join(ROOT, 'node_modules/@types'), join(dir, 'node_modules/@types'), 'dir');
  return dir;
}

/** The package as built, in a folder where no node_modules holds ts-morph. */
async function builtWithoutTsMorph(): Promise<string> {
  const dir = await dirs.make();
  for (const part of ['dist/cli', 'dist/src', 'dist/runtime', 'dist/eslint-plugin']) cpSync(join(ROOT, part), join(dir, part), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  return dir;
}

function run(cwd: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [CLI, 'annotate', '--cwd', cwd, ...args], { encoding: 'utf8' });
}

const read = (dir: string, file: string): string => readFileSync(join(dir, file), 'utf8');

/** Type errors of the project, as `tsc --noEmit -p` would print them. */
function typeErrors(dir: string): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(join(dir, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  if (config === undefined) throw new Error('fixture tsconfig.json did not parse');
  const program = ts.createProgram(config.fileNames, config.options);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
}

const FILES = ['src/tasks.ts', 'src/main.ts', 'src/model.ts', 'src/table.ts', 'src/worker.ts'];
/** Three codemod runs, each building the project and type-checking its edits: a minute or more on a loaded machine. */
const CODEMOD_RUNS_MS = 180_000;

describe('ts-proxystore annotate', () => {
  it('widens task parameters to ProxyOr<T>, wraps native uses, keeps the rest, and the project type-checks', async () => {
    const dir = await fixtureCopy();
    expect(typeErrors(dir)).toEqual([]);
    const original = new Map(FILES.map((file) => [file, read(dir, file)]));

    const dry = run(dir, '--dry-run', '--function', 'archive', '--fix-natives');
    expect(dry.stderr).toBe('');
    expect(dry.status).toBe(0);
    expect(dry.stdout).toContain('--- a/src/tasks.ts\n+++ b/src/tasks.ts\n');
    expect(dry.stdout).toContain('-  checksum(doc: Doc): number {\n+  checksum(doc: ProxyOr<Doc>): number {');
    for (const [file, text] of original) expect(read(dir, file), file).toBe(text);

    const done = run(dir, '--function', 'archive', '--fix-natives');
    expect(done.status).toBe(0);
    const tasks = read(dir, 'src/tasks.ts');
    const main = read(dir, 'src/main.ts');
    // The defineTasks table: a shorthand entry, a method and an arrow; primitives stay as they are.
    expect(tasks).toContain("// Scales a vector; the comment stays where it is.\nfunction scale(input: ProxyOr<Float64Array>, k: number): Float64Array {\n  return input.map((x) => x * k); // element-wise\n}");
    expect(tasks).toContain('  checksum(doc: ProxyOr<Doc>): number {');
    expect(tasks).toContain('size: (data: ProxyOr<Uint8Array<ArrayBuffer>>, label?: string) => (ArrayBuffer.isView(extract(data)) ? data.byteLength');
    expect(tasks).toContain("import { describe, type Doc } from './model.js';\nimport { type ProxyOr, extract } from 'ts-proxystore';\n");
    // A function handed to submit, nullable; a function named on the command line; array.map(fn) left alone.
    expect(main).toContain('function render(doc: ProxyOr<Doc> | undefined, count: number): string {\n  return JSON.stringify(extract(doc))');
    expect(main).toContain('export function archive(doc: ProxyOr<Doc>): boolean {\n  return seen.has(extract(doc));');
    expect(main).toContain('function double(point: { x: number }): number {');
    // A table imported by the module that hands it to defineTasks.
    expect(read(dir, 'src/table.ts')).toContain('  resize(doc: ProxyOr<Doc>, factor: number): number {');
    expect(read(dir, 'src/model.ts')).toBe(original.get('src/model.ts'));
    expect(read(dir, 'src/worker.ts')).toBe(original.get('src/worker.ts'));
    expect(typeErrors(dir)).toEqual([]);

    // A second run finds nothing left to do.
    const again = run(dir, '--function', 'archive', '--fix-natives');
    expect(again.stdout).toContain('Nothing to annotate');
    expect(read(dir, 'src/tasks.ts')).toBe(tasks);
    expect(read(dir, 'src/main.ts')).toBe(main);
  }, CODEMOD_RUNS_MS);

  it('wraps a parameter that reaches a built-in, in a list written there or built before, through a copy or a helper, as the transformer finds it: new Blob([extract(b)])', async () => {
    const dir = await fixtureCopy();
    const functions = ['bodyLen', 'labelled', 'builtLen', 'pushedLen', 'copyLen', 'helperLen'];
    const result = run(dir, 'src/body.ts', ...functions.flatMap((name) => ['--function', name]), '--fix-natives');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('wrapped 6 use(s) that need the real object in extract(…)');
    expect(result.stdout).not.toContain('left as is');
    const body = read(dir, 'src/body.ts');
    expect(body).toContain("import { type ProxyOr, extract } from 'ts-proxystore';\n");
    expect(body).toContain('export function bodyLen(bytes: ProxyOr<Uint8Array<ArrayBuffer>>): number {\n  return new Blob([extract(bytes)]).size;\n}');
    // Among other parts, and through a cast.
    expect(body).toContain("  return new Blob(['head: ', extract(bytes) as BlobPart]).size;");
    // In a list built first and handed over later.
    expect(body).toContain('export function builtLen(bytes: ProxyOr<Uint8Array<ArrayBuffer>>): number {\n  const parts = [extract(bytes)];');
    expect(body).toContain('  parts.push(extract(bytes));');
    // Through a local copy, and through a helper of the program (whose own parameter is not widened).
    expect(body).toContain('  return new TextDecoder().decode(extract(view)).length;');
    expect(body).toContain('  return blobOf(extract(bytes)).size;');
    expect(body).toContain('function blobOf(part: Uint8Array<ArrayBuffer>): Blob {');
    expect(typeErrors(dir)).toEqual([]);
  }, CODEMOD_RUNS_MS);

  it('fixes native uses in a run of its own, after the parameters were widened by an earlier one', async () => {
    const dir = await fixtureCopy();
    expect(run(dir, '--function', 'archive').status).toBe(0);
    expect(read(dir, 'src/main.ts')).toContain('function render(doc: ProxyOr<Doc> | undefined, count: number): string {\n  return JSON.stringify(doc)');
    const fixed = run(dir, '--function', 'archive', '--fix-natives');
    expect(fixed.status).toBe(0);
    expect(read(dir, 'src/main.ts')).toContain('function render(doc: ProxyOr<Doc> | undefined, count: number): string {\n  return JSON.stringify(extract(doc))');
    expect(read(dir, 'src/main.ts')).toContain('export function archive(doc: ProxyOr<Doc>): boolean {\n  return seen.has(extract(doc));');
    expect(typeErrors(dir)).toEqual([]);
  }, CODEMOD_RUNS_MS);

  it('edits only the files it is given', async () => {
    const dir = await fixtureCopy();
    const tasks = read(dir, 'src/tasks.ts');
    const result = run(dir, 'src/main.ts');
    expect(result.status).toBe(0);
    expect(read(dir, 'src/tasks.ts')).toBe(tasks);
    expect(read(dir, 'src/main.ts')).toContain('function render(doc: ProxyOr<Doc> | undefined');
    expect(run(dir, 'src/missing.ts').stderr).toContain('src/missing.ts is not a source file of tsconfig.json');
  }, CODEMOD_RUNS_MS);

  it('says to install ts-morph when it is missing', async () => {
    const dir = await builtWithoutTsMorph();
    const result = spawnSync(process.execPath, [join(dir, 'dist/cli/index.js'), 'annotate'], { cwd: dir, encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`cannot be found from ts-proxystore's folder (${dir}/) nor from the project (${dir})`);
    expect(result.stderr).toContain('(npm install --save-dev ts-morph)');
  });

  it('uses the ts-morph of the --cwd project when none is beside ts-proxystore', async () => {
    const tool = await builtWithoutTsMorph();
    const project = await fixtureCopy();
    symlinkSync(join(ROOT, 'node_modules/ts-morph'), join(project, 'node_modules/ts-morph'), 'dir');
    const result = spawnSync(process.execPath, [join(tool, 'dist/cli/index.js'), 'annotate', '--cwd', project, '--function', 'archive'], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(read(project, 'src/main.ts')).toContain('export function archive(doc: ProxyOr<Doc>): boolean {');
    expect(typeErrors(project)).toEqual([]);
  }, CODEMOD_RUNS_MS);

  it('says a --cwd that does not exist is missing, before anything else', () => {
    const result = spawnSync(process.execPath, [CLI, 'annotate', '--cwd', '/no/such/project'], { encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('no directory /no/such/project');
  });
});
