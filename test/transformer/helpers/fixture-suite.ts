/**
 * The fixture tests for one compiler: every fixture is built with the compiler's
 * tspc (transformer applied) and its plain tsc, then the outputs are compared
 * and run. Shared by one test file per compiler so the two run in parallel.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SourceMap } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build, buildProgrammatically, copyFixture, removeCopies, run, type Build, type Compiler, type ProgrammaticBuild } from './compilers.js';
import { lineAndColumn, markedSites, unwrap } from './emitted.js';
import { stagePackage } from './stage.js';

interface FixtureRun {
  readonly project: string;
  readonly transformed: Build;
  readonly plain: Build;
}

export interface Diagnostic {
  readonly site: string;
  readonly severity: string;
  readonly code: number;
  readonly message: string;
}

const DIAGNOSTIC_LINE = /^(src\/[^(]+)\((\d+),(\d+)\): (error|warning) TS(\d+): (.*)$|^(error|warning) TS(\d+): (.*)$/;

/** The diagnostics a compiler printed, in tsc's plain (not --pretty) format. */
export function diagnosticsOf(output: string): Diagnostic[] {
  return output.split('\n').flatMap((line) => {
    const m = DIAGNOSTIC_LINE.exec(line.trim());
    if (m === null) return [];
    return m[1] !== undefined
      ? [{ site: `${m[1]}:${m[2]}:${m[3]}`, severity: m[4] as string, code: Number(m[5]), message: m[6] as string }]
      : [{ site: '', severity: m[7] as string, code: Number(m[8]), message: m[9] as string }];
  });
}

async function buildBoth(compiler: Compiler, fixture: string, label: string): Promise<FixtureRun> {
  const project = copyFixture(await stagePackage(), fixture, label);
  const [transformed, plain] = await Promise.all([
    build(compiler, true, project, 'tsconfig.json', 'out-transformed'),
    build(compiler, false, project, 'tsconfig.json', 'out-plain'),
  ]);
  return { project, transformed, plain };
}

/** Runs a build's entry and parses the JSON it prints. */
async function execute(outDir: string): Promise<{ results: unknown; seen: Record<string, boolean[]>; keys: number; stored: number }> {
  const result = await run(path.join(outDir, 'main.js'), [], { cwd: outDir });
  expect(result.stderr, 'the emitted program writes nothing to stderr').toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as never;
}

/** Compiling eight projects at once on a busy two-core machine can take minutes; the tests themselves are quick. */
const BUILD_TIMEOUT_MS = 300_000;

