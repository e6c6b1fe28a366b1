/**
 * What a call's resolved signature says about each parameter: annotated
 * `ProxyOr<…>` (arguments get wrapped), or typed plainly in the user's own code
 * (a proxy passed there is reported). Read once per declaration.
 */
import type * as ts from 'typescript';
import { packageModule } from '../src/analysis/package-files.js';
import type { ProxyTypes } from '../src/analysis/proxy-types.js';
import { nativeUses } from '../src/analysis/native-uses.js';
import type { TypeFacts } from './type-facts.js';
import type { TypeScript } from './typescript-api.js';

export interface ParameterInfo {
  readonly name: string;
  readonly rest: boolean;
  readonly proxyOr: boolean;
  /** Typed, in the user's own code, as something other than ProxyOr/any/unknown/generic/a proxy/a primitive. */
  readonly plain: boolean;
  readonly declaration: ts.ParameterDeclaration;
}

export interface SignatureInfo {
  /** How diagnostics name the function: `save`, `Repository.put`, `new Repository`. */
  readonly callee: string;
  readonly parameters: readonly ParameterInfo[];
}

export interface SignatureReader {
  /** The declaration behind a signature, when it is one with parameters (not JSDoc, not an implicit constructor). */
  declarationOf(signature: ts.Signature | undefined): ts.SignatureDeclaration | undefined;
  infoOf(declaration: ts.SignatureDeclaration): SignatureInfo;
}

export function createSignatureReader(ts: TypeScript, program: ts.Program, types: ProxyTypes, facts: TypeFacts, diagnose: boolean): SignatureReader {
  const checker = program.getTypeChecker();
  const known = new WeakMap<ts.Node, SignatureInfo>();
  // A ProxyOr parameter its function hands to a built-in needing the real object is not wrapped (TS98004).
  const natives = nativeUses(ts, program, types);

  function elementAnnotation(annotation: ts.TypeNode): ts.TypeNode | undefined {
    if (ts.isArrayTypeNode(annotation)) return annotation.elementType;
    if (ts.isTypeOperatorNode(annotation) && annotation.operator === ts.SyntaxKind.ReadonlyKeyword) return elementAnnotation(annotation.type);
    if (ts.isParenthesizedTypeNode(annotation)) return elementAnnotation(annotation.type);
    if (!ts.isTypeReferenceNode(annotation) || !ts.isIdentifier(annotation.typeName)) return undefined;
    const { typeName, typeArguments } = annotation;
    return (typeName.text === 'Array' || typeName.text === 'ReadonlyArray') && typeArguments?.length === 1 ? typeArguments[0] : undefined;
  }

  function annotatedProxyOr(parameter: ts.ParameterDeclaration): boolean {
    const annotation = parameter.type;
    if (annotation === undefined) return false;
    // A rest parameter's arguments are its elements: `...xs: ProxyOr<T>[]`.
    const declared = parameter.dotDotDotToken === undefined ? annotation : elementAnnotation(annotation);
    return declared !== undefined && types.isProxyOrAnnotation(declared);
  }

  function plainlyTyped(parameter: ts.ParameterDeclaration): boolean {
    if (parameter.type === undefined || types.acceptsProxy(parameter)) return false;
    return !facts.nothingToProxy(checker.getTypeFromTypeNode(parameter.type));
  }

  function calleeName(declaration: ts.SignatureDeclaration): string {
    const owner = declaration.parent;
    const ownerName = owner !== undefined && (ts.isClassLike(owner) || ts.isInterfaceDeclaration(owner)) ? owner.name?.text : undefined;
    if (ts.isConstructorDeclaration(declaration)) return `new ${ownerName ?? '(anonymous class)'}`;
    const name = declaration.name !== undefined ? declaration.name.getText() : ts.isVariableDeclaration(owner) ? owner.name.getText() : '(anonymous function)';
    return ownerName === undefined ? name : `${ownerName}.${name}`;
  }

  function infoOf(declaration: ts.SignatureDeclaration): SignatureInfo {
    let info = known.get(declaration);
    if (info !== undefined) return info;
    const file = declaration.getSourceFile();
    // This package's own functions (isProxy, extract, …) take ProxyOr to inspect proxies, not to receive them.
    const ours = packageModule(file.fileName) !== undefined;
    const lib = program.isSourceFileDefaultLibrary(file);
    // Only the user's own declarations can be re-annotated, so only those are diagnosed.
    const own = !ours && !lib && !program.isSourceFileFromExternalLibrary(file);
    // TypeScript's lib and this package have no parameter to wrap or report: no need to read theirs.
    info = {
      callee: calleeName(declaration),
      parameters: (ours || lib ? [] : declaration.parameters).map((parameter) => ({
        name: parameter.name.getText(file),
        rest: parameter.dotDotDotToken !== undefined,
        proxyOr: annotatedProxyOr(parameter) && natives.of(parameter).length === 0,
        plain: own && diagnose && plainlyTyped(parameter),
        declaration: parameter,
      })),
    };
    known.set(declaration, info);
    return info;
  }

  function declarationOf(signature: ts.Signature | undefined): ts.SignatureDeclaration | undefined {
    const declaration = signature?.getDeclaration() as ts.SignatureDeclaration | ts.JSDocSignature | undefined;
    return declaration !== undefined && !ts.isJSDocSignature(declaration) && 'parameters' in declaration ? declaration : undefined;
  }

  return { declarationOf, infoOf };
}

/** The parameter an argument position lands in; positions past a rest parameter land in it. */
export function parameterAt(info: SignatureInfo, position: number): ParameterInfo | undefined {
  const { parameters } = info;
  const last = parameters[parameters.length - 1];
  return position >= parameters.length - 1 && last?.rest === true ? last : parameters[position];
}

/** Every parameter from `position` on is ProxyOr: arguments after a spread may land in any of them. */
export function proxyOrFrom(info: SignatureInfo, position: number): boolean {
  const { parameters } = info;
  const start = parameters[parameters.length - 1]?.rest === true ? Math.min(position, parameters.length - 1) : position;
  const later = parameters.slice(start);
  return later.length > 0 && later.every((parameter) => parameter.proxyOr);
}
