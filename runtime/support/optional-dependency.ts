/**
 * Optional peer dependencies (bullmq, ioredis, unplugin, the test libraries) loaded so that a
 * missing one says which package to install. A static `import` of a missing package fails
 * while the module graph links, before any of our code runs, with a bare
 * ERR_MODULE_NOT_FOUND; a synchronous `require` fails where we can explain it,
 * and keeps the importing module free of top-level await, so CommonJS callers
 * can still `require()` it. bullmq and ioredis are CommonJS packages: an
 * `import` of them elsewhere loads this very instance.
 */
import { createRequire } from 'node:module';
import { MissingDependencyError } from '../errors.js';

const require = createRequire(import.meta.url);

/** The package `dependency`, or a MissingDependencyError naming it and `entry`, the module of ours that needs it. */
export function requireOptional<T>(dependency: string, entry: string): T {
  try {
    return require(dependency) as T;
  } catch (error) {
    if (isMissingPackage(error, dependency)) throw new MissingDependencyError(dependency, entry, { cause: error });
    throw error;
  }
}

/**
 * The ESM-only package `dependency`, or undefined when it is not installed.
 * The module that awaits this at its top level loads without it, and says what
 * is missing only when a feature needing it is used.
 */
export async function importOptional<T>(dependency: string): Promise<T | undefined> {
  try {
    return (await import(dependency)) as T;
  } catch (error) {
    if (isMissingPackage(error, dependency)) return undefined;
    throw error;
  }
}

/** Only the package itself missing: a package that is there but fails to load reports its own error. */
function isMissingPackage(error: unknown, dependency: string): boolean {
  const code = (error as { code?: unknown }).code;
  return (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') && (error as Error).message.includes(`'${dependency}'`);
}
