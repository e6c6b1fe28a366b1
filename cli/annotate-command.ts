/**
 * Loads the codemod only when it is asked for: ts-morph is an optional peer
 * dependency, and `setup` (or a project that never runs `annotate`) must work
 * without it.
 */
import type { AnnotateOptions } from './annotate.js';
import { CliError } from './errors.js';

function isMissingTsMorph(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return code === 'ERR_MODULE_NOT_FOUND' && typeof message === 'string' && message.includes("'ts-morph'");
}

export async function annotateCommand(options: AnnotateOptions): Promise<void> {
  let codemod: typeof import('./annotate.js');
  try {
    codemod = await import('./annotate.js');
  } catch (error) {
    if (isMissingTsMorph(error)) throw new CliError('annotate is built on ts-morph, which is not installed: install it (npm install --save-dev ts-morph) and run annotate again');
    throw error;
  }
  codemod.annotate(options);
}