export function fixtureSuite(compiler: Compiler, label: string): void {
  describe(compiler.name, () => {
    let esm: FixtureRun;
    let cjs: FixtureRun;
    let diagnosticsProject: string;
    let defaultDiagnostics: { code: number; found: Diagnostic[] };
    let programmatic: Map<string, ProgrammaticBuild>;

    beforeAll(async () => {
      const stage = await stagePackage();
      diagnosticsProject = copyFixture(stage, 'diagnostics', label);
      const variants = ['tsconfig.error.json', 'tsconfig.off.json', 'tsconfig.invalid.json'].map((c) => path.join(diagnosticsProject, c));
      let viaTspc: Build;
      [esm, cjs, viaTspc, programmatic] = await Promise.all([
        buildBoth(compiler, 'calls-esm', label),
        buildBoth(compiler, 'calls-cjs', label),
        build(compiler, true, diagnosticsProject, 'tsconfig.json', 'out'),
        (async () => {
          const callsEsm = copyFixture(stage, 'calls-esm', `${label}-programmatic`);
          return buildProgrammatically(compiler, [...variants, path.join(callsEsm, 'tsconfig.json')]);
        })(),
      ]);
      defaultDiagnostics = { code: viaTspc.code, found: diagnosticsOf(viaTspc.stdout) };
    }, BUILD_TIMEOUT_MS);
    afterAll(removeCopies);

    describe.each([
      ['ES module output', () => esm],
      ['CommonJS output', () => cjs],
    ])('%s', (_name, fixture) => {
      it('builds without diagnostics, like plain tsc', () => {
        const { transformed, plain } = fixture();
        expect(plain.code, plain.stdout).toBe(0);
        expect(transformed.stdout).toBe('');
        expect(transformed.code).toBe(0);
      });

      it('wraps exactly the marked arguments, with the configured threshold and store', () => {
        const { project, transformed } = fixture();
        const sites = [...transformed.js.values()].flatMap((js) => unwrap(js).sites);
        const wrapped = sites.filter((s) => s.fn === 'autoProxy').map((s) => s.site);
        const each = sites.filter((s) => s.fn === 'autoProxyEach').map((s) => s.site);
        expect(wrapped.sort()).toEqual(markedSites(project, 'wrap'));
        expect(each.sort()).toEqual(markedSites(project, 'each'));
        expect(new Set(sites.map((s) => `${s.threshold} ${s.store}`))).toEqual(new Set(['1000 fixture']));
      });

      it('changes nothing else: without the wrappers and the import, every file equals plain tsc output', () => {
        const { transformed, plain } = fixture();
        expect([...transformed.js.keys()].sort()).toEqual([...plain.js.keys()].sort());
        for (const [file, js] of transformed.js) expect(unwrap(js).text, file).toBe(plain.js.get(file));
      });

      it('adds exactly one runtime import to each file with wrapped arguments, and none elsewhere', () => {
        const { transformed } = fixture();
        for (const [file, js] of transformed.js) {
          const { imports, sites } = unwrap(js);
          expect(imports, file).toHaveLength(sites.length > 0 ? 1 : 0);
        }
      });

      it('runs: results equal the plain build, large arguments arrive as proxies held by the store', async () => {
        const { transformed, plain } = fixture();
        const [withProxies, without] = await Promise.all([execute(transformed.outDir), execute(plain.outDir)]);
        expect(withProxies.results).toEqual(without.results);
        expect(withProxies.keys).toBeGreaterThan(without.keys);
        expect(withProxies.stored).toBe(withProxies.keys);
        expect(Object.values(without.seen).flat().filter(Boolean)).toHaveLength(without.keys);
      });
    });

    it('ESM output imports the run time as a namespace; CommonJS output requires it', () => {
      const imports = (fixture: FixtureRun): string[] => [...fixture.transformed.js.values()].flatMap((js) => unwrap(js).imports);
      expect(new Set(imports(esm))).toEqual(new Set(['import * as __proxystore from "ts-proxystore/auto-proxy";', 'import * as __proxystore_1 from "ts-proxystore/auto-proxy";']));
      expect(new Set(imports(cjs))).toEqual(new Set(['const __proxystore = require("ts-proxystore/auto-proxy");']));
    });

    it('proxies what the ES module fixture expects at each callee', async () => {
      const { seen } = await execute(esm.transformed.outDir);
      expect(seen).toEqual({
        'new Solver': [false, true, true],
        total: [true, false, false, true, true, true, false],
        optional: [true],
        rest: [true, false],
        spread: [true, false],
        first: [true],
        overloaded: [true],
        viaAlias: [true, true, false, false, false],
        plain: [false],
        solve: [true, false, true],
        defaultTask: [true],
        task: [true, true, false, true],
      });
    });

    it('keeps source maps right: tokens after a wrapper map to where they were written', () => {
      const source = fs.readFileSync(path.join(esm.project, 'src/main.ts'), 'utf8');
      const js = esm.transformed.js.get('main.js') as string;
      const map = new SourceMap(JSON.parse(fs.readFileSync(path.join(esm.transformed.outDir, 'main.js.map'), 'utf8')) as never);
      // Walks through `new Solver(/*@wrap*/ big).solve(/*@wrap*/ big.data, 0.5)` in both texts, token by token.
      let inJs = js.indexOf('method: new Solver(');
      let inSource = source.indexOf('method: new Solver(');
      for (const token of ['Solver', 'big', 'solve', 'big', 'data', '0.5']) {
        inJs = js.indexOf(token, inJs + 1);
        inSource = source.indexOf(token, inSource + 1);
        const [line, column] = lineAndColumn(js, inJs).split(':').map(Number) as [number, number];
        const entry = map.findEntry(line - 1, column - 1) as { originalLine: number; originalColumn: number };
        expect(`${entry.originalLine + 1}:${entry.originalColumn + 1}`, token).toBe(lineAndColumn(source, inSource));
      }
    });

    it('the programmatic route (require of ts-patch/compiler) emits what tspc emits', () => {
      const emitted = programmatic.get('calls-esm/tsconfig.json');
      expect(emitted?.version).toBe(compiler.version);
      expect(emitted?.diagnostics).toEqual([]);
      expect(new Map(Object.entries(emitted?.js ?? {}))).toEqual(esm.transformed.js);
    });

    describe('diagnostics', () => {
      const reported = (tsconfig: string): readonly Diagnostic[] =>
        tsconfig === 'tsconfig.json' ? defaultDiagnostics.found : (programmatic.get(`diagnostics/${tsconfig}`)?.diagnostics ?? []);

      it('reports each proxy passed to a plainly typed parameter, and nothing else', () => {
        expect(reported('tsconfig.json').map((d) => d.site).sort()).toEqual(markedSites(diagnosticsProject, 'diag'));
        expect(new Set(reported('tsconfig.json').map((d) => `${d.severity} TS${d.code}`))).toEqual(new Set(['warning TS98001']));
      });

      it('names the function and the parameter', () => {
        const messages = reported('tsconfig.json').map((d) => d.message);
        expect(messages).toContain(
          "Proxy<Doc> is passed to parameter 'd' of 'Repository.put', which is typed 'Doc', not ProxyOr<Doc>. Annotate the parameter ProxyOr<Doc> if the function works on proxies, or pass extract(...) to hand over the target itself.",
        );
        expect(messages.filter((m) => m.includes("parameter 'initial' of 'new Repository'"))).toHaveLength(1);
        expect(messages.filter((m) => m.includes("parameter 'ds' of 'saveAll', which is typed 'Doc'"))).toHaveLength(1);
      });

      it('is configurable: error, warning (default) or off', () => {
        const error = reported('tsconfig.error.json');
        expect(new Set(error.map((d) => `${d.severity} TS${d.code}`))).toEqual(new Set(['error TS98001']));
        expect(error.map((d) => d.site)).toEqual(reported('tsconfig.json').map((d) => d.site));
        expect(reported('tsconfig.off.json')).toEqual([]);
        // Warnings do not fail the build: tsc would exit 2 for any diagnostic handed to it, so they are printed instead.
        expect(defaultDiagnostics.code).toBe(0);
      });

      it('reports invalid options as TS98002 and carries on with the defaults', () => {
        const invalid = reported('tsconfig.invalid.json').filter((d) => d.code === 98002);
        expect(invalid.map((d) => d.message).sort()).toEqual([
          "ts-proxystore/transformer: 'diagnostics' must be one of 'error', 'warning', 'off', got \"loud\"; using 'warning'.",
          "ts-proxystore/transformer: 'threshold' must be a non-negative number of bytes, got -5; using 100000.",
          "ts-proxystore/transformer: unknown option 'bogus' ignored (known: threshold, store, exclude, diagnostics, submitApis, defaultSubmitApis).",
        ]);
        expect(invalid.every((d) => d.severity === 'error')).toBe(true);
        expect(reported('tsconfig.invalid.json').filter((d) => d.code === 98001)).toHaveLength(reported('tsconfig.json').length);
      });
    });
  });
}
