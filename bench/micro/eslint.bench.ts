/**
 * What this package's lint rules add to linting time, on a generated 200-file
 * project: typescript-eslint's `recommendedTypeChecked` alone, then with
 * `ts-proxystore/eslint-plugin`'s `strict` config added.
 *
 * Two projects, the same code: one never imports ts-proxystore (most
 * projects a shared ESLint config reaches; the rules must cost nothing there,
 * goal ≤ 3%), one whose every file uses proxies (goal ≤ 10%).
 *
 * Each measurement runs in a fresh process, as `eslint` on a command line does,
 * and counts the CPU time of the whole process up to the end of the first lint:
 * loading ESLint, typescript-eslint and (in the second variant) the plugin,
 * building the TypeScript program, and linting. CPU time is disturbed less
 * than wall time by other load on the machine; variants alternate so drift
 * hits both alike. On a busy machine, run more repetitions.
 *
 *   npm run build && node dist/bench/micro/eslint.bench.js [repetitions=5]
 *   node dist/bench/micro/eslint.bench.js --generate proxies|plain   (writes one project, prints its path)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { packageInfo } from '../../src/analysis/package-files.js';
import { median } from '../timing.js';

const VARIANTS = ['recommendedTypeChecked', '+ ts-proxystore strict'] as const;
type Variant = (typeof VARIANTS)[number];
const PROJECTS = ['no proxies', 'proxies'] as const;
type ProjectKind = (typeof PROJECTS)[number];
const GOALS: Record<ProjectKind, number> = { 'no proxies': 3, proxies: 10 };
const FILES = 200;
const PLUGIN_PREFIX = 'ts-proxystore/';

interface Sample {
  /** CPU ms of the process from its start to the end of the first lint. */
  cold: number;
  /** CPU ms of a second lint in the same process (program and types reused, as in an editor). */
  warm: number;
  files: number;
  pluginProblems: number;
}

/** One module of the generated project: types, a class, loops, collections, JSON and buffers, as application code has. */
function moduleText(index: number, withProxies: boolean): string {
  const next = (index + 1) % FILES;
  const proxyImports = withProxies ? "import { extract, type Proxy, type ProxyOr } from 'ts-proxystore';\n" : '';
  const proxyCode = withProxies
    ? `
export function summarize${index}(record: ProxyOr<Record${index}>): number {
  let sum = record.tags.size;
  for (const value of record.values) sum += value;
  return sum;
}

export function useProxy${index}(record: Proxy<Record${index}>, plain: Record${index}): number {
  const copy = extract(record);
  return summarize${index}(record) + score${index}(copy) + (copy === plain ? 1 : 0);
}
`
    : '';
  return `${proxyImports}import { score${next}, type Record${next} } from './m${next}.js';

export interface Record${index} {
  id: string;
  values: number[];
  tags: Map<string, number>;
  parent?: Record${next};
}

export function score${index}(record: Record${index} | undefined): number {
  if (record === undefined) return 0;
  let total = 0;
  for (let i = 0; i < record.values.length; i++) total += record.values[i] ?? 0;
  for (const [tag, weight] of record.tags) total += tag.length * weight;
  return total + (record.parent === undefined ? 0 : score${next}(record.parent));
}

export class Service${index} {
  private readonly cache = new Map<string, Record${index}>();

  get(id: string): Record${index} | undefined {
    return this.cache.get(id);
  }

  put(record: Record${index}): void {
    this.cache.set(record.id, record);
  }

  async load(ids: readonly string[]): Promise<Record${index}[]> {
    const found = await Promise.all(ids.map(async (id) => this.get(id)));
    return found.filter((record): record is Record${index} => record !== undefined);
  }

  encode(record: Record${index}): Buffer {
    return Buffer.from(JSON.stringify({ ...record, tags: [...record.tags] }));
  }
}
${proxyCode}`;
}

