/**
 * The package as users get it: `npm pack` of the current build, installed
 * from the registry's neighbours into fresh projects. The tests that use it
 * need `dist/` (npm test builds first).
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');

export interface PackageJson {
  name: string;
  exports: Record<string, unknown>;
  peerDependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  repository: { url: string };
}

export const packageJson = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as PackageJson;

const run = promisify(execFile);

export interface Packed {
  /** Where the tarball and the projects made from it live; removed by `remove()`. */
  readonly work: string;
  readonly tarball: string;
  remove(): void;
}

export function pack(prefix: string): Packed {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const name = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: repoRoot, encoding: 'utf8' }).trim().split('\n').pop()!;
  return { work, tarball: path.join(work, name), remove: () => fs.rmSync(work, { recursive: true, force: true }) };
}

/**
 * A fresh ESM project with the tarball and `extra` packages installed, as
 * `npm install` resolves them: a peer conflict fails here (ERESOLVE), as it
 * would for a user.
 */
export async function project(packed: Packed, name: string, extra: readonly string[], files: Readonly<Record<string, string>> = {}): Promise<string> {
  const dir = path.join(packed.work, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  }
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', packed.tarball, ...extra], { cwd: dir, maxBuffer: 16 * 1024 * 1024 });
  return dir;
}

export interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end within `timeoutMs`; never throws for a non-zero exit, so tests can show the output. */
export async function runIn(cwd: string, command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Ran> {
  try {
    const { stdout, stderr } = await run(command, args, { cwd, env: { ...process.env, ...options.env }, timeout: options.timeoutMs ?? 120_000, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string; message: string };
    return { code: typeof failed.code === 'number' ? failed.code : 1, stdout: failed.stdout ?? '', stderr: `${failed.stderr ?? ''}\n${failed.message}` };
  }
}

/** A local binary of the project, run with this Node. */
export function bin(dir: string, name: string): string {
  return path.join(dir, 'node_modules', '.bin', name);
}
