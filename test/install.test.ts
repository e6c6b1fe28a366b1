/**
 * Installing next to its neighbours: the packed tarball in fresh projects
 * beside TypeScript 7 alone, and beside TypeScript 5.9 with ts-patch 3 (the
 * transformer applied by `tspc`, and a CommonJS consumer), each compiled with
 * `skipLibCheck: false` and run. The README's own walk-through (piscina,
 * bullmq + ioredis 5, eslint, TypeScript 6) is test/examples.test.ts. publint
 * and arethetypeswrong check the tarball itself.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, pack, packageJson, project, repoRoot, runIn, type Packed } from './helpers/packed.js';

const dev = packageJson.devDependencies;
/** The exact version the repository tests with, e.g. 'typescript@7.0.2' for its dev alias `typescript7: npm:typescript@7.0.2`. */
const aliased = (alias: string): string => dev[alias]!.replace(/^npm:/, '');
let packed: Packed;

beforeAll(() => {
  packed = pack('install-test-');
});
afterAll(() => packed?.remove());

const tsconfig = (extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ compilerOptions: { target: 'es2022', module: 'nodenext', strict: true, skipLibCheck: false, rootDir: 'src', outDir: 'dist', ...extra } });

describe('next to typescript@7', () => {
  const main = `import { MemoryConnector, Store, extract, isProxy, type Proxy, type ProxyOr } from 'ts-proxystore';

function total(values: ProxyOr<Float64Array>): number {
  const plain: Float64Array = isProxy(values) ? extract(values) : values;
  return plain.reduce((a, b) => a + b, 0);
}

await using store = new Store('ts7', new MemoryConnector());
const p: Proxy<Float64Array> = await store.proxy(Float64Array.from([1, 2, 3]));
console.log(total(p), total(new Float64Array([4])));
`;

  it('installs (the typescript peer range admits 7), type-checks with tsc 7 and runs', async () => {
    const dir = await project(packed, 'ts7', [aliased('typescript7')], { 'tsconfig.json': tsconfig(), 'src/main.ts': main });
    const version = JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', 'typescript', 'package.json'), 'utf8')) as { version: string };
    expect(version.version).toMatch(/^7\./);
    // @types/node is a peer: npm installs it, and the declarations' reference to it resolves although TS 7 loads no @types by default.
    expect(fs.existsSync(path.join(dir, 'node_modules', '@types', 'node'))).toBe(true);
    const built = await runIn(dir, bin(dir, 'tsc'), ['-p', '.']);
    expect(`${built.stdout}${built.code === 0 ? '' : built.stderr}`).toBe('');
    const ran = await runIn(dir, process.execPath, ['dist/main.js']);
    expect(ran.stdout).toBe('6 4\n');
  }, 180_000);
});

describe('next to typescript@5.9 and ts-patch@3', () => {
  let dir: string;
  beforeAll(async () => {
    const main = `import { MemoryConnector, Store, configureAutoProxy, isProxy, type ProxyOr } from 'ts-proxystore';

/** Kept where other code reaches it, so the value may leave the call: calls of kind are wrapped. */
export let last: unknown;

export function kind(values: ProxyOr<Float64Array>): string {
  last = values;
  return isProxy(values) ? 'proxy' : 'value';
}

configureAutoProxy({ store: new Store('auto', new MemoryConnector()) });
console.log(kind(new Float64Array(100_000)), kind(new Float64Array(4)));
`;
    dir = await project(packed, 'ts59', [aliased('typescript5'), aliased('ts-patch3'), `@types/node@${dev['@types/node']}`], {
      'tsconfig.json': tsconfig({ types: ['node'], plugins: [{ transform: 'ts-proxystore/transformer', threshold: 100_000 }] }),
      'src/main.ts': main,
    });
  }, 180_000);

  it('tspc applies the transformer: a large argument to a ProxyOr parameter arrives as a proxy', async () => {
    const built = await runIn(dir, process.execPath, [bin(dir, 'tspc'), '-p', '.'], { timeoutMs: 120_000 });
    expect(`${built.stdout}${built.code === 0 ? '' : built.stderr}`).toBe('');
    expect(fs.readFileSync(path.join(dir, 'dist', 'main.js'), 'utf8')).toContain('autoProxy(new Float64Array(100_000)');
    const ran = await runIn(dir, process.execPath, ['dist/main.js']);
    expect(ran.stdout).toBe('proxy value\n');
  }, 180_000);

  it('a CommonJS consumer (module node16) type-imports with resolution-mode, as the README says, and require() loads the package', async () => {
    const check = `import type { ProxyOr } from 'ts-proxystore' with { 'resolution-mode': 'import' };
const { MemoryConnector, Store, extract } = require('ts-proxystore') as typeof import('ts-proxystore', { with: { 'resolution-mode': 'import' } });

export function size(value: ProxyOr<Float64Array>): number {
  return extract(value).length;
}
void new Store('cjs', new MemoryConnector()).proxy(new Float64Array(3)).then((p) => console.log(size(p)));
`;
    fs.mkdirSync(path.join(dir, 'cjs'));
    fs.writeFileSync(path.join(dir, 'cjs', 'check.cts'), check);
    const cjsConfig = (module: string): string =>
      JSON.stringify({ compilerOptions: { target: 'es2022', module, strict: true, types: ['node'], skipLibCheck: false, rootDir: '.', outDir: '../dist-cjs' } });
    fs.writeFileSync(path.join(dir, 'cjs', 'tsconfig.json'), cjsConfig('node16'));
    const built = await runIn(dir, process.execPath, [bin(dir, 'tsc'), '-p', 'cjs']);
    expect(`${built.stdout}${built.code === 0 ? '' : built.stderr}`).toBe('');
    const ran = await runIn(dir, process.execPath, ['dist-cjs/check.cjs']);
    expect(ran.stdout).toBe('3\n');
    // Without the attribute node16 refuses the import (TS1541); nodenext (TypeScript 5.8+) accepts it as it is.
    fs.writeFileSync(path.join(dir, 'cjs', 'check.cts'), check.replace(" with { 'resolution-mode': 'import' };", ';'));
    const plain = await runIn(dir, process.execPath, [bin(dir, 'tsc'), '-p', 'cjs']);
    expect(plain.stdout).toContain('TS1541');
    fs.writeFileSync(path.join(dir, 'cjs', 'tsconfig.json'), cjsConfig('nodenext'));
    const next = await runIn(dir, process.execPath, [bin(dir, 'tsc'), '-p', 'cjs']);
    expect(`${next.stdout}${next.code === 0 ? '' : next.stderr}`).toBe('');
  }, 120_000);
});

