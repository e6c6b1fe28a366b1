/**
 * Decides, for one call or `new` expression, which arguments get wrapped with
 * autoProxy and which pass a proxy to a parameter that does not expect one.
 * Everything is read from the type checker: the signature the call resolved
 * to (so overloads, generics, methods, default imports and re-exports are
 * whatever TypeScript says they are) and parameter annotations resolved to this
 * package's `ProxyOr` declaration.
 */
import type * as ts from 'typescript';
import { packageModule } from '../eslint-plugin/utils/package-files.js';
import { proxyTypes } from '../eslint-plugin/utils/proxy-types.js';
import type { ProxyToPlainParameter } from './diagnostics.js';
import type { ResolvedOptions } from './options.js';
import { createSignatureReader, parameterAt, proxyOrFrom, type ParameterInfo, type SignatureInfo } from './signatures.js';
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

export interface CallPlan {
  readonly wraps: readonly Wrap[];
  readonly findings: readonly ProxyToPlainParameter[];
}

export type CallAnalyzer = (call: ts.CallExpression | ts.NewExpression) => CallPlan | undefined;

export function createCallAnalyzer(ts: TypeScript, program: ts.Program, options: ResolvedOptions): CallAnalyzer {
  const checker = program.getTypeChecker();
  const types = proxyTypes(checker, ts);
  const facts = createTypeFacts(ts, checker, types);
  // Nothing can be a proxy in a program that never loads this package's types.
  const diagnose = options.diagnostics !== 'off' && program.getSourceFiles().some((file) => packageModule(file.fileName) === 'src/types');
  const signatures = createSignatureReader(ts, program, types, facts, diagnose);

  function worthWrapping(argument: ts.Expression, each: boolean): boolean {
    const kind = each ? undefined : syntacticKind(ts, argument);
    if (kind !== undefined) return kind === 'object';
    const type = checker.getTypeAtLocation(argument);
    return !(each ? facts.elementTypes(type) : [type]).every(facts.nothingToProxy);
  }

  /** Plans the arguments from `offset` on, which land in `info`'s parameters from the first on. */
  function planArguments(args: readonly ts.Expression[], offset: number, info: SignatureInfo, wraps: Wrap[], findings: ProxyToPlainParameter[]): void {
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
        if (worthWrapping(argument, false)) wraps.push({ index, each: false });
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
    if (name === undefined) return undefined;
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
      planArguments(call.arguments, api.fn + 1, info, wraps, findings);
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
      planArguments(call.arguments, 1, info, wraps, findings);
    } else if (list !== undefined && ts.isArrayLiteralExpression(list) && !list.elements.some(ts.isOmittedExpression)) {
      const inList: Wrap[] = [];
      planArguments(list.elements, 0, info, inList, findings);
      wraps.push(...inList.map((w) => ({ index: 1, element: w.index, each: w.each })));
    } else if (list !== undefined && !ts.isSpreadElement(list) && proxyOrFrom(info, 0) && worthWrapping(list, true)) {
      wraps.push({ index: 1, each: true });
    }
    return wraps.length === 0 && findings.length === 0 ? undefined : { wraps, findings };
  }

  return (call) => {
    const args = call.arguments;
    if (args === undefined || args.length === 0 || call.expression.kind === ts.SyntaxKind.ImportKeyword) return undefined;
    const bound = planBound(call);
    if (bound !== undefined) return bound;
    const declaration = signatures.declarationOf(checker.getResolvedSignature(call));
    const wraps: Wrap[] = [];
    const findings: ProxyToPlainParameter[] = [];
    if (declaration !== undefined) planArguments(args, 0, signatures.infoOf(declaration), wraps, findings);
    const api = ts.isCallExpression(call) ? submitApiOf(call, declaration) : undefined;
    if (api !== undefined) {
      const direct = new Set(wraps.map((w) => w.index));
      const submitted: Wrap[] = [];
      planSubmit(call as ts.CallExpression, api, submitted, findings);
      wraps.push(...submitted.filter((w) => !direct.has(w.index)));
    }
    return wraps.length === 0 && findings.length === 0 ? undefined : { wraps, findings };
  };
}

