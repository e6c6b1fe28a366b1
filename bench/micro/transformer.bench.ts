/**
 * Build time of a generated 200-file project: plain tsc against tspc with the
 * ts-proxystore transformer (same TypeScript 6). Goal (issue 5): under 15%.
 * Two more rows: tspc with no plugin separates ts-patch's own start-up cost
 * (patching the compiler in memory on every run) from the transformer's, and a
 * TypeScript patched once with `ts-patch install` shows the transformer
 * without that start-up cost.
 *
 *   node dist/bench/micro/transformer.bench.js [--package <dir>] [--compare <dir>] [--reps N]
 *
 * The package directory must hold a built dist/ and a package.json exporting
 * ./transformer and ./auto-proxy; default: this repository. `--compare` adds a
 * row for tspc with another build's transformer (say, a copy of the previous
 * commit's package), timed in the same rounds, so a change to the transformer
 * is measured side by side on a loaded machine.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { median, timeMany } from '../timing.js';

const FILES = 200;
const GOAL = 0.15;

function repoRoot(): string {
  for (let dir = import.meta.dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'node_modules/ts-patch'))) return dir;
    if (path.dirname(dir) === dir) throw new Error('run from within the ts-proxystore repository (node_modules/ts-patch not found)');
  }
}

const { values } = parseArgs({ options: { package: { type: 'string' }, compare: { type: 'string' }, reps: { type: 'string', default: '5' } } });
const root = repoRoot();
const packageDir = path.resolve(values.package ?? root);
const compareDir = values.compare === undefined ? undefined : path.resolve(values.compare);
const reps = Number(values.reps);

/** The kernels every module calls: half take ProxyOr (wrapped), half plain types (left alone, but still checked). */
function modelFile(): string {
  return `import type { ProxyOr } from 'ts-proxystore';

export interface Grid { readonly width: number; readonly height: number; readonly cells: Float64Array }
export interface Series { readonly name: string; readonly points: readonly { t: number; v: number }[] }

export function grid(width: number, height: number): Grid {
  return { width, height, cells: new Float64Array(width * height) };
}
export function smooth(g: ProxyOr<Grid>, passes: number): number {
  let total = 0;
  for (let p = 0; p < passes; p++) for (const c of g.cells) total += c;
  return total;
}
export function integrate(s: ProxyOr<Series>, from?: number): number {
  return s.points.filter((p) => p.t >= (from ?? 0)).reduce((a, p) => a + p.v, 0);
}
export function merge(...all: ProxyOr<Series>[]): Series {
  return { name: all.map((s) => s.name).join('+'), points: all.flatMap((s) => s.points) };
}
export function label(s: Series): string {
  return \`\${s.name}:\${s.points.length}\`;
}
export function area(g: Grid): number {
  return g.width * g.height;
}
`;
}

function moduleFile(i: number): string {
  const deps = [i - 1, i - 7].filter((d) => d >= 0);
  return `import { area, grid, integrate, label, merge, smooth, type Grid, type Series } from './model.js';
${deps.map((d) => `import { Worker${d}, summarize${d} } from './module${d}.js';`).join('\n')}

export interface Options${i} { readonly passes: number; readonly from?: number; readonly tags: readonly string[] }

export function summarize${i}(series: Series, options: Options${i}): string {
  const total = integrate(series, options.from);
  const tagged = options.tags.map((tag) => \`\${tag}=\${total.toFixed(2)}\`).join(',');
  return \`\${label(series)} [\${tagged}]\`;
}

export class Worker${i} {
  readonly #grid: Grid;
  #runs = 0;

  constructor(width: number, height: number) {
    this.#grid = grid(width, height);
  }

  run(options: Options${i}): number {
    this.#runs++;
    return smooth(this.#grid, options.passes) + area(this.#grid);
  }

  combine(a: Series, b: Series): Series {
    const merged = merge(a, b);
    return { ...merged, name: \`\${merged.name}#\${this.#runs}\` };
  }

  get runs(): number {
    return this.#runs;
  }
}

export function pipeline${i}(inputs: readonly Series[]): readonly string[] {
  const worker = new Worker${i}(${8 + (i % 5)}, ${4 + (i % 3)});
  const options: Options${i} = { passes: ${1 + (i % 3)}, tags: ['a${i}', 'b${i}'] };
  const results: string[] = [];
  for (const [index, series] of inputs.entries()) {
    const combined = index > 0 ? worker.combine(series, inputs[index - 1] as Series) : series;
    results.push(summarize${i}(combined, options), String(worker.run(options)));
  }
${deps.map((d) => `  results.push(summarize${d}(merge(...inputs), { passes: 1, tags: [] }), String(new Worker${d}(2, 2).run({ passes: 1, tags: [] })));`).join('\n')}
  return results;
}
`;
}

function generate(dir: string, pkg: string): void {
  fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(pkg, path.join(dir, 'node_modules/ts-proxystore'));
  fs.symlinkSync(path.join(root, 'node_modules/@types'), path.join(dir, 'node_modules/@types'));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ private: true, type: 'module' }));
  const compilerOptions = {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    rootDir: 'src',
    types: ['node'],
    skipLibCheck: true,
    sourceMap: true,
  };
  const config = (outDir: string, plugins: object[]): string => JSON.stringify({ compilerOptions: { ...compilerOptions, outDir, plugins }, include: ['src'] });
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), config('out-tsc', []));
  fs.writeFileSync(path.join(dir, 'tsconfig.tspc.json'), config('out-tspc', []));
  fs.writeFileSync(path.join(dir, 'tsconfig.transformer.json'), config('out-transformer', [{ transform: 'ts-proxystore/transformer', threshold: 100000 }]));
  fs.writeFileSync(path.join(dir, 'src/model.ts'), modelFile());
  for (let i = 0; i < FILES - 1; i++) fs.writeFileSync(path.join(dir, `src/module${i}.ts`), moduleFile(i));
}

