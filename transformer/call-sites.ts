/**
 * Decides, for one call or `new` expression, which arguments get wrapped with
 * autoProxy and which pass a proxy to a parameter that does not expect one.
 * Everything is read from the type checker: the signature the call resolved
 * to (so overloads, generics, methods, default imports and re-exports are
 * whatever TypeScript says they are) and parameter annotations resolved to this
 * package's `ProxyOr` declaration.
 */
import type * as ts from 'typescript';
import { memoize } from '../src/analysis/memoize.js';
import { proxyTypes } from '../src/analysis/proxy-types.js';
import type { ProxyToPlainParameter } from './diagnostics.js';
import { resolveOptions, type ResolvedOptions } from './options.js';
import { createSignatureReader, parameterAt, proxyOrFrom, type ParameterInfo, type SignatureInfo } from './signatures.js';
import { createEscapeAnalysis } from './escape-analysis.js';
import { loadsProxyTypes } from './file-analysis.js';
import type { SubmitApi } from './submit-apis.js';
import { createTypeFacts, syntacticKind } from './type-facts.js';
import type { TypeScript } from './typescript-api.js';

export interface Wrap {
  readonly index: number;
  /** The argument is a spread or an iterable of task arguments: wrap each item, not the whole. */
  readonly each: boolean;
  /** The argument is an array literal (`f.apply(thisArg, [a, b])`): wrap this element of it. */
  readonly element?: number;
}

/** An argument passed to a `ProxyOr` parameter and left as it is, because the callee never lets the value leave the process. */
export interface Unwrapped {
  readonly index: number;
  readonly argument: ts.Expression;
  /** For editors and explanations: "never leaves this process: …". */
  readonly reason: string;
}

export interface CallPlan {
  readonly wraps: readonly Wrap[];
  readonly findings: readonly ProxyToPlainParameter[];
  readonly unwrapped: readonly Unwrapped[];
}

export type CallAnalyzer = (call: ts.CallExpression | ts.NewExpression) => CallPlan | undefined;

