/// <reference types="node" preserve="true" />
/**
 * The autoProxy transform as a bundler plugin (esbuild, Vite, Rollup,
 * Rolldown, webpack, Rspack through unplugin), for TypeScript 7 projects and
 * any build that does not run tsc's emit. Each TypeScript file of the tsconfig
 * project is emitted by the TypeScript 6 API with the transform applied; the
 * bundler gets that JS and its source map. Files outside the project pass
 * through untouched.
 *
 *   import { proxystore } from 'ts-proxystore/unplugin';
 *   await esbuild.build({ ..., plugins: [proxystore.esbuild({ tsconfig: 'tsconfig.json' })] });
 *
 * It runs first (enforce: 'pre'): it needs the TypeScript source, types and all.
 */
import path from 'node:path';
import type { UnpluginInstance } from 'unplugin';
import { MissingDependencyError } from '../runtime/errors.js';
import { importOptional } from '../runtime/support/optional-dependency.js';
import type { TransformerOptions } from './options.js';
import { Project } from './project.js';

export interface ProxyStorePluginOptions extends TransformerOptions {
  /** Default: tsconfig.json in the working directory. Its ts-patch plugin entry supplies the transform's options. */
  readonly tsconfig?: string;
  /** Module name of a TypeScript with the compiler API; default 'typescript', then '@typescript/typescript6'. */
  readonly typescript?: string;
}

const TYPESCRIPT_FILE = /\.[cm]?tsx?$/;

/** unplugin is ESM-only: loaded here so that a missing one says which package to install, not a bare ERR_MODULE_NOT_FOUND. */
const unplugin = await importOptional<typeof import('unplugin')>('unplugin');
if (unplugin === undefined) throw new MissingDependencyError('unplugin', 'ts-proxystore/unplugin');
const { createUnplugin } = unplugin;

export const proxystore: UnpluginInstance<ProxyStorePluginOptions | undefined, false> = createUnplugin((settings: ProxyStorePluginOptions | undefined) => {
  const { tsconfig = 'tsconfig.json', typescript, ...options } = settings ?? {};
  let project: Project | undefined;
  return {
    name: 'ts-proxystore',
    enforce: 'pre',
    transformInclude: (id) => TYPESCRIPT_FILE.test(id) && !/\.d\.[cm]?tsx?$/.test(id),
    transform(code, id) {
      project ??= new Project({
        tsconfig: path.resolve(tsconfig),
        options,
        ...(typescript === undefined ? {} : { typescript }),
        // What a bundler needs from each file: JS with a map to the source, nothing on disk.
        compilerOptions: { sourceMap: true, inlineSourceMap: false, inlineSources: true, declaration: false, declarationMap: false, noEmit: false },
      });
      const emitted = project.emitFile(id, code);
      if (emitted === undefined) return undefined;
      const { ts } = project;
      for (const diagnostic of emitted.diagnostics) {
        const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
        const at = diagnostic.file === undefined || diagnostic.start === undefined ? undefined : diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
        const report = { message: `TS${diagnostic.code}: ${message}`, id, ...(at === undefined ? {} : { loc: { line: at.line + 1, column: at.character, file: id } }) };
        if (diagnostic.category === ts.DiagnosticCategory.Error) this.error(report);
        else this.warn(report);
      }
      return { code: emitted.code, map: emitted.map ?? null };
    },
  };
});

export default proxystore;
