/**
 * The `ts-proxystore:transformer` debug log, from a real build: tspc compiles
 * a fixture project against the staged package, as a user's build would.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TS6, run, copyFixture, removeCopies } from '../transformer/helpers/compilers.js';
import { markedSites } from '../transformer/helpers/emitted.js';
import { stagePackage, type Stage } from '../transformer/helpers/stage.js';

const BUILD_TIMEOUT_MS = 240_000;

let stage: Stage;
beforeAll(async () => {
  stage = await stagePackage();
}, BUILD_TIMEOUT_MS);
afterAll(removeCopies);

/** Builds the calls-esm fixture with tspc under `env`; what it printed on stderr, and the project. */
async function build(env: Record<string, string>): Promise<{ project: string; stderr: string; code: number }> {
  const project = copyFixture(stage, 'calls-esm', 'log');
  const { code, stderr } = await run(TS6.tspc, ['-p', 'tsconfig.json', '--outDir', path.join(project, 'out')], { cwd: project, env: { ...TS6.env, ...env } });
  return { project, stderr, code };
}

describe('the transformer’s debug log', () => {
  it('with DEBUG=ts-proxystore:transformer names every wrapped argument (file:line:column, callee, parameter) and each file’s time', async () => {
    const { project, stderr, code } = await build({ DEBUG: 'ts-proxystore:transformer', PROXYSTORE_DEBUG: '' });
    expect(code).toBe(0);
    const lines = stderr.split('\n').filter((line) => line.includes('ts-proxystore:transformer'));
    const wraps = lines.map((line) => / (src\/\S+:\d+:\d+) wrapped (the value|each item): argument of (.+), parameter (\S+)$/.exec(line)).filter((m) => m !== null);

    // Exactly the arguments the fixture marks as wrapped, each once.
    expect(wraps.filter((m) => m[2] === 'the value').map((m) => m[1]).sort()).toEqual(markedSites(project, 'wrap'));
    expect(wraps.filter((m) => m[2] === 'each item').map((m) => m[1]).sort()).toEqual(markedSites(project, 'each'));
    // The callee and the parameter, as the source names them: `total(m: ProxyOr<Matrix>, scale)`, `new Solver(m)`, `all(label, ...ms)`.
    const named = wraps.map((m) => `${m[3]} → ${m[4]}`);
    expect(named).toContain('total → m');
    expect(named).toContain('new Solver → m');
    expect(named).toContain('all → ms');

    // One line per transformed file with its time; the count agrees with the lines above, and excluded files never show.
    const perFile = new Map(lines.flatMap((line) => {
      const m = / (src\/\S+): wrapped (\d+) argument\(s\) in (\d+\.\d{3}) ms$/.exec(line);
      return m === null ? [] : [[m[1] as string, Number(m[2])] as const];
    }));
    expect(perFile.get('src/main.ts')).toBe(wraps.filter((m) => m[1]!.startsWith('src/main.ts:')).length);
    expect(lines.some((line) => / src\/model\.ts: nothing to wrap, in \d+\.\d{3} ms$/.test(line))).toBe(true);
    expect(lines.some((line) => line.includes('src/excluded/'))).toBe(false);
  }, BUILD_TIMEOUT_MS);

  it('prints nothing unless asked', async () => {
    const { stderr, code } = await build({ DEBUG: '', PROXYSTORE_DEBUG: '' });
    expect(code).toBe(0);
    expect(stderr).not.toContain('ts-proxystore');
  }, BUILD_TIMEOUT_MS);
});
