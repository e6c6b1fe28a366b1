/**
 * `ts-proxystore annotate --fix-natives` on a small library written as its
 * authors would (tabs, no spaces in import braces, double quotes) that has its
 * own test suite: before and after the codemod the library type-checks and its
 * tests pass, the codemod's edits follow the library's style, and the edited
 * functions now work when handed a proxy (the unedited ones threw or gave
 * wrong answers). A use the codemod cannot fix without breaking the build (a
 * type guard that narrows the parameter) is left as it is and named.
 * The same run on a copy of sindresorhus/ky is described in docs/cli.md.
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
const FIXTURE = fileURLToPath(new URL('./fixtures/annotate-app', import.meta.url));
const FUNCTIONS = ['bodySize', 'bodyText', 'describePayload', 'firstSight', 'total', 'mergeHeaders', 'mergeHooks'];
const dirs = tempDirs('ts-proxystore-annotate-app-');
afterAll(() => dirs.removeAll());

/** The library as `tsc -p` builds it; its type errors, if any. */
function build(dir: string): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(join(dir, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  if (config === undefined) throw new Error('fixture tsconfig.json did not parse');
  const program = ts.createProgram(config.fileNames, config.options);
  const errors = ts.getPreEmitDiagnostics(program).map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
  if (errors.length === 0) program.emit();
  return errors;
}

/** The library's own test suite on its build, as `node --test` runs it. */
function libraryTests(dir: string): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, ['--test', 'build/test/'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, output: result.stdout + result.stderr };
}

function expectLibraryTestsPass(dir: string): void {
  const { status, output } = libraryTests(dir);
  expect(output).toContain('# pass 5\n# fail 0');
  expect(status).toBe(0);
}

const read = (dir: string, file: string): string => readFileSync(join(dir, file), 'utf8');

describe('ts-proxystore annotate on a library with its own tests', () => {
  it('keeps the library building and its tests passing, and makes the edited functions work on proxies', async () => {
    const dir = await dirs.make();
    cpSync(FIXTURE, dir, { recursive: true });
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(ROOT, join(dir, 'node_modules/ts-proxystore'), 'dir');
    symlinkSync(join(ROOT, 'node_modules/@types'), join(dir, 'node_modules/@types'), 'dir');
    expect(build(dir)).toEqual([]);
    expectLibraryTestsPass(dir);
    const merge = read(dir, 'src/merge.ts');

    const result = spawnSync(process.execPath, [CLI, 'annotate', '--cwd', dir, '--fix-natives', ...FUNCTIONS.flatMap((name) => ['--function', name])], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("src/body.ts:13 left as is: 'body' needs the real object in ArrayBuffer.isView(extract(body)), but extract(body) there does not type-check (Property 'byteLength' does not exist");
    expect(result.stdout).toContain('wrapped 6 use(s) that need the real object in extract(…)');

    const body = read(dir, 'src/body.ts');
    // One import, in the library's style, after its own.
    expect(body).toContain('import {type Payload} from "./types.js";\nimport {type ProxyOr, extract} from "ts-proxystore";\n\nconst encoder');
    // A mixed union by name is widened whole; the type guard is left for the author.
    expect(body).toContain('export function bodySize(body?: ProxyOr<BodyInit> | null): number {');
    expect(body).toContain('\tif (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) {\n\t\treturn body.byteLength;');
    expect(body).toContain('\treturn new TextDecoder().decode(extract(bytes)); // slot-checked by the engine\n');
    expect(body).toContain('\treturn `${label}: ${JSON.stringify(extract(payload))}`;');
    const cache = read(dir, 'src/cache.ts');
    expect(cache).toContain('\tif (seen.has(extract(payload))) {');
    expect(cache).toContain('\tseen.add(extract(payload));');
    // Only reads its parameter: widened, nothing wrapped.
    expect(cache).toContain('export function total(payload: ProxyOr<Payload>, scale: number): number {\n\treturn payload.values.reduce(');
    // A cast in between does not hide the built-in that needs the real object.
    expect(read(dir, 'src/merge.ts')).toBe(
      merge
        .replace('import type {Hooks} from "./types.js";\n', 'import type {Hooks} from "./types.js";\nimport {type ProxyOr, extract} from "ts-proxystore";\n')
        .replace('(base: HeadersInit = {}, extra: HeadersInit = {})', '(base: ProxyOr<HeadersInit> = {}, extra: ProxyOr<HeadersInit> = {})')
        .replace('new Headers(base as HeadersInit)', 'new Headers(extract(base) as HeadersInit)')
        .replace('new Headers(extra as HeadersInit)', 'new Headers(extract(extra) as HeadersInit)')
        .replace('(original: Hooks = {}, incoming: Hooks = {})', '(original: ProxyOr<Hooks> = {}, incoming: ProxyOr<Hooks> = {})'),
    );

    expect(build(dir)).toEqual([]);
    expectLibraryTestsPass(dir);

    // What the edits are for: the library's functions handed proxies, as auto-wrapped calls hand them. In a
    // process of its own, as a user runs it: under vitest the library and this test would load two copies of the package.
    const script = `
      import { proxy } from 'ts-proxystore';
      import * as library from './build/src/index.js';
      const payload = { id: 'p', values: [1, 2] };
      console.log(JSON.stringify([
        library.bodyText(proxy(() => new TextEncoder().encode('caf\u00e9'))),
        library.describePayload(proxy(() => payload)),
        library.firstSight(proxy(() => payload)),
        library.firstSight(proxy(() => payload)),
        [...library.mergeHeaders(proxy(() => new Headers({ a: '1' })), { b: '2' })],
      ]));`;
    const run = spawnSync(process.execPath, ['--input-type=module', '--eval', script], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual(['caf\u00e9', 'payload: {"id":"p","values":[1,2]}', true, false, [['a', '1'], ['b', '2']]]);
  }, 120_000);
});
