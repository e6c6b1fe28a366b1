/**
 * The compilers the fixtures are built with, each spawned as a user would run
 * it, and helpers to copy a fixture next to the staged package and read what a
 * build wrote.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO, type Stage } from './stage.js';

export interface Compiler {
  readonly name: string;
  readonly version: string;
  /** ts-patch's live compiler. */
  readonly tspc: string;
  /** The same TypeScript, unpatched. */
  readonly tsc: string;
  /** ts-patch's patched TypeScript module, for the programmatic route. */
  readonly compilerModule: string;
  readonly env: Readonly<Record<string, string>>;
}

const bin = (file: string): string => path.join(REPO, 'node_modules', file);

export const TS6: Compiler = {
  name: 'TypeScript 6.0 + ts-patch 4',
  version: '6.0.3',
  tspc: bin('ts-patch/bin/tspc.js'),
  tsc: bin('typescript/bin/tsc'),
  compilerModule: bin('ts-patch/compiler'),
  env: {},
};

export const TS5: Compiler = {
  name: 'TypeScript 5.9 + ts-patch 3',
  version: '5.9.3',
  tspc: bin('ts-patch3/bin/tspc.js'),
  tsc: bin('typescript5/bin/tsc'),
  compilerModule: bin('ts-patch3/compiler'),
  // ts-patch's live compiler patches whichever TypeScript this names.
  env: { TSP_COMPILER_TS_PATH: bin('typescript5') },
};

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(command: string, args: readonly string[], options: { cwd: string; env?: Readonly<Record<string, string>> }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [command, ...args],
      { cwd: options.cwd, env: { ...process.env, ...options.env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr }),
    );
  });
}

const copies: string[] = [];

/** A private copy of a fixture under the stage, so `ts-proxystore` resolves to the staged package and runs do not share outputs. */
export function copyFixture(stage: Stage, fixture: string, label: string): string {
  const work = fs.mkdtempSync(path.join(stage.root, 'work', `${label}-`));
  copies.push(work);
  const target = path.join(work, fixture);
  fs.cpSync(path.join(REPO, 'test/transformer/fixtures', fixture), target, { recursive: true });
  return target;
}

/** Removes this process's fixture copies (call from afterAll). */
export function removeCopies(): void {
  for (const work of copies.splice(0)) fs.rmSync(work, { recursive: true, force: true });
}

export interface Build extends Run {
  readonly outDir: string;
  /** Emitted .js files by path relative to outDir. */
  readonly js: ReadonlyMap<string, string>;
}

export async function build(compiler: Compiler, patched: boolean, project: string, tsconfig: string, outDir: string): Promise<Build> {
  const absoluteOut = path.join(project, outDir);
  const result = await run(patched ? compiler.tspc : compiler.tsc, ['-p', tsconfig, '--outDir', absoluteOut], { cwd: project, env: compiler.env });
  return { ...result, outDir: absoluteOut, js: readJs(absoluteOut) };
}

export function readJs(outDir: string): Map<string, string> {
  const files = new Map<string, string>();
  if (!fs.existsSync(outDir)) return files;
  for (const entry of fs.readdirSync(outDir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && /\.[cm]?js$/.test(entry.name)) {
      const file = path.join(entry.parentPath, entry.name);
      files.set(path.relative(outDir, file).replaceAll('\\', '/'), fs.readFileSync(file, 'utf8'));
    }
  }
  return files;
}

export interface ProgrammaticBuild {
  /** `<fixture>/<tsconfig>` */
  readonly config: string;
  readonly version: string;
  readonly diagnostics: readonly { site: string; severity: string; code: number; message: string }[];
  readonly js: Readonly<Record<string, string>>;
}

/** Builds the given tsconfigs through ts-patch's programmatic route, all in one child process. */
export async function buildProgrammatically(compiler: Compiler, tsconfigs: readonly string[]): Promise<Map<string, ProgrammaticBuild>> {
  const driver = path.join(REPO, 'test/transformer/fixtures/programmatic.cjs');
  const result = await run(driver, [compiler.compilerModule, ...tsconfigs], { cwd: REPO, env: compiler.env });
  if (result.code !== 0) throw new Error(`programmatic build failed (${result.code}):\n${result.stderr}`);
  const builds = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as ProgrammaticBuild);
  return new Map(builds.map((b) => [b.config, b]));
}
