/**
 * Loads the codemod only when it is asked for: ts-morph is an optional peer
 * dependency, and `setup` (or a project that never runs `annotate`) must work
 * without it.
 */
import { existsSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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

/** The file `require('ts-morph')` would load in the project at `cwd`; undefined when it has none. */
function projectTsMorph(cwd: string): string | undefined {
  try {
    return createRequire(join(cwd, 'package.json')).resolve('ts-morph');
  } catch {
    return undefined;
  }
}

/**
 * The codemod, its import of ts-morph answered by the project's own copy: a
 * resolve hook for that one name, and the codemod loaded again under another
 * URL (Node keeps the failed load of the first).
 */
async function codemodWith(tsMorph: string): Promise<typeof import('./annotate.js')> {
  const target = JSON.stringify(pathToFileURL(tsMorph).href);
  const hook = `export async function resolve(specifier, context, next) { return specifier === 'ts-morph' ? { url: ${target}, shortCircuit: true } : next(specifier, context); }`;
  register(`data:text/javascript,${encodeURIComponent(hook)}`);
  return (await import(new URL('./annotate.js?ts-morph=project', import.meta.url).href)) as typeof import('./annotate.js');
}

export async function annotateCommand(options: AnnotateOptions): Promise<void> {
  if (!existsSync(options.cwd)) throw new CliError(`no directory ${options.cwd}: pass --cwd the project's root`);
  let codemod: typeof import('./annotate.js');
  try {
    codemod = await import('./annotate.js');
  } catch (error) {
    if (!isMissingTsMorph(error)) throw error;
    // Not beside this package: the project being annotated (--cwd) may have it, as a workspace whose packages install their own tools does.
    const tsMorph = projectTsMorph(options.cwd);
    if (tsMorph === undefined) {
      throw new CliError(
        `annotate is built on ts-morph, which cannot be found from ts-proxystore's folder (${packageRoot()}) nor from the project (${options.cwd}): install it in the project (npm install --save-dev ts-morph) and run annotate again`,
      );
    }
    codemod = await codemodWith(tsMorph);
  }
  codemod.annotate(options);
}
