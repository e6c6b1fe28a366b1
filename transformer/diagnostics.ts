/**
 * The transformer's diagnostics. Codes are stable: tools and docs refer to
 * them. They sit above TypeScript's own range (whose highest code is below
 * 96000), so `TS98001` cannot be mistaken for a compiler message.
 */
import type * as ts from 'typescript';
import type { NativeUse } from '../src/analysis/native-uses.js';
import type { Severity } from './options.js';
import type { TypeScript } from './typescript-api.js';

export const DiagnosticCode = {
  /** A `Proxy<T>` (or a value that may be one) is passed to a parameter typed plainly `T`. */
  ProxyToPlainParameter: 98001,
  /** An option in the plugin entry is unknown or invalid; the message says what is used instead. */
  InvalidOption: 98002,
  /** The program is emitted as AMD, UMD or SystemJS, for which no import of the run time can be added; calls are left as they are. */
  UnsupportedModuleFormat: 98003,
  /** A `ProxyOr<T>` parameter is handed to a built-in that needs the real object; calls do not wrap it. */
  ProxyOrToNative: 98004,
  /** Editor only (the language-service plugin's suggestion): this argument is wrapped, so it may travel by proxy. */
  AutoWrapped: 98005,
} as const;

const DIAGNOSTIC_SOURCE = 'ts-proxystore';

export interface ProxyToPlainParameter {
  readonly argument: ts.Expression;
  readonly callee: string;
  readonly parameter: string;
  readonly parameterType: string;
  readonly argumentType: string;
}

export function proxyToPlainParameter(ts: TypeScript, severity: Exclude<Severity, 'off'>, finding: ProxyToPlainParameter): ts.Diagnostic {
  const { argument, callee, parameter, parameterType, argumentType } = finding;
  const file = argument.getSourceFile();
  return {
    file,
    start: argument.getStart(file),
    length: argument.getWidth(file),
    category: severity === 'error' ? ts.DiagnosticCategory.Error : ts.DiagnosticCategory.Warning,
    code: DiagnosticCode.ProxyToPlainParameter,
    source: DIAGNOSTIC_SOURCE,
    messageText:
      `${argumentType} is passed to parameter '${parameter}' of '${callee}', which is typed '${parameterType}', not ProxyOr<${parameterType}>. ` +
      `Annotate the parameter ProxyOr<${parameterType}> if the function works on proxies, or pass extract(...) to hand over the target itself.`,
  };
}

export function proxyOrToNative(ts: TypeScript, severity: Exclude<Severity, 'off'>, use: NativeUse, owner: string): ts.Diagnostic {
  const { argument, parameter, callee, need, list, via } = use;
  const file = argument.getSourceFile();
  const name = parameter.name.getText(file);
  const declared = need.declared === undefined ? '' : ` (its parameter is typed '${need.declared}')`;
  const what = need.inElements ? `a list of real ${need.name} objects` : `the real ${need.name}`;
  const passed =
    via !== undefined
      ? `is passed to '${callee}', whose parameter '${via.parameter}' goes to '${via.builtIn}'`
      : list === undefined
        ? `is passed to '${callee}'`
        : `is put in '${list}' here, which is passed to '${callee}'`;
  return {
    file,
    start: argument.getStart(file),
    length: argument.getWidth(file),
    category: severity === 'error' ? ts.DiagnosticCategory.Error : ts.DiagnosticCategory.Warning,
    code: DiagnosticCode.ProxyOrToNative,
    source: DIAGNOSTIC_SOURCE,
    messageText:
      `'${name}' is ProxyOr and ${passed}, which needs ${what}${declared}; a proxy is not one (the built-in throws or reads it wrongly), ` +
      `so calls of '${owner}' pass '${name}' as it is, without autoProxy. Pass the target here (isProxy(${name}) ? extract(${name}) : ${name}) to have them wrapped.`,
  };
}

export function invalidOption(ts: TypeScript, problem: string): ts.Diagnostic {
  return global(ts, ts.DiagnosticCategory.Error, DiagnosticCode.InvalidOption, `ts-proxystore/transformer: ${problem}.`);
}

export function unsupportedModuleFormat(ts: TypeScript, format: string): ts.Diagnostic {
  return global(
    ts,
    ts.DiagnosticCategory.Warning,
    DiagnosticCode.UnsupportedModuleFormat,
    `ts-proxystore/transformer: calls are not wrapped with autoProxy, because the program is emitted as ${format}; only ES modules and CommonJS are supported.`,
  );
}

function global(ts: TypeScript, category: ts.DiagnosticCategory, code: number, messageText: string): ts.Diagnostic {
  return { file: undefined, start: undefined, length: undefined, category, code, source: DIAGNOSTIC_SOURCE, messageText };
}
