/**
 * The language-service plugin, through a real tsserver process (TypeScript 6.0
 * and 5.9), as an editor uses it: the project's tsconfig names the plugin in
 * the same entry as the transformer; tsserver finds the installed package (here: the staged one, by
 * --pluginProbeLocations) and loads it. Diagnostics, the suggestion on
 * auto-wrapped arguments and the quick fixes come back over the protocol, and
 * applying a fix clears the diagnostic.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFixture, removeCopies } from './helpers/compilers.js';
import { stagePackage } from './helpers/stage.js';
import { TsServer } from './helpers/tsserver.js';

const TIMEOUT_MS = 300_000;

interface Location {
  readonly line: number;
  readonly offset: number;
}
interface ServerDiagnostic {
  readonly start: Location;
  readonly end: Location;
  readonly text: string;
  readonly code: number;
  readonly category: string;
  readonly source?: string;
}
interface InlayHint {
  readonly text: string;
  readonly position: Location;
  readonly kind: string;
  readonly whitespaceAfter?: boolean;
}
interface TextChange {
  readonly start: Location;
  readonly end: Location;
  readonly newText: string;
}
interface CodeFix {
  readonly fixName: string;
  readonly description: string;
  readonly changes: readonly { readonly fileName: string; readonly textChanges: readonly TextChange[] }[];
}

/** 1-based line and offset of `needle` (the `nth` one) in a file, as tsserver counts. */
function locate(file: string, needle: string, nth = 0): Location {
  const text = fs.readFileSync(file, 'utf8');
  let at = -1;
  for (let i = 0; i <= nth; i++) at = text.indexOf(needle, at + 1);
  const before = text.slice(0, at).split('\n');
  return { line: before.length, offset: (before[before.length - 1] as string).length + 1 };
}

/** Applies text changes (tsserver's 1-based positions) to a text. */
function apply(text: string, changes: readonly TextChange[]): string {
  const lines = text.split('\n');
  const offsetOf = ({ line, offset }: Location): number => lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0) + offset - 1;
  return [...changes]
    .sort((a, b) => offsetOf(b.start) - offsetOf(a.start))
    .reduce((result, change) => result.slice(0, offsetOf(change.start)) + change.newText + result.slice(offsetOf(change.end)), text);
}

afterAll(removeCopies);

