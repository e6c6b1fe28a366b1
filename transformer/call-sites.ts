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
import type { SubmitApi } from './submit-apis.js';
import type { TypeScript } from './typescript-api.js';

export interface Wrap {
  readonly index: number;
  /** The argument is a spread or an iterable of task arguments: wrap each item, not the whole. */
  readonly each: boolean;
}

export interface CallPlan {
  readonly wraps: readonly Wrap[];
  readonly findings: readonly ProxyToPlainParameter[];
}

export type CallAnalyzer = (call: ts.CallExpression | ts.NewExpression) => CallPlan | undefined;

interface ParameterInfo {
  readonly name: string;
  readonly rest: boolean;
  readonly proxyOr: boolean;
  /** Typed, in the user's own code, as something other than ProxyOr/any/unknown/generic/a proxy/a primitive. */
  readonly plain: boolean;
  readonly declaration: ts.ParameterDeclaration;
}

interface SignatureInfo {
  readonly callee: string;
  readonly parameters: readonly ParameterInfo[];
}

export function createCallAnalyzer(ts: TypeScript, program: ts.Program, options: ResolvedOptions): CallAnalyzer {
  const checker = program.getTypeChecker();
  const types = proxyTypes(checker, ts);
  // Nothing can be a proxy in a program that never loads this package's types.
  const diagnose = options.diagnostics !== 'off' && program.getSourceFiles().some((file) => packageModule(file.fileName) === 'src/types');
  const signatures = new WeakMap<ts.Node, SignatureInfo>();
  const PRIMITIVE =
    ts.TypeFlags.StringLike |
    ts.TypeFlags.NumberLike |
    ts.TypeFlags.BigIntLike |
    ts.TypeFlags.BooleanLike |
    ts.TypeFlags.EnumLike |
    ts.TypeFlags.ESSymbolLike |
    ts.TypeFlags.VoidLike |
    ts.TypeFlags.Null |
    ts.TypeFlags.Never;

  /** No member of the type could be turned into a proxy: primitives and values that are proxies already. */
  function nothingToProxy(type: ts.Type): boolean {
    if (type.isUnion()) return type.types.every(nothingToProxy);
    if (type.flags & ts.TypeFlags.TypeParameter) {
      const constraint = checker.getBaseConstraintOfType(type);
      return constraint !== undefined && !(constraint.flags & ts.TypeFlags.Unknown) && nothingToProxy(constraint);
    }
    return (type.flags & PRIMITIVE) !== 0 || types.isProxy(type);
  }

  /**
   * A proxy whatever value it holds (null and undefined aside). A `ProxyOr<T>`
   * is not: passing one on to a helper typed `T` is how ProxyOr functions are
   * written, and reporting it would bury the real cases.
   */
  function definitelyProxy(type: ts.Type): boolean {
    if (!type.isUnion()) return types.isProxy(type);
    const values = type.types.filter((member) => !(member.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)));
    return values.length > 0 && values.every((member) => types.isProxy(member));
  }

  /** For spreads and item lists: the element types when TypeScript knows them, else the iterable's own type. */
  function elementTypes(type: ts.Type): readonly ts.Type[] {
    if (checker.isArrayType(type) || checker.isTupleType(type)) return checker.getTypeArguments(type as ts.TypeReference);
    return [type];
  }

  /**
   * What the syntax alone says about an argument: a fresh object (never a proxy
   * yet), something that can never be proxied, or undefined when only its
   * type can tell. Spares the checker for most literal arguments.
   */
  function syntacticKind(argument: ts.Expression): 'object' | 'unproxiable' | undefined {
    const { SyntaxKind } = ts;
    switch (argument.kind) {
      case SyntaxKind.ObjectLiteralExpression:
      case SyntaxKind.ArrayLiteralExpression:
      case SyntaxKind.NewExpression:
        return 'object';
      case SyntaxKind.NumericLiteral:
      case SyntaxKind.BigIntLiteral:
      case SyntaxKind.StringLiteral:
      case SyntaxKind.NoSubstitutionTemplateLiteral:
      case SyntaxKind.TemplateExpression:
      case SyntaxKind.TrueKeyword:
      case SyntaxKind.FalseKeyword:
      case SyntaxKind.NullKeyword:
      case SyntaxKind.PrefixUnaryExpression:
      case SyntaxKind.PostfixUnaryExpression:
      case SyntaxKind.TypeOfExpression:
      case SyntaxKind.VoidExpression:
      case SyntaxKind.DeleteExpression:
      // autoProxy passes functions through, so wrapping them gains nothing.
      case SyntaxKind.ArrowFunction:
      case SyntaxKind.FunctionExpression:
      case SyntaxKind.ClassExpression:
        return 'unproxiable';
      default:
        return undefined;
    }
  }

  function worthWrapping(argument: ts.Expression, each: boolean): boolean {
    const kind = each ? undefined : syntacticKind(argument);
    if (kind !== undefined) return kind === 'object';
    const type = checker.getTypeAtLocation(argument);
    return !(each ? elementTypes(type) : [type]).every(nothingToProxy);
  }

  function elementAnnotation(annotation: ts.TypeNode): ts.TypeNode | undefined {
    if (ts.isArrayTypeNode(annotation)) return annotation.elementType;
    if (ts.isTypeOperatorNode(annotation) && annotation.operator === ts.SyntaxKind.ReadonlyKeyword) return elementAnnotation(annotation.type);
    if (ts.isParenthesizedTypeNode(annotation)) return elementAnnotation(annotation.type);
    const { typeName, typeArguments } = ts.isTypeReferenceNode(annotation) ? annotation : { typeName: undefined, typeArguments: undefined };
    const generic = typeName !== undefined && ts.isIdentifier(typeName) && (typeName.text === 'Array' || typeName.text === 'ReadonlyArray');
    return generic && typeArguments?.length === 1 ? typeArguments[0] : undefined;
  }

  function annotatedProxyOr(parameter: ts.ParameterDeclaration): boolean {
    const annotation = parameter.type;
    if (annotation === undefined) return false;
    const declared = parameter.dotDotDotToken === undefined ? annotation : elementAnnotation(annotation);
    return declared !== undefined && types.isProxyOrAnnotation(declared);
  }

  function plainlyTyped(parameter: ts.ParameterDeclaration): boolean {
    if (parameter.type === undefined || types.acceptsProxy(parameter)) return false;
    return !nothingToProxy(checker.getTypeFromTypeNode(parameter.type));
  }

  function signatureInfo(declaration: ts.SignatureDeclaration): SignatureInfo {
    let info = signatures.get(declaration);
    if (info !== undefined) return info;
    const file = declaration.getSourceFile();
    // This package's own functions (isProxy, extract, …) take ProxyOr to inspect proxies, not to receive them.
    const ours = packageModule(file.fileName) !== undefined;
    const lib = program.isSourceFileDefaultLibrary(file);
    // Only the user's own declarations can be re-annotated, so only those are diagnosed.
    const own = !ours && !lib && !program.isSourceFileFromExternalLibrary(file);
    info = {
      callee: calleeName(declaration),
      parameters: declaration.parameters.map((parameter) => ({
        name: parameter.name.getText(file),
        rest: parameter.dotDotDotToken !== undefined,
        proxyOr: !ours && !lib && annotatedProxyOr(parameter),
        plain: own && diagnose && plainlyTyped(parameter),
        declaration: parameter,
      })),
    };
    signatures.set(declaration, info);
    return info;
  }

  function calleeName(declaration: ts.SignatureDeclaration): string {
    const owner = declaration.parent;
    const ownerName = owner !== undefined && (ts.isClassLike(owner) || ts.isInterfaceDeclaration(owner)) ? owner.name?.text : undefined;
    if (ts.isConstructorDeclaration(declaration)) return `new ${ownerName ?? '(anonymous class)'}`;
    const name = declaration.name !== undefined ? declaration.name.getText() : ts.isVariableDeclaration(owner) ? owner.name.getText() : '(anonymous function)';
    return ownerName === undefined ? name : `${ownerName}.${name}`;
  }

  function parameterAt(info: SignatureInfo, position: number): ParameterInfo | undefined {
    const { parameters } = info;
    const last = parameters[parameters.length - 1];
    return position >= parameters.length - 1 && last?.rest === true ? last : parameters[position];
  }

  /** Every parameter from `position` on is ProxyOr: arguments after a spread may land in any of them. */
  function proxyOrFrom(info: SignatureInfo, position: number): boolean {
    const { parameters } = info;
    // Positions past a rest parameter land in it.
    const start = parameters[parameters.length - 1]?.rest === true ? Math.min(position, parameters.length - 1) : position;
    const later = parameters.slice(start);
    return later.length > 0 && later.every((parameter) => parameter.proxyOr);
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
      } else if (parameter?.plain === true && syntacticKind(argument) === undefined) {
        const type = checker.getTypeAtLocation(argument);
        if (definitelyProxy(type)) findings.push(finding(argument, info.callee, parameter, type));
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

  function declarationOf(signature: ts.Signature | undefined): ts.SignatureDeclaration | undefined {
    const declaration = signature?.getDeclaration() as ts.SignatureDeclaration | ts.JSDocSignature | undefined;
    return declaration !== undefined && !ts.isJSDocSignature(declaration) && 'parameters' in declaration ? declaration : undefined;
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
    const declaration = taskSignatures.length === 1 ? declarationOf(taskSignatures[0]) : undefined;
    if (declaration === undefined) return;
    const info = signatureInfo(declaration);
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

  return (call) => {
    const args = call.arguments;
    if (args === undefined || args.length === 0 || call.expression.kind === ts.SyntaxKind.ImportKeyword) return undefined;
    const declaration = declarationOf(checker.getResolvedSignature(call));
    const wraps: Wrap[] = [];
    const findings: ProxyToPlainParameter[] = [];
    if (declaration !== undefined) planArguments(args, 0, signatureInfo(declaration), wraps, findings);
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