/** Writes the project (with this package and Node's types where an install would put them) and returns its root. */
function generateProject(kind: ProjectKind): string {
  const { root } = packageInfo();
  // Outside the repository, whose own tsconfig and ESLint config would take the generated files in.
  const dir = mkdtempSync(join(tmpdir(), `ts-proxystore-eslint-${kind.replace(' ', '-')}-`));
  mkdirSync(join(dir, 'src'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(root, join(dir, 'node_modules/ts-proxystore'), 'dir');
  symlinkSync(join(root, 'node_modules/@types'), join(dir, 'node_modules/@types'), 'dir');
  writeFileSync(join(dir, 'package.json'), '{ "name": "generated", "private": true, "type": "module" }\n');
  const compilerOptions = { target: 'ES2022', module: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['src'] }, null, 2));
  for (let index = 0; index < FILES; index++) writeFileSync(join(dir, `src/m${index}.ts`), moduleText(index, kind === 'proxies'));
  return dir;
}

async function configFor(variant: Variant, root: string): Promise<Linter.Config[]> {
  const base: Linter.Config[] = [
    ...(tseslint.configs.recommendedTypeChecked as Linter.Config[]),
    { languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: root } } },
  ];
  if (variant === VARIANTS[0]) return base;
  // Loaded only in this variant: loading the plugin is part of what it costs.
  const { default: plugin } = await import('../../eslint-plugin/index.js');
  return [...base, plugin.configs.strict];
}

async function measureInThisProcess(variant: Variant, root: string): Promise<Sample> {
  const lint = async (): Promise<ESLint.LintResult[]> => {
    const eslint = new ESLint({ cwd: root, overrideConfigFile: true, overrideConfig: await configFor(variant, root), cache: false });
    return eslint.lintFiles(['src/**/*.ts']);
  };
  const results = await lint();
  const cold = process.cpuUsage();
  await lint();
  const warm = process.cpuUsage(cold);
  const pluginProblems = results.flatMap((result) => result.messages).filter((message) => message.ruleId?.startsWith(PLUGIN_PREFIX) === true).length;
  return { cold: (cold.user + cold.system) / 1000, warm: (warm.user + warm.system) / 1000, files: results.length, pluginProblems };
}

function measureInChild(variant: Variant, root: string): Sample {
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', variant, root], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`lint run for ${variant} failed:\n${child.stderr}`);
  return JSON.parse(child.stdout) as Sample;
}

function report(kind: ProjectKind, samples: ReadonlyMap<Variant, Sample[]>, repetitions: number): void {
  const [alone, added] = VARIANTS.map((variant) => samples.get(variant) ?? []);
  if (alone === undefined || added === undefined) return;
  const ms = (list: readonly Sample[], key: 'cold' | 'warm'): number => median(list.map((sample) => sample[key]));
  const percent = (key: 'cold' | 'warm'): string => `${(((ms(added, key) - ms(alone, key)) / ms(alone, key)) * 100).toFixed(1)}%`;
  const row = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  console.log(`\nGenerated project, ${kind}: ESLint on ${alone[0]?.files ?? 0} files, median of ${repetitions} fresh processes each\n`);
  console.log(row(['config', 'process to first lint (CPU ms)', 'second lint (CPU ms)']));
  console.log(row(['---', '---:', '---:']));
  for (const variant of VARIANTS) {
    const list = samples.get(variant) ?? [];
    console.log(row([variant, ms(list, 'cold').toFixed(0), ms(list, 'warm').toFixed(0)]));
  }
  console.log(row(['added by the plugin', percent('cold'), percent('warm')]));
  console.log(`\nProblems the plugin reported: ${added[0]?.pluginProblems ?? 0}. Goal for added time: at most ${GOALS[kind]}%.`);
}

async function main(): Promise<void> {
  const [flag, variant, root] = process.argv.slice(2);
  if (flag === '--child') {
    process.stdout.write(JSON.stringify(await measureInThisProcess(variant as Variant, root ?? '.')));
    return;
  }
  // `--generate proxies` writes one project and prints where, to lint or profile it by hand.
  if (flag === '--generate') {
    console.log(generateProject(variant === 'proxies' ? 'proxies' : 'no proxies'));
    return;
  }
  const repetitions = Number(flag ?? 5);
  for (const kind of PROJECTS) {
    const dir = generateProject(kind);
    const samples = new Map<Variant, Sample[]>(VARIANTS.map((name) => [name, []]));
    for (let run = 0; run < repetitions; run++) {
      const order = run % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
      for (const name of order) samples.get(name)?.push(measureInChild(name, dir));
    }
    report(kind, samples, repetitions);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
