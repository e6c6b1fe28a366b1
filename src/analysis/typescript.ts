/**
 * The TypeScript that typescript-eslint's parser has already loaded, reached
 * through `require`. TypeScript is a CommonJS module: an ES `import` of it makes
 * Node scan its 9 MB source for export names on top of loading it (about a
 * quarter of a second per ESLint process), and `require` hits the copy the
 * parser put in the module cache.
 */
import { createRequire } from 'node:module';
import type * as TypeScript from 'typescript';

export const typescript = createRequire(import.meta.url)('typescript') as typeof TypeScript;
