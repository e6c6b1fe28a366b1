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
  /** Which TypeScript file ts-patch runs in: 'tsc' for the command line (tspc, or a `ts-patch install`ed tsc). */
  readonly library?: string;
}

export default function proxystoreTransformer(
  program: ts.Program,
  config: TransformerOptions,
  extras: TransformerExtras,
): ts.TransformerFactory<ts.SourceFile> {
  const { options, problems } = resolveOptions(config);
  const { ts } = extras;
  const print = extras.library === 'tsc' ? printer(ts, program) : undefined;
  return createTransformerFactory(ts, program, options, problems, (diagnostic) => {
    // tsc exits non-zero for every diagnostic it is handed, warnings included, so the command line
    // gets warnings printed as tsc prints diagnostics, and only errors handed over. The API keeps all.
    if (print !== undefined && diagnostic.category !== ts.DiagnosticCategory.Error) print(diagnostic);
    else extras.addDiagnostic(diagnostic);
  });
}

/** Writes a diagnostic the way tsc's own reporter does, honouring `--pretty` (default: when output is a terminal). */
function printer(ts: TypeScript, program: ts.Program): (diagnostic: ts.Diagnostic) => void {
  const { sys } = ts;
  const host: ts.FormatDiagnosticsHost = { getCanonicalFileName: (name) => name, getCurrentDirectory: () => sys.getCurrentDirectory(), getNewLine: () => sys.newLine };
  const pretty = program.getCompilerOptions().pretty ?? sys.writeOutputIsTTY?.() ?? false;
  return (diagnostic) => sys.write(pretty ? ts.formatDiagnosticsWithColorAndContext([diagnostic], host) + sys.newLine : ts.formatDiagnostic(diagnostic, host));
}
