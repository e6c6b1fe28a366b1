/**
 * Optional peer dependencies (bullmq, ioredis) loaded so that a missing one
 * says which package to install. A static `import` of a missing package fails
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
    // Only the package itself missing: a package that is there but fails to load reports its own error.
    const code = (error as { code?: unknown }).code;
    if (code === 'MODULE_NOT_FOUND' && (error as Error).message.includes(`'${dependency}'`)) throw new MissingDependencyError(dependency, entry, { cause: error });
    throw error;
  }
}
