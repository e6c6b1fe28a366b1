/**
 * Where this package's own declarations live. Tools recognise `Proxy<T>`,
 * `ProxyOr<T>`, `extract` and `Store` by the file that declares them, so a
 * user's look-alike with the same name never counts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InternalError } from '../../runtime/errors.js';

export const PACKAGE_NAME = 'ts-proxystore';

/**
 * The modules of this package that tools recognise by file, by role: the one
 * place that spells the package's layout for the transformer, the lint plugin
 * and the CLI (paths as `packageModule` gives them).
 */
export const OWN_MODULES = {
  /** `Proxy<T>`, `ProxyOr<T>` and the brand that marks them. */
  types: 'src/types',
  /** `OwnedProxy`, `RefProxy`, `RefMutProxy` and their tag. */
  ownership: 'src/ownership',
  /** The public entry, where quick fixes import helpers from. */
  entry: 'src/index',
} as const;

/** Folders whose declarations ship as the package's API (not its tools, tests or bench). */
const SHIPPED_FOLDERS = /^(src|runtime)\//;

/** Whether `fileName` is this package's module of `role` (see `OWN_MODULES`). */
export function isOwnModule(fileName: string, role: keyof typeof OWN_MODULES): boolean {
  return packageModule(fileName) === OWN_MODULES[role];
}

/** Whether `fileName` declares part of this package's shipped API. */
export function isShippedFile(fileName: string): boolean {
  const module = packageModule(fileName);
  return module !== undefined && SHIPPED_FOLDERS.test(module);
}

export interface PackageInfo {
  /** Directory of package.json, with forward slashes (as TypeScript writes file names). */
  readonly root: string;
  readonly version: string;
}

function readManifest(file: string): { name?: unknown; version?: unknown } {
  return JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
}

/** Walks up from this module, so it works from the sources and from dist/ alike. */
function findOwnPackage(): PackageInfo {
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const { name, version } = readManifest(manifest);
      if (name === PACKAGE_NAME && typeof version === 'string') return { root: dir.replaceAll('\\', '/'), version };
    }
    if (dirname(dir) === dir) throw new InternalError(`${PACKAGE_NAME}: no package.json named ${PACKAGE_NAME} above ${start}`);
  }
}

let ownPackage: PackageInfo | undefined;

export function packageInfo(): PackageInfo {
  return (ownPackage ??= findOwnPackage());
}

// An installed copy (npm, yarn, pnpm's .pnpm/<id>/node_modules/ts-proxystore) may differ from the one running this code.
const INSTALLED = new RegExp(`/node_modules/${PACKAGE_NAME}/(.*)$`);
const EXTENSION = /\.d\.[mc]?ts$|\.[mc]?[tj]sx?$/;

/**
 * The module path inside this package (`src/types`, `runtime/store`) of a
 * source or declaration file, or undefined for any other file. Compiled
 * declarations under `dist/` map to the module they were built from.
 */
export function packageModule(fileName: string): string | undefined {
  const normalized = fileName.replaceAll('\\', '/');
  const root = `${packageInfo().root}/`;
  const inside = normalized.startsWith(root) ? normalized.slice(root.length) : INSTALLED.exec(normalized)?.[1];
  if (inside === undefined || inside.startsWith('node_modules/')) return undefined;
  return inside.replace(/^dist\//, '').replace(EXTENSION, '');
}
