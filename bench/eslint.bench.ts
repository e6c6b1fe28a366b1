/**
 * What this package's lint rules add to linting time: the project's own sources
 * (src, runtime) linted with typescript-eslint's `recommendedTypeChecked` alone,
 * then with `ts-proxystore/eslint-plugin`'s `strict` config added.
 *
 * Each measurement runs in a fresh process, as `eslint` on a command line does:
 * "cold" is the first lint (TypeScript program built and checked), "warm" a
 * second lint in the same process (program and types reused, as in an editor).
 * Times are the process's CPU time, which other load on the machine disturbs
 * less than wall time; variants alternate so drift hits both alike.
 *
 *   npm run build && node dist/bench/eslint.bench.js [repetitions=5]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import plugin from '../eslint-plugin/index.js';
import { packageInfo } from '../eslint-plugin/utils/package-files.js';
import { median } from './timing.js';

const VARIANTS = ['recommendedTypeChecked', '+ ts-proxystore strict'] as const;
type Variant = (typeof VARIANTS)[number];
const PATTERNS = ['src/**/*.ts', 'runtime/**/*.ts'];

interface Sample {
  cold: number;
  warm: number;
  /** Time ESLint's own stats charge to this plugin's rules in the cold lint (work no other rule did first). */
  pluginRules: number;
  files: number;
  pluginProblems: number;
}

const PLUGIN_PREFIX = 'ts-proxystore/';

function configFor(variant: Variant, root: string): Linter.Config[] {
  const base: Linter.Config[] = [
    ...(tseslint.configs.recommendedTypeChecked as Linter.Config[]),
    { languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: root } } },
  ];
  return variant === VARIANTS[0] ? base : [...base, plugin.configs.strict];
}

async function lintOnce(variant: Variant, root: string): Promise<{ ms: number; results: ESLint.LintResult[] }> {
  const eslint = new ESLint({ cwd: root, overrideConfigFile: true, overrideConfig: configFor(variant, root), cache: false, stats: true });
  const start = process.cpuUsage();
  const results = await eslint.lintFiles(PATTERNS);
  const used = process.cpuUsage(start);
  return { ms: (used.user + used.system) / 1000, results };
}

async function measureInThisProcess(variant: Variant): Promise<Sample> {
  const { root } = packageInfo();
  const cold = await lintOnce(variant, root);
  const warm = await lintOnce(variant, root);
  const pluginProblems = cold.results
    .flatMap((result) => result.messages)
    .filter((message) => message.ruleId?.startsWith(PLUGIN_PREFIX) === true).length;
  const pluginRules = cold.results
    .flatMap((result) => result.stats?.times.passes ?? [])
    .flatMap((pass) => Object.entries(pass.rules ?? {}))
    .filter(([ruleId]) => ruleId.startsWith(PLUGIN_PREFIX))
    .reduce((sum, [, time]) => sum + time.total, 0);
  return { cold: cold.ms, warm: warm.ms, pluginRules, files: cold.results.length, pluginProblems };
}

function measureInChild(variant: Variant): Sample {
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', variant], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`lint run for ${variant} failed:\n${child.stderr}`);
  return JSON.parse(child.stdout) as Sample;
}

function report(samples: ReadonlyMap<Variant, Sample[]>, repetitions: number): void {
  const [alone, added] = VARIANTS.map((variant) => samples.get(variant) ?? []);
  if (alone === undefined || added === undefined) return;
  const ms = (list: readonly Sample[], key: 'cold' | 'warm'): number => median(list.map((sample) => sample[key]));
  const percent = (key: 'cold' | 'warm'): string => `${(((ms(added, key) - ms(alone, key)) / ms(alone, key)) * 100).toFixed(1)}%`;
  const row = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  console.log(`ESLint on ${alone[0]?.files ?? 0} files (${PATTERNS.join(', ')}), median of ${repetitions} fresh processes each\n`);
  console.log(row(['config', 'cold lint (CPU ms)', 'warm lint (CPU ms)']));
  console.log(row(['---', '---:', '---:']));
  for (const variant of VARIANTS) {
    const list = samples.get(variant) ?? [];
    console.log(row([variant, ms(list, 'cold').toFixed(0), ms(list, 'warm').toFixed(0)]));
  }
  console.log(row(['added by the plugin', percent('cold'), percent('warm')]));
  const attributed = median(added.map((sample) => sample.pluginRules));
  const share = ((attributed / ms(alone, 'cold')) * 100).toFixed(1);
  console.log(`\nESLint's rule timing charges ${attributed.toFixed(0)} ms of a cold lint to the plugin's rules: ${share}% of the cold lint without them.`);
  console.log(`Problems the plugin reported in these sources: ${added[0]?.pluginProblems ?? 0}. Goal for added time: under 20%.`);
}

async function main(): Promise<void> {
  const [flag, variant] = process.argv.slice(2);
  if (flag === '--child') {
    process.stdout.write(JSON.stringify(await measureInThisProcess(variant as Variant)));
    return;
  }
  const repetitions = Number(flag ?? 5);
  const samples = new Map<Variant, Sample[]>(VARIANTS.map((name) => [name, []]));
  for (let run = 0; run < repetitions; run++) {
    const order = run % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
    for (const name of order) samples.get(name)?.push(measureInChild(name));
  }
  report(samples, repetitions);
}

await main();
