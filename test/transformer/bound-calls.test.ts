/**
 * `f.call(thisArg, …)` and `f.apply(thisArg, […])` of an annotated function
 * are wrapped like `f(…)`: the arguments (or the list's elements) that land in
 * ProxyOr parameters get autoProxy; everything else stays as plain tsc writes it.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TS5, TS6, build, copyFixture, removeCopies, run, type Build } from './helpers/compilers.js';
import { markedSites, unwrap } from './helpers/emitted.js';
import { stagePackage } from './helpers/stage.js';

const BUILD_TIMEOUT_MS = 300_000;

afterAll(removeCopies);

describe.each([
  [TS6.name, TS6, 'ts6'],
  [TS5.name, TS5, 'ts5'],
] as const)('%s', (_name, compiler, label) => {
  let project: string;
  let transformed: Build;
  let plain: Build;

  beforeAll(async () => {
    project = copyFixture(await stagePackage(), 'bound', `bound-${label}`);
    [transformed, plain] = await Promise.all([build(compiler, true, project, 'tsconfig.json', 'out-transformed'), build(compiler, false, project, 'tsconfig.json', 'out-plain')]);
  }, BUILD_TIMEOUT_MS);

  it('wraps the marked arguments of call and apply, and list elements one by one', () => {
    expect(transformed.stdout).toBe('');
    expect(transformed.code).toBe(0);
    const sites = [...transformed.js.values()].flatMap((js) => unwrap(js).sites);
    expect(sites.filter((s) => s.fn === 'autoProxy').map((s) => s.site).sort()).toEqual(markedSites(project, 'wrap'));
    expect(sites.filter((s) => s.fn === 'autoProxyEach').map((s) => s.site)).toEqual(markedSites(project, 'each'));
  });

  it('changes nothing else', () => {
    for (const [file, js] of transformed.js) expect(unwrap(js).text, file).toBe(plain.js.get(file));
  });

  it('the callees receive proxies for large values, with the same results', async () => {
    const [withProxies, without] = await Promise.all(
      [transformed, plain].map(async (b) => {
        const result = await run(path.join(b.outDir, 'main.js'), [], { cwd: b.outDir });
        expect(result.stderr).toBe('');
        return JSON.parse(result.stdout) as { results: unknown; seen: Record<string, boolean[]> };
      }),
    );
    expect(withProxies?.results).toEqual(without?.results);
    expect(withProxies?.seen).toEqual({ both: [true, false, true, true], all: [true, true], method: [true], named: [true] });
    expect(Object.values(without?.seen ?? {}).flat().some(Boolean)).toBe(false);
  });
});
