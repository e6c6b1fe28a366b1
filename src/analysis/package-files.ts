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
