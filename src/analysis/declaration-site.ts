/**
 * Where a called function is declared, so rules can name built-ins
 * (`Buffer.from`, `fs.writeFile`, `postMessage`) and this package's own API by
 * declaration rather than by how the caller spelled the call.
 */
import type ts from 'typescript';
import { memoize } from './memoize.js';
import { isShippedFile } from './package-files.js';
import { typescript } from './typescript.js';

export interface DeclarationSite {
  /** The declared name; `new` for constructors and construct signatures. */
  readonly name: string;
  /** The innermost class or interface around the declaration. */
  readonly owner: string | undefined;
  /** The innermost `namespace` around the declaration (not `declare global`). */
  readonly namespace: string | undefined;
  /** The ambient module (`declare module 'fs'`), without a `node:` prefix. */
  readonly module: string | undefined;
  /** `lib` (TypeScript's own lib files), `self` (this package), an npm package name such as `@types/node`, or `local`. */
  readonly origin: string;
}

const PACKAGE_DIR = /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//;

function isOwnFile(file: ts.SourceFile): boolean {
  return isShippedFile(file.fileName);
}

export function originOf(file: ts.SourceFile, program: ts.Program): string {
  if (program.isSourceFileDefaultLibrary(file)) return 'lib';
  if (isOwnFile(file)) return 'self';
  return PACKAGE_DIR.exec(file.fileName)?.[1] ?? 'local';
}

/** True when the symbol (followed through imports) is declared by this package's shipped code. */
export function isOwnSymbol(symbol: ts.Symbol, checker: ts.TypeChecker): boolean {
  const target = symbol.flags & typescript.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  return target.declarations?.some((declaration) => isOwnFile(declaration.getSourceFile())) ?? false;
}

function declaredName(declaration: ts.Node): string {
  if (typescript.isConstructSignatureDeclaration(declaration) || typescript.isConstructorDeclaration(declaration)) return 'new';
  const named = (declaration as { name?: ts.Node }).name;
  if (named !== undefined && (typescript.isIdentifier(named) || typescript.isStringLiteral(named) || typescript.isPrivateIdentifier(named))) {
    return named.text;
  }
  // `declare var structuredClone: (value) => …` and similar: the name is the variable's.
  return typescript.isSourceFile(declaration.parent) ? '' : declaredName(declaration.parent);
}

/** Remembered per declaration. */
export const declarationSite: (declaration: ts.Node, program: ts.Program) => DeclarationSite = memoize(findDeclarationSite);

function findDeclarationSite(declaration: ts.Node, program: ts.Program): DeclarationSite {
  let owner: string | undefined;
  let namespace: string | undefined;
  let module: string | undefined;
  for (let node = declaration.parent; !typescript.isSourceFile(node); node = node.parent) {
    if ((typescript.isClassLike(node) || typescript.isInterfaceDeclaration(node)) && node.name !== undefined) owner ??= node.name.text;
    if (!typescript.isModuleDeclaration(node)) continue;
    if (typescript.isStringLiteral(node.name)) module ??= node.name.text.replace(/^node:/, '');
    else if (node.name.text !== 'global') namespace ??= node.name.text;
  }
  return { name: declaredName(declaration), owner, namespace, module, origin: originOf(declaration.getSourceFile(), program) };
}
