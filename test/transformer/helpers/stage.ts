/**
 * An installed copy of this package for the fixture projects: node_modules/
 * ts-proxystore with a compiled dist/ (runtime, types, transformer), next to
 * links to this repo's dependencies. Fixtures resolve `ts-proxystore/transformer`
 * and `ts-proxystore/auto-proxy` from it exactly as a user's project would.
 *
 * Built once per content of the sources and shared by every test file (they
 * run in separate processes): the first to need it takes a lock and builds;
 * the others wait until it is ready.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

export const REPO = path.resolve(import.meta.dirname, '../../..');

/** Package entry points the transformer relies on; the staged package.json adds any the real one lacks yet. */
export const TRANSFORMER_EXPORTS = {
  './transformer': { types: './dist/transformer/index.d.ts', default: './dist/transformer/index.js' },
  './auto-proxy': { types: './dist/runtime/store/auto-proxy.d.ts', default: './dist/runtime/store/auto-proxy.js' },
  './unplugin': { types: './dist/transformer/unplugin.d.ts', default: './dist/transformer/unplugin.js' },
  './language-service': { types: './dist/transformer/language-service.d.ts', default: './dist/transformer/language-service.js' },
} as const;
export const CLI_BIN = { 'ts-proxystore-tsc': './dist/transformer/cli.js' } as const;

const STAGE_TIMEOUT_MS = 120_000;
const STAGE_PREFIX = 'ts-proxystore-transformer-';
const SOURCES = ['src', 'runtime', 'transformer', 'language-service'];
const ENTRY_FILES = ['src/index.ts', 'runtime/store/auto-proxy.ts', 'runtime/connectors/redis.ts', 'runtime/connectors/sync-bridge/worker.ts', 'transformer/index.ts', 'transformer/unplugin.ts', 'transformer/cli.ts', 'transformer/language-service.ts'];

export interface Stage {
  /** Holds node_modules/; fixture copies go in work/ below it. */
  readonly root: string;
  readonly packageDir: string;
}

let staged: Promise<Stage> | undefined;

export function stagePackage(): Promise<Stage> {
  return (staged ??= build());
}

async function build(): Promise<Stage> {
  const root = path.join(os.tmpdir(), `${STAGE_PREFIX}${sourceHash()}`);
  const stage = { root, packageDir: path.join(root, 'node_modules', 'ts-proxystore') };
  const lock = `${root}.lock`;
  for (const deadline = Date.now() + STAGE_TIMEOUT_MS; !fs.existsSync(path.join(root, 'ready')); ) {
    if (takeLock(lock)) {
      try {
        await buildInto(root);
      } finally {
        fs.rmSync(lock, { recursive: true, force: true });
      }
      break;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for another test process to stage the package (${lock})`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return stage;
}

/** mkdir is atomic, so exactly one process gets the lock; one left by a crashed run is taken over once it is old. */
function takeLock(lock: string): boolean {
  try {
    fs.mkdirSync(lock);
    return true;
  } catch {
    const age = Date.now() - (fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
    if (age > STAGE_TIMEOUT_MS) fs.rmSync(lock, { recursive: true, force: true });
    return false;
  }
}

async function buildInto(root: string): Promise<void> {
  const building = `${root}.${process.pid}`;
  fs.rmSync(building, { recursive: true, force: true });
  const packageDir = path.join(building, 'node_modules', 'ts-proxystore');
  fs.mkdirSync(packageDir, { recursive: true });
  fs.mkdirSync(path.join(building, 'work'));
  linkDependencies(path.join(building, 'node_modules'));
  writeManifest(packageDir);
  // What tsserver resolves 'ts-proxystore/language-service' to (it ignores package exports).
  fs.cpSync(path.join(REPO, 'language-service'), path.join(packageDir, 'language-service'), { recursive: true });
  await compile(path.join(building, 'tsconfig.stage.json'), path.join(packageDir, 'dist'));
  fs.writeFileSync(path.join(building, 'ready'), '');
  fs.rmSync(root, { recursive: true, force: true });
  fs.renameSync(building, root);
  pruneOldStages();
}

/** Every change to the sources stages anew; stages nobody touched for a day are dropped. */
function pruneOldStages(): void {
  const dayAgo = Date.now() - 24 * 3600 * 1000;
  for (const name of fs.readdirSync(os.tmpdir())) {
    const dir = path.join(os.tmpdir(), name);
    if (name.startsWith(STAGE_PREFIX) && (fs.statSync(dir, { throwIfNoEntry: false })?.mtimeMs ?? Infinity) < dayAgo) {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

function sourceHash(): string {
  const hash = createHash('sha256');
  // This file too: it decides what is staged.
  const files = [...SOURCES.flatMap((dir) => listFiles(path.join(REPO, dir))), 'package.json', 'tsconfig.json', 'test/transformer/helpers/stage.ts'].map((f) =>
    path.resolve(REPO, f),
  );
  for (const file of files.sort()) hash.update(file).update(fs.readFileSync(file));
  return hash.digest('hex').slice(0, 16);
}

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

function linkDependencies(nodeModules: string): void {
  for (const name of fs.readdirSync(path.join(REPO, 'node_modules'))) {
    if (name === '.bin' || name === 'ts-proxystore' || name.startsWith('.')) continue;
    fs.symlinkSync(path.join(REPO, 'node_modules', name), path.join(nodeModules, name));
  }
}

function writeManifest(packageDir: string): void {
  const manifest = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { exports: object; bin?: object };
  manifest.exports = { ...TRANSFORMER_EXPORTS, ...manifest.exports };
  manifest.bin = { ...CLI_BIN, ...manifest.bin };
  fs.writeFileSync(path.join(packageDir, 'package.json'), JSON.stringify(manifest, null, 2));
}

async function compile(tsconfig: string, outDir: string): Promise<void> {
  const config = {
    extends: path.join(REPO, 'tsconfig.json'),
    compilerOptions: { rootDir: REPO, outDir, noEmit: false, declarationMap: false, typeRoots: [path.join(REPO, 'node_modules/@types')] },
    files: ENTRY_FILES.map((file) => path.join(REPO, file)),
    include: [],
  };
  fs.writeFileSync(tsconfig, JSON.stringify(config));
  await promisify(execFile)(process.execPath, [path.join(REPO, 'node_modules/typescript/bin/tsc'), '-p', tsconfig]);
}
