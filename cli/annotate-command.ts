/**
 * Loads the codemod only when it is asked for: ts-morph is an optional peer
 * dependency, and `setup` (or a project that never runs `annotate`) must work
 * without it.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AnnotateOptions } from './annotate.js';
import { CliError } from './errors.js';

/** This package's folder, from which its dependencies are found. */
function packageRoot(): string {
  return fileURLToPath(new URL('../..', import.meta.url));
}

function isMissingTsMorph(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return code === 'ERR_MODULE_NOT_FOUND' && typeof message === 'string' && message.includes("'ts-morph'");
}

export async function annotateCommand(options: AnnotateOptions): Promise<void> {
  if (!existsSync(options.cwd)) throw new CliError(`no directory ${options.cwd}: pass --cwd the project's root`);
  let codemod: typeof import('./annotate.js');
  try {
    codemod = await import('./annotate.js');
  } catch (error) {
    // Resolved from this package's own folder, as every dependency of it is: a ts-morph in the --cwd project elsewhere is not seen.
    if (isMissingTsMorph(error)) {
      throw new CliError(`annotate is built on ts-morph, which cannot be found from ts-proxystore's folder (${packageRoot()}): install it in the project that has ts-proxystore installed (npm install --save-dev ts-morph) and run annotate again`);
    }
    throw error;
  }
  codemod.annotate(options);
}
