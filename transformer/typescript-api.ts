import type { TypeScriptApi } from '../src/analysis/proxy-types.js';

/**
 * The TypeScript module the compiler runs on. Everything the transformer does
 * goes through the instance it is handed (ts-patch's patched copy, TypeScript 5
 * or 6), never through an import: node kinds and flags differ between versions,
 * and loading a second copy of TypeScript would cost more than the transform.
 * The same type as the one the lint rules' proxy checks take.
 */
export type TypeScript = TypeScriptApi;
