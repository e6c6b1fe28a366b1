/// <reference types="node" preserve="true" />
/**
 * ts-patch entry point, loaded from tsconfig:
 *
 *   "plugins": [{ "transform": "ts-proxystore/transformer", "threshold": 100000 }]
 *
 * A "program" transformer (ts-patch's default type): ts-patch calls the default
 * export with the program, the plugin entry and its extras, which carry the
 * TypeScript instance it runs on and a way to add diagnostics. ts-patch 3 and 4
 * both `require()` the entry file; this one is an ES module, which Node loads
 * through require() since 20.19 (the package's minimum), so no CommonJS copy
 * is needed.
 */
import type * as ts from 'typescript';
import { resolveOptions, type TransformerOptions } from './options.js';
import { createTransformerFactory } from './rewrite.js';
import type { TypeScript } from './typescript-api.js';

export type { TransformerOptions, Severity } from './options.js';
export type { SubmitApi } from './submit-apis.js';
export { DEFAULT_SUBMIT_APIS } from './submit-apis.js';
export { DiagnosticCode } from './diagnostics.js';
export { whyNotWrapped, type Unwrapped } from './call-sites.js';

/** The part of ts-patch's extras this transformer uses. */
export interface TransformerExtras {
  readonly ts: TypeScript;
  readonly addDiagnostic: (diagnostic: ts.Diagnostic) => unknown;
}

export default function proxystoreTransformer(
  program: ts.Program,
  config: TransformerOptions,
  extras: TransformerExtras,
): ts.TransformerFactory<ts.SourceFile> {
  const { options, problems } = resolveOptions(config);
  return createTransformerFactory(extras.ts, program, options, problems, (diagnostic) => extras.addDiagnostic(diagnostic));
}