export function createCallAnalyzer(ts: TypeScript, program: ts.Program, options: ResolvedOptions): CallAnalyzer {
  const checker = program.getTypeChecker();
  const types = proxyTypes(checker, ts);
  const facts = createTypeFacts(ts, checker, types);
  // Nothing can be a proxy in a program that never loads this package's types.
  const diagnose = options.diagnostics !== 'off' && loadsProxyTypes(program);
  const signatures = createSignatureReader(ts, program, types, facts, diagnose);
  const escapes = createEscapeAnalysis(ts, program, (call) => submitApiOf(call, signatures.declarationOf(checker.getResolvedSignature(call))) !== undefined);

  // Asked of every call: most are no submit-style API by name alone.
  const submitMethods = new Set(options.submitApis.map((api) => api.method));

  function worthWrapping(argument: ts.Expression, each: boolean): boolean {
    const kind = each ? undefined : syntacticKind(ts, argument);
    if (kind !== undefined) return kind === 'object';
    const type = checker.getTypeAtLocation(argument);
    return !(each ? facts.elementTypes(type) : [type]).every(facts.nothingToProxy);
  }

  /**
   * Plans the arguments from `offset` on, which land in `info`'s parameters
   * from the first on. With `plan.unwrapped`, a `ProxyOr` parameter whose
   * value never leaves the process in the callee's body is not wrapped (for
   * the task of a submit-style call there is none: the call sends its arguments).
   */
  function planArguments(args: readonly ts.Expression[], offset: number, info: SignatureInfo, plan: { wraps: Wrap[]; findings: ProxyToPlainParameter[]; unwrapped?: Unwrapped[] }): void {
    const { wraps, findings, unwrapped } = plan;
    let firstSpread: number | undefined;
    for (let index = offset; index < args.length; index++) {
      const argument = args[index] as ts.Expression;
      const position = index - offset;
      const each = ts.isSpreadElement(argument);
      if (each) firstSpread ??= position;
      if (firstSpread !== undefined) {
        if (proxyOrFrom(info, firstSpread) && worthWrapping(each ? argument.expression : argument, each)) wraps.push({ index, each });
        continue;
      }
      const parameter = parameterAt(info, position);
      if (parameter?.proxyOr === true) {
        if (!worthWrapping(argument, false)) continue;
        if (unwrapped !== undefined && !parameter.rest && escapes.escapeOf(parameter.declaration) === undefined) {
          unwrapped.push({ index, argument, reason: `never leaves this process: '${info.callee}' only uses '${parameter.name}' here, so it gets the value itself` });
        } else {
          wraps.push({ index, each: false });
        }
      } else if (parameter?.plain === true && syntacticKind(ts, argument) === undefined) {
        const type = checker.getTypeAtLocation(argument);
        if (facts.definitelyProxy(type)) findings.push(finding(argument, info.callee, parameter, type));
      }
    }
  }

  function finding(argument: ts.Expression, callee: string, parameter: ParameterInfo, type: ts.Type): ProxyToPlainParameter {
    let declared = checker.getTypeFromTypeNode(parameter.declaration.type as ts.TypeNode);
    // The argument fills one element of a rest parameter: name the element's type.
    if (parameter.rest && checker.isArrayType(declared)) declared = checker.getTypeArguments(declared as ts.TypeReference)[0] ?? declared;
    const parameterType = checker.typeToString(declared);
    return { argument, callee, parameter: parameter.name, parameterType, argumentType: checker.typeToString(type) };
  }

  function submitApiOf(call: ts.CallExpression, declaration: ts.SignatureDeclaration | undefined): SubmitApi | undefined {
    const callee = call.expression;
    const name = ts.isIdentifier(callee) ? callee.text : ts.isPropertyAccessExpression(callee) ? callee.name.text : undefined;
    if (name === undefined || !submitMethods.has(name)) return undefined;
    const candidates = options.submitApis.filter((api) => api.method === name && call.arguments.length > api.fn);
    if (candidates.length === 0) return undefined;
    if (declaration !== undefined && program.isSourceFileDefaultLibrary(declaration.getSourceFile())) return undefined;
    return candidates.find((api) => api.receiver === undefined || (ts.isPropertyAccessExpression(callee) && hasTypeNamed(checker.getTypeAtLocation(callee.expression), api.receiver, 4)));
  }

  function hasTypeNamed(type: ts.Type, name: string, depth: number): boolean {
    const apparent = checker.getApparentType(type);
    if (apparent.isUnionOrIntersection()) return apparent.types.some((member) => hasTypeNamed(member, name, depth));
    if ((apparent.aliasSymbol ?? apparent.getSymbol())?.getName() === name) return true;
    const target = (apparent as ts.TypeReference).target ?? apparent;
    if (depth === 0 || !target.isClassOrInterface()) return false;
    return checker.getBaseTypes(target).some((base) => hasTypeNamed(base, name, depth - 1));
  }

  function planSubmit(call: ts.CallExpression, api: SubmitApi, wraps: Wrap[], findings: ProxyToPlainParameter[]): void {
    const task = call.arguments[api.fn] as ts.Expression;
    const taskSignatures = checker.getTypeAtLocation(task).getCallSignatures();
    // An overloaded task does not say which parameters its arguments land in.
    const declaration = taskSignatures.length === 1 ? signatures.declarationOf(taskSignatures[0]) : undefined;
    if (declaration === undefined) return;
    const info = signatures.infoOf(declaration);
    if (api.args === 'spread') {
      planArguments(call.arguments, api.fn + 1, info, { wraps, findings });
      return;
    }
    const index = api.fn + 1;
    const items = call.arguments[index];
    if (items !== undefined && !ts.isSpreadElement(items) && parameterAt(info, 0)?.proxyOr === true && worthWrapping(items, true)) {
      wraps.push({ index, each: true });
    }
  }

  /**
   * `f.call(thisArg, a, b)` and `f.apply(thisArg, [a, b])` (or `apply(thisArg, list)`)
   * of a function with one signature: the arguments land in f's parameters as
   * in `f(a, b)`. Undefined for every other call, and when nothing is found.
   */
  function planBound(call: ts.CallExpression | ts.NewExpression): CallPlan | undefined {
    const callee = call.expression;
    if (!ts.isCallExpression(call) || !ts.isPropertyAccessExpression(callee) || (callee.name.text !== 'call' && callee.name.text !== 'apply')) return undefined;
    // Function.prototype's own call/apply, not a method of the user's that happens to be named so.
    const builtIn = checker.getResolvedSignature(call)?.getDeclaration();
    if (builtIn === undefined || !program.isSourceFileDefaultLibrary(builtIn.getSourceFile())) return undefined;
    const targets = checker.getTypeAtLocation(callee.expression).getCallSignatures();
    const declaration = targets.length === 1 ? signatures.declarationOf(targets[0]) : undefined;
    if (declaration === undefined) return undefined;
    const info = signatures.infoOf(declaration);
    const wraps: Wrap[] = [];
    const findings: ProxyToPlainParameter[] = [];
    const list = call.arguments[1];
    if (callee.name.text === 'call') {
      planArguments(call.arguments, 1, info, { wraps, findings });
    } else if (list !== undefined && ts.isArrayLiteralExpression(list) && !list.elements.some(ts.isOmittedExpression)) {
      const inList: Wrap[] = [];
      planArguments(list.elements, 0, info, { wraps: inList, findings });
      wraps.push(...inList.map((w) => ({ index: 1, element: w.index, each: w.each })));
    } else if (list !== undefined && !ts.isSpreadElement(list) && proxyOrFrom(info, 0) && worthWrapping(list, true)) {
      wraps.push({ index: 1, each: true });
    }
    return wraps.length === 0 && findings.length === 0 ? undefined : { wraps, findings, unwrapped: [] };
  }

  return (call) => {
    const args = call.arguments;
    if (args === undefined || args.length === 0 || call.expression.kind === ts.SyntaxKind.ImportKeyword) return undefined;
    const bound = planBound(call);
    if (bound !== undefined) return bound;
    const declaration = signatures.declarationOf(checker.getResolvedSignature(call));
    const wraps: Wrap[] = [];
    const findings: ProxyToPlainParameter[] = [];
    let unwrapped: Unwrapped[] = [];
    if (declaration !== undefined) planArguments(args, 0, signatures.infoOf(declaration), { wraps, findings, unwrapped });
    const api = ts.isCallExpression(call) ? submitApiOf(call, declaration) : undefined;
    if (api !== undefined) {
      const direct = new Set(wraps.map((w) => w.index));
      const submitted: Wrap[] = [];
      planSubmit(call as ts.CallExpression, api, submitted, findings);
      wraps.push(...submitted.filter((w) => !direct.has(w.index)));
      // What the task is sent is wrapped, whatever the submitting function's own parameter says.
      unwrapped = unwrapped.filter((u) => !wraps.some((w) => w.index === u.index));
    }
    return wraps.length === 0 && findings.length === 0 && unwrapped.length === 0 ? undefined : { wraps, findings, unwrapped };
  };
}


/** One analyzer per program, made with the options of the first question about it. */
const explainers = memoize((program: ts.Program, ts: TypeScript, options: ResolvedOptions) => createCallAnalyzer(ts, program, { ...options, diagnostics: 'off' }));

/**
 * For editors (a language-service plugin) and explanations: the arguments of
 * `call` passed to `ProxyOr` parameters that the transformer leaves as they
 * are, each with the reason ("never leaves this process: …"). Empty when every
 * such argument is wrapped, or there is none. Asking about many calls of one
 * program costs one analysis per callee. `options` (the plugin entry's,
 * resolved; they decide the submit-style APIs) count on a program's first call.
 */
export function whyNotWrapped(ts: TypeScript, program: ts.Program, call: ts.CallExpression | ts.NewExpression, options: ResolvedOptions = resolveOptions({}).options): readonly Unwrapped[] {
  return explainers(program, ts, options)(call)?.unwrapped ?? [];
}
