/**
 * ProxyOr parameters handed to built-ins that need the real object. Wrapping
 * their calls would change results (a proxy of a Uint8Array is not a typed
 * array to Blob, TextDecoder, Response, ArrayBuffer.isView), so the
 * transformer reports TS98004 at each such use and leaves the calls alone;
 * once the function hands over the target (`isProxy(p) ? extract(p) : p`),
 * its calls are wrapped again.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TS5, TS6, build, copyFixture, removeCopies, run, type Build } from './helpers/compilers.js';
import { markedSites, unwrap } from './helpers/emitted.js';
import { diagnosticsOf, type Diagnostic } from './helpers/fixture-suite.js';
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
  let reported: Diagnostic[];

  beforeAll(async () => {
    project = copyFixture(await stagePackage(), 'natives', `natives-${label}`);
    [transformed, plain] = await Promise.all([build(compiler, true, project, 'tsconfig.json', 'out-transformed'), build(compiler, false, project, 'tsconfig.json', 'out-plain')]);
    reported = diagnosticsOf(transformed.stdout);
  }, BUILD_TIMEOUT_MS);

  it('reports each ProxyOr parameter handed to such a built-in as TS98004, a warning that does not fail the build', () => {
    expect(plain.code, plain.stdout).toBe(0);
    expect(reported.map((d) => d.site).sort()).toEqual(markedSites(project, 'native'));
    expect(new Set(reported.map((d) => `${d.severity} TS${d.code}`))).toEqual(new Set(['warning TS98004']));
    expect(transformed.code).toBe(0);
  });

  it('names the parameter, the built-in, what it needs and the fix', () => {
    expect(reported.map((d) => d.message)).toContain(
      "'body' is ProxyOr and is passed to 'new Blob', which needs a list of real ArrayBufferView objects (its parameter is typed 'BlobPart[]'); a proxy is not one (the built-in throws or reads it wrongly), so calls of 'getBodySize' pass 'body' as it is, without autoProxy. Pass the target here (isProxy(body) ? extract(body) : body) to have them wrapped.",
    );
    expect(reported.find((d) => d.message.startsWith("'value'"))?.message).toContain("calls of 'isBinary'");
    expect(reported.map((d) => d.message)).toContain(
      "'body' is ProxyOr and is passed to 'sizeOf', whose parameter 'bytes' goes to 'new Blob', which needs a list of real ArrayBufferView objects (its parameter is typed 'BlobPart[]'); a proxy is not one (the built-in throws or reads it wrongly), so calls of 'helperSize' pass 'body' as it is, without autoProxy. Pass the target here (isProxy(body) ? extract(body) : body) to have them wrapped.",
    );
    expect(reported.map((d) => d.message)).toContain(
      "'body' is ProxyOr and is put in 'parts' here, which is passed to 'new Blob', which needs a list of real ArrayBufferView objects (its parameter is typed 'BlobPart[]'); a proxy is not one (the built-in throws or reads it wrongly), so calls of 'getPartsSize' pass 'body' as it is, without autoProxy. Pass the target here (isProxy(body) ? extract(body) : body) to have them wrapped.",
    );
  });

  it('wraps only the calls of the function that hands over the target', () => {
    const sites = [...transformed.js.values()].flatMap((js) => unwrap(js).sites.map((s) => s.site));
    expect(sites.sort()).toEqual(markedSites(project, 'wrap'));
  });

  it('the program computes what the plain build computes', async () => {
    const outputs = await Promise.all(
      [transformed, plain].map(async (b) => {
        const result = await run(path.join(b.outDir, 'main.js'), [], { cwd: b.outDir });
        expect(result.stderr).toBe('');
        return JSON.parse(result.stdout) as { results: Record<string, unknown>; keptProxy: boolean };
      }),
    );
    const [withTransform, without] = outputs as [(typeof outputs)[0], (typeof outputs)[0]];
    expect(withTransform.results).toEqual({ size: 200_000, parts: 200_000, pushed: 200_010, text: 200_000, copy: 200_000, helper: 200_000, binary: true, response: 200_000, kept: 200_000, narrowed: 200_000, afterReturn: 200_000, through: 200_000, halfNarrowed: 200_000 });
    expect(withTransform.results).toEqual(without.results);
    // The wrapped calls did hand over proxies.
    expect(withTransform.keptProxy).toBe(true);
    expect(without.keptProxy).toBe(false);
  });
});
