/**
 * Wrapping only what crosses a boundary: the transformer follows a ProxyOr
 * parameter into the callee's body, and leaves a call as plain tsc writes it
 * when the value never leaves the process there. Built with tspc and plain tsc
 * (TypeScript 6) from test/transformer/fixtures/escape, whose sources mark
 * every call that must be wrapped with `/*@wrap*\/`.
 */
import path from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { whyNotWrapped } from '../../transformer/index.js';
import { TS5, TS6, build, copyFixture, removeCopies, run, type Build } from './helpers/compilers.js';
import { markedSites, unwrap } from './helpers/emitted.js';
import { stagePackage } from './helpers/stage.js';

const BUILD_TIMEOUT_MS = 300_000;

let project: string;
let transformed: Build;
let plain: Build;
/** The same project through TypeScript 5.9 and ts-patch 3. */
let transformed5: Build;

beforeAll(async () => {
  project = copyFixture(await stagePackage(), 'escape', 'escape');
  [transformed, plain, transformed5] = await Promise.all([
    build(TS6, true, project, 'tsconfig.json', 'out-transformed'),
    build(TS6, false, project, 'tsconfig.json', 'out-plain'),
    build(TS5, true, project, 'tsconfig.json', 'out-transformed-ts5'),
  ]);
}, BUILD_TIMEOUT_MS);
afterAll(removeCopies);

async function execute(outDir: string): Promise<{ local: unknown; sending: unknown; seen: Record<string, boolean[]>; sent: number }> {
  const result = await run(path.join(outDir, 'main.js'), [], { cwd: outDir });
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout) as never;
}

describe('calls to ProxyOr parameters', () => {
  it('builds without diagnostics, like plain tsc', () => {
    expect(plain.code, plain.stdout).toBe(0);
    expect(transformed.stdout).toBe('');
    expect(transformed.code).toBe(0);
  });

  it('wraps exactly the calls whose callee may let the value leave the process, under TypeScript 6 and 5', () => {
    for (const build of [transformed, transformed5]) {
      expect(build.code, build.stdout).toBe(0);
      const sites = [...build.js.values()].flatMap((js) => unwrap(js).sites.map((s) => s.site));
      expect(sites.sort()).toEqual(markedSites(project, 'wrap'));
    }
  });

  it('leaves a file whose calls all go to local-only callees byte for byte as plain tsc emits it, without the runtime import', () => {
    expect(transformed.js.get('local.js')).toBe(plain.js.get('local.js'));
    expect(transformed.js.get('local.js')).toMatch(/sumFrom\(values, start \+ 1\)/);
    for (const [file, js] of transformed.js) expect(unwrap(js).text, file).toBe(plain.js.get(file));
  });

  it('runs: results equal the plain build; local-only callees get the value itself', async () => {
    const [withTransform, without] = await Promise.all([execute(transformed.outDir), execute(plain.outDir)]);
    expect(withTransform.local).toEqual(without.local);
    expect(withTransform.sending).toEqual(without.sending);
    expect(withTransform.seen).toEqual({ mean: [false, false] });
    expect(withTransform.sent).toBe(2);
  });
});

describe('whyNotWrapped (for editors)', () => {
  let program: ts.Program;
  let main: ts.SourceFile;
  beforeAll(() => {
    const configFile = path.join(project, 'tsconfig.json');
    const parsed = ts.getParsedCommandLineOfConfigFile(configFile, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
    if (parsed === undefined) throw new Error(`cannot read ${configFile}`);
    program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
    main = program.getSourceFile(path.join(project, 'src/main.ts')) as ts.SourceFile;
  });

  function callOf(text: string): ts.CallExpression | ts.NewExpression {
    let found: ts.CallExpression | ts.NewExpression | undefined;
    const visit = (node: ts.Node): void => {
      if (found === undefined && (ts.isCallExpression(node) || ts.isNewExpression(node)) && node.getText(main) === text) found = node;
      ts.forEachChild(node, visit);
    };
    visit(main);
    if (found === undefined) throw new Error(`no call ${text} in main.ts`);
    return found;
  }

  it('says the value never leaves this process, naming the callee and the parameter', () => {
    const [reason] = whyNotWrapped(ts, program, callOf('mean(big)'));
    expect(reason?.index).toBe(0);
    expect(reason?.reason).toBe("never leaves this process: 'mean' only uses 'data' here, so it gets the value itself");
    expect(whyNotWrapped(ts, program, callOf('new Stats(big)')).map((r) => r.reason)).toEqual([
      "never leaves this process: 'new Stats' only uses 'data' here, so it gets the value itself",
    ]);
    expect(whyNotWrapped(ts, program, callOf('shapes(big, big)')).map((r) => r.index)).toEqual([0, 1]);
  });

  it('has nothing to say about calls that are wrapped', () => {
    for (const call of ['encodes(/*@wrap*/ big)', 'transitively(/*@wrap*/ big)', 'recursive(/*@wrap*/ big, 3)', 'dynamic(/*@wrap*/ big)']) {
      expect(whyNotWrapped(ts, program, callOf(call)), call).toEqual([]);
    }
  });
});