const exec = promisify(execFile);

/**
 * Preloaded into each compiler process to report its own CPU time at exit:
 * on a shared machine wall time swings with other load, CPU time much less.
 */
const CPU_REPORTER = "process.on('exit', () => { const u = process.cpuUsage(); process.stderr.write(`cpu-ms ${(u.user + u.system) / 1000}\\n`); });";

interface Timing {
  readonly wall: number[];
  readonly cpu: number[];
}

/** One build; the compiler's CPU time goes to `cpu`. */
function compile(dir: string, bin: string, tsconfig: string, cpu: number[]): () => Promise<void> {
  return async () => {
    const { stderr } = await exec(process.execPath, ['--require', path.join(dir, 'cpu-reporter.cjs'), bin, '-p', path.join(dir, tsconfig)], { cwd: dir });
    cpu.push(Number(/cpu-ms ([\d.]+)/.exec(stderr)?.[1]));
  };
}

const row = (name: string, ms: readonly number[], base: number): string => {
  const m = median(ms);
  return `${name.padEnd(20)} ${(m / 1000).toFixed(2).padStart(7)} ${(Math.min(...ms) / 1000).toFixed(2).padStart(7)}   ${base === m ? '' : `${(((m - base) / base) * 100).toFixed(1)}%`}`;
};

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'transformer-bench-'));
try {
  generate(dir, packageDir);
  fs.writeFileSync(path.join(dir, 'cpu-reporter.cjs'), CPU_REPORTER);
  // The same project once more, its node_modules holding the other build.
  const compared = path.join(dir, 'compare');
  if (compareDir !== undefined) {
    generate(compared, compareDir);
    fs.writeFileSync(path.join(compared, 'cpu-reporter.cjs'), CPU_REPORTER);
  }
  // `ts-patch install` patches a TypeScript in place, so a copy of it, never the repository's own.
  const patched = path.join(dir, 'typescript-patched');
  fs.cpSync(path.join(root, 'node_modules/typescript'), patched, { recursive: true });
  await exec(process.execPath, [path.join(root, 'node_modules/ts-patch/bin/ts-patch.js'), 'install', '--dir', patched], { cwd: dir });
  const tool = (bin: string): string => path.join(root, 'node_modules', bin);
  const cases: (readonly [name: string, bin: string, tsconfig: string, project: string])[] = [
    ['plain tsc', tool('typescript/bin/tsc'), 'tsconfig.json', dir],
    ['tspc, no plugin', tool('ts-patch/bin/tspc.js'), 'tsconfig.tspc.json', dir],
    ['tspc + transformer', tool('ts-patch/bin/tspc.js'), 'tsconfig.transformer.json', dir],
    ['installed + transf.', path.join(patched, 'bin/tsc'), 'tsconfig.transformer.json', dir],
  ];
  if (compareDir !== undefined) cases.push(['tspc + compared', tool('ts-patch/bin/tspc.js'), 'tsconfig.transformer.json', compared]);
  const cpu = cases.map((): number[] => []);
  const wall = await timeMany(
    cases.map(([, bin, tsconfig, project], i) => compile(project, bin, tsconfig, cpu[i] as number[])),
    reps,
    1,
  );
  // The warm-up run's CPU time is dropped like its wall time.
  for (const samples of cpu) samples.shift();
  const timings = wall.map((samples, i): Timing => ({ wall: samples, cpu: cpu[i] as number[] }));

  const wrapped = fs
    .readdirSync(path.join(dir, 'out-transformer'))
    .filter((file) => file.endsWith('.js'))
    .reduce((n, file) => n + (fs.readFileSync(path.join(dir, 'out-transformer', file), 'utf8').match(/\.autoProxy(Each)?\(/g)?.length ?? 0), 0);
  console.log(`Build of a generated ${FILES}-file project (TypeScript 6.0, ts-patch 4), median of ${reps}; ${wrapped} arguments wrapped`);
  for (const measure of ['wall', 'cpu'] as const) {
    const base = median((timings[0] as Timing)[measure]);
    console.log(`\n${measure === 'wall' ? 'wall time' : 'CPU time of the compiler process'}     median s   min s   vs plain tsc`);
    for (const [i, [name]] of cases.entries()) console.log(row(name, (timings[i] as Timing)[measure], base));
    const [, tspc, transformer, , other] = timings.map((t) => median(t[measure])) as [number, number, number, number, number | undefined];
    const overhead = (transformer - base) / base;
    console.log(`transformer alone (vs tspc, no plugin): ${(((transformer - tspc) / tspc) * 100).toFixed(1)}%`);
    if (other !== undefined) console.log(`compared build's transformer alone: ${(((other - tspc) / tspc) * 100).toFixed(1)}%; this build / compared: ${(transformer / other).toFixed(3)}x`);
    console.log(`overhead vs plain tsc: ${(overhead * 100).toFixed(1)}% (goal < ${GOAL * 100}%: ${overhead < GOAL ? 'ok' : 'over goal'})`);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