describe('next to ioredis@6.1.0', () => {
  const main = `import { Store } from 'ts-proxystore';
import { RedisConnector } from 'ts-proxystore/connectors/redis';
import { StreamConsumer } from 'ts-proxystore/stream';
import { RedisStreamSubscriber } from 'ts-proxystore/stream/redis';

const store = new Store('objects', new RedisConnector({ host: '127.0.0.1', port: 6379 }));
const consumer = new StreamConsumer<Float64Array>(new RedisStreamSubscriber('frames', { connection: { host: '127.0.0.1', port: 6379, lazyConnect: true }, group: 'g' }), { releaseItems: true });
console.log(store.name, typeof consumer.close);
await consumer.close();
await store.close();
`;

  // ioredis 6.1 re-exports its error classes from its entry, whose declarations import 'redis-errors', a package without types of its own.
  it("type-checks a strict project importing the Redis entries with skipLibCheck false: the package brings redis-errors' types", async () => {
    const dir = await project(packed, 'ioredis61', ['ioredis@6.1.0', `typescript@${dev.typescript}`, `@types/node@${dev['@types/node']}`], {
      'tsconfig.json': tsconfig({ types: ['node'] }),
      'src/main.ts': main,
    });
    const built = await runIn(dir, bin(dir, 'tsc'), ['-p', '.']);
    expect(`${built.stdout}${built.code === 0 ? '' : built.stderr}`).toBe('');
    const ran = await runIn(dir, process.execPath, ['dist/main.js']);
    expect(ran.stdout).toBe('objects function\n');
  }, 180_000);
});

describe('the tarball passes the packaging linters', () => {
  it('publint reports nothing', async () => {
    const ran = await runIn(repoRoot, process.execPath, [path.join(repoRoot, 'node_modules', 'publint', 'src', 'cli.js'), '--strict', packed.tarball]);
    expect(ran.code, `${ran.stdout}${ran.stderr}`).toBe(0);
    expect(ran.stdout).toContain('All good!');
  });

  it('arethetypeswrong finds no problem for an ES-module-only package', async () => {
    // esm-only: node10 (no exports support) and require() under node16 are not targets; README says how CommonJS consumers import.
    const ran = await runIn(repoRoot, process.execPath, [path.join(repoRoot, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js'), '--profile', 'esm-only', '--format', 'json', packed.tarball]);
    const report = JSON.parse(ran.stdout) as { analysis: { problems: { kind: string; entrypoint: string; resolutionKind?: string }[] } };
    const outOfProfile = new Set(['node10', 'node16-cjs']);
    expect(report.analysis.problems.filter((p) => !outOfProfile.has(p.resolutionKind ?? ''))).toEqual([]);
    expect(ran.code, ran.stderr).toBe(0);
  });
});