describe.each([
  ['TypeScript 6.0', 'typescript', 'ts6'],
  ['TypeScript 5.9', 'typescript5', 'ts5'],
])('ts-proxystore/language-service in the tsserver of %s', (_name, typescript, label) => {
  let project: string;
  let server: TsServer;
  const file = (name: string): string => path.join(project, 'src', name);
  const at = (name: string, needle: string, nth = 0): Location => locate(file(name), needle, nth);
  const semantic = (name: string): Promise<ServerDiagnostic[]> => server.request('semanticDiagnosticsSync', { file: file(name) });
  const suggestions = (name: string): Promise<ServerDiagnostic[]> => server.request('suggestionDiagnosticsSync', { file: file(name) });
  /** The fixes offered for diagnostic `code` on `word` where it starts at `site`, as an editor asks for them. */
  const fixesAt = (name: string, site: Location, word: string, code: number): Promise<CodeFix[]> =>
    server.request<CodeFix[]>('getCodeFixes', { file: file(name), startLine: site.line, startOffset: site.offset, endLine: site.line, endOffset: site.offset + word.length, errorCodes: [code] });

  async function applyFix(fix: CodeFix): Promise<void> {
    for (const { fileName, textChanges } of fix.changes) {
      const updated = apply(fs.readFileSync(fileName, 'utf8'), textChanges);
      fs.writeFileSync(fileName, updated);
      // As an editor does: the open file's new text goes to tsserver.
      await server.notify('updateOpen', { changedFiles: [], openFiles: [{ file: fileName, fileContent: updated }], closedFiles: [] });
    }
  }

  beforeAll(async () => {
    const stage = await stagePackage();
    project = copyFixture(stage, 'editor', `language-service-${label}`);
    server = new TsServer(typescript, ['--pluginProbeLocations', stage.root], project);
    for (const name of ['app.ts', 'bytes.ts', 'model.ts']) {
      await server.notify('open', { file: file(name), projectRootPath: project });
    }
  }, TIMEOUT_MS);
  afterAll(() => server.close());

  it('reports TS98001 where tspc does, as a warning, as the file is opened', async () => {
    const diagnostics = await semantic('app.ts');
    const site = (nth: number): string => `${at('app.ts', 'remote', nth).line}:${at('app.ts', 'remote', nth).offset}`;
    expect(diagnostics.map((d) => `${d.category} ${d.code} ${d.start.line}:${d.start.offset}`)).toEqual([`warning 98001 ${site(1)}`, `warning 98001 ${site(3)}`]);
    expect(diagnostics[0]?.text).toBe(
      "Proxy<Doc> is passed to parameter 'd' of 'save', which is typed 'Doc', not ProxyOr<Doc>. Annotate the parameter ProxyOr<Doc> if the function works on proxies, or pass extract(...) to hand over the target itself.",
    );
  }, TIMEOUT_MS);

  it('reports TS98004 where a ProxyOr parameter reaches a built-in that needs the real object', async () => {
    const diagnostics = await semantic('bytes.ts');
    expect(diagnostics.map((d) => `${d.category} ${d.code} ${d.start.line}:${d.start.offset}`)).toEqual([
      `warning 98004 ${at('bytes.ts', 'bytes);').line}:${at('bytes.ts', 'bytes);').offset}`,
    ]);
    expect(diagnostics[0]?.text).toContain("'bytes' is ProxyOr and is passed to 'decode', which needs the real ArrayBufferView");
  }, TIMEOUT_MS);

  it('marks the argument the transformer wraps with a suggestion naming the threshold', async () => {
    const found = (await suggestions('app.ts')).filter((d) => d.code === 98005);
    expect(found.map((d) => `${d.start.line}:${d.start.offset}-${d.end.offset}`)).toEqual([
      `${at('app.ts', 'docs, sink').line}:${at('app.ts', 'docs, sink').offset}-${at('app.ts', 'docs, sink').offset + 'docs'.length}`,
    ]);
    expect(found[0]?.category).toBe('suggestion');
    expect(found[0]?.text).toMatch(/^May travel by proxy above 100 kB: /);
  }, TIMEOUT_MS);

  it('puts an inlay hint before the argument the transformer wraps, within the span asked for', async () => {
    const length = fs.readFileSync(file('app.ts'), 'utf8').length;
    const hints = await server.request<InlayHint[]>('provideInlayHints', { file: file('app.ts'), start: 0, length });
    expect(hints).toEqual([{ text: 'by proxy ≥ 100 kB:', position: at('app.ts', 'docs, sink'), kind: 'Parameter', whitespaceAfter: true }]);
    // The editor asks for what is on screen: a span that ends before the call has no hint.
    const before = fs.readFileSync(file('app.ts'), 'utf8').indexOf('submitAll(');
    expect(await server.request<InlayHint[]>('provideInlayHints', { file: file('app.ts'), start: 0, length: before })).toEqual([]);
  }, TIMEOUT_MS);

  it('shows no inlay hints with "inlayHints": false, and keeps the suggestion', async () => {
    const other = copyFixture(await stagePackage(), 'editor', `language-service-hints-off-${label}`);
    const tsconfig = path.join(other, 'tsconfig.json');
    fs.writeFileSync(tsconfig, fs.readFileSync(tsconfig, 'utf8').replace('"threshold": 100000', '"threshold": 100000, "inlayHints": false'));
    const app = path.join(other, 'src/app.ts');
    await server.notify('open', { file: app, projectRootPath: other });
    expect(await server.request<InlayHint[]>('provideInlayHints', { file: app, start: 0, length: fs.readFileSync(app, 'utf8').length })).toEqual([]);
    expect((await server.request<ServerDiagnostic[]>('suggestionDiagnosticsSync', { file: app })).filter((d) => d.code === 98005)).toHaveLength(1);
    // Known to the package: not reported as an unknown option of the transformer's (the same) entry.
    const problems = await server.request<{ code: number }[]>('compilerOptionsDiagnostics-full', { projectFileName: tsconfig });
    expect(problems.filter((d) => d.code === 98002)).toEqual([]);
  }, TIMEOUT_MS);

  it('reports invalid options (TS98002) among the project\'s own diagnostics', async () => {
    const other = copyFixture(await stagePackage(), 'editor', `language-service-options-${label}`);
    const tsconfig = path.join(other, 'tsconfig.json');
    fs.writeFileSync(tsconfig, fs.readFileSync(tsconfig, 'utf8').replace('"threshold": 100000', '"threshold": -1'));
    await server.notify('open', { file: path.join(other, 'src/app.ts'), projectRootPath: other });
    const diagnostics = await server.request<{ code: number; message: string; category: string }[]>('compilerOptionsDiagnostics-full', { projectFileName: tsconfig });
    expect(diagnostics.filter((d) => d.code === 98002).map((d) => `${d.category}: ${d.message}`)).toEqual([
      "error: ts-proxystore/transformer: 'threshold' must be a non-negative number of bytes, got -1; using 100000.",
    ]);
  }, TIMEOUT_MS);

  it('lists its codes among the fixable ones', async () => {
    const supported = await server.request<string[]>('getSupportedCodeFixes', { file: file('app.ts') });
    expect(supported).toEqual(expect.arrayContaining(['98001', '98004']));
  }, TIMEOUT_MS);

  it('widening the parameter to ProxyOr clears TS98001, and adds the type import', async () => {
    const site = at('app.ts', 'remote', 3);
    const fixes = await fixesAt('app.ts', site, 'remote', 98001);
    const widen = fixes.find((f) => f.fixName === 'ts-proxystore-widen') as CodeFix;
    expect(widen.description).toBe("Widen parameter 'd' to ProxyOr<Doc>");
    await applyFix(widen);
    expect(fs.readFileSync(file('archive.ts'), 'utf8')).toBe(
      "import type { Doc } from './model.js';\nimport type { ProxyOr } from 'ts-proxystore';\n\nexport function archive(d: ProxyOr<Doc>): string {\n  return d.body;\n}\n",
    );
    expect(await semantic('archive.ts')).toEqual([]);
    expect((await semantic('app.ts')).map((d) => `${d.start.line}:${d.start.offset}`)).toEqual([`${at('app.ts', 'remote', 1).line}:${at('app.ts', 'remote', 1).offset}`]);
  }, TIMEOUT_MS);

  it('offers extract(…) and widening the parameter for TS98001; applying extract clears it', async () => {
    const site = at('app.ts', 'remote', 1);
    const fixes = await fixesAt('app.ts', site, 'remote', 98001);
    const byName = new Map(fixes.map((f) => [f.fixName, f]));
    expect([...byName.keys()].sort()).toEqual(['ts-proxystore-extract', 'ts-proxystore-widen']);
    expect(byName.get('ts-proxystore-widen')?.description).toBe("Widen parameter 'd' to ProxyOr<Doc>");
    expect(byName.get('ts-proxystore-widen')?.changes[0]?.fileName).toBe(file('model.ts'));

    await applyFix(byName.get('ts-proxystore-extract') as CodeFix);
    const text = fs.readFileSync(file('app.ts'), 'utf8');
    expect(text).toContain("import { isProxy, type Proxy, extract } from 'ts-proxystore';");
    expect(text).toContain('export const saved = save(extract(remote));');
    // No diagnostic left: neither ours nor a type error from the edit.
    expect(await semantic('app.ts')).toEqual([]);
  }, TIMEOUT_MS);

  it('the TS98004 fix hands the built-in the target, and type-checks', async () => {
    const site = at('bytes.ts', 'bytes);');
    const fixes = await fixesAt('bytes.ts', site, 'bytes', 98004);
    expect(fixes.map((f) => f.fixName)).toEqual(['ts-proxystore-target']);
    await applyFix(fixes[0] as CodeFix);
    const text = fs.readFileSync(file('bytes.ts'), 'utf8');
    expect(text).toContain('return new TextDecoder().decode((isProxy(bytes) ? extract(bytes) : bytes));');
    expect(text).toContain("import { extract, isProxy } from 'ts-proxystore';");
    expect(await semantic('bytes.ts')).toEqual([]);
  }, TIMEOUT_MS);

  it('reports a ProxyOr parameter put in a list that reaches such a built-in later where it is put in, and its fix hands over the target there', async () => {
    const site = at('parts.ts', 'body);');
    const diagnostics = await semantic('parts.ts');
    expect(diagnostics.map((d) => `${d.category} ${d.code} ${d.start.line}:${d.start.offset}`)).toEqual([`warning 98004 ${site.line}:${site.offset}`]);
    expect(diagnostics[0]?.text).toContain("'body' is ProxyOr and is put in 'parts' here, which is passed to 'new Blob'");
    const fixes = await fixesAt('parts.ts', site, 'body', 98004);
    expect(fixes.map((f) => f.fixName)).toEqual(['ts-proxystore-target']);
    await applyFix(fixes[0] as CodeFix);
    expect(fs.readFileSync(file('parts.ts'), 'utf8')).toContain('parts.push((isProxy(body) ? extract(body) : body));');
    expect(await semantic('parts.ts')).toEqual([]);
  }, TIMEOUT_MS);
});
