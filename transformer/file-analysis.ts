/**
 * One pass over a source file's calls: which ones get wrapped (and the path
 * down to them, so the transform visits only those subtrees) and what is
 * reported. Shared by the transform, type-check-only runs (which emit no JS,
 * so no file goes through the transform) and the language-service plugin.
 */
import path from 'node:path';
import type * as ts from 'typescript';
import { memoize } from '../src/analysis/memoize.js';
import { isOwnModule } from '../src/analysis/package-files.js';
import { proxyTypes } from '../src/analysis/proxy-types.js';
import type { CallAnalyzer, CallPlan } from './call-sites.js';
import { proxyOrToNative, proxyToPlainParameter } from './diagnostics.js';
import { nativeUses } from '../src/analysis/native-uses.js';
import type { ResolvedOptions } from './options.js';
import type { TypeScript } from './typescript-api.js';

export interface FileAnalysis {
  /** Calls with arguments to wrap, by parse-tree node. */
  readonly plans: ReadonlyMap<ts.Node, CallPlan>;
  /** Every node from the file down to a call in `plans`. */
  readonly onPath: ReadonlySet<ts.Node>;
}

/** Walks the parse tree (the only tree the checker knows), reporting each finding as a diagnostic. */
export function analyzeFile(
  ts: TypeScript,
  program: ts.Program,
  file: ts.SourceFile,
  analyze: CallAnalyzer,
  options: ResolvedOptions,
  report: (diagnostic: ts.Diagnostic) => void,
): FileAnalysis {
  const plans = new Map<ts.Node, CallPlan>();
  const onPath = new Set<ts.Node>();
  const natives = options.diagnostics === 'off' ? undefined : nativeUses(ts, program, proxyTypes(program.getTypeChecker(), ts));
  const visit = (node: ts.Node): void => {
    if (holdsNoCall(ts, node)) return;
    if (natives !== undefined && ts.isFunctionLike(node)) {
      for (const parameter of node.parameters) {
        for (const use of natives.of(parameter)) report(proxyOrToNative(ts, options.diagnostics as 'error' | 'warning', use, functionName(ts, node)));
      }
    }
    if (ts.isCallExpression(node) || ts.isNewExpression(node)) {
      const plan = analyze(node);
      // Findings only exist when diagnostics are on.
      for (const found of plan?.findings ?? []) report(proxyToPlainParameter(ts, options.diagnostics as 'error' | 'warning', found));
      if (plan !== undefined && plan.wraps.length > 0) {
        plans.set(node, plan);
        for (let up: ts.Node | undefined = node; up !== undefined && !onPath.has(up); up = up.parent) onPath.add(up);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return { plans, onPath };
}

/**
 * Types, interfaces, type aliases and imports: no call or `new` inside, and no
 * function body. Not walking them spares a good part of a typed file's nodes.
 */
function holdsNoCall(ts: TypeScript, node: ts.Node): boolean {
  const { SyntaxKind } = ts;
  const kind = node.kind;
  return (
    (kind >= SyntaxKind.FirstTypeNode && kind <= SyntaxKind.LastTypeNode) ||
    kind === SyntaxKind.InterfaceDeclaration ||
    kind === SyntaxKind.TypeAliasDeclaration ||
    kind === SyntaxKind.ImportDeclaration
  );
}

function functionName(ts: TypeScript, node: ts.SignatureDeclaration): string {
  if (node.name !== undefined) return node.name.getText();
  const parent = node.parent;
  return ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) ? parent.name.getText() : 'this function';
}

/**
 * Whether the program holds this package's type declarations. Without them no
 * parameter is `ProxyOr` and no value a `Proxy`, so there is nothing to wrap
 * or report in any of its files, and the analysis is skipped altogether.
 */
export const loadsProxyTypes = memoize((program: ts.Program): boolean => program.getSourceFiles().some((file) => isOwnModule(file.fileName, 'types')));

/** The file, as its path relative to the project directory, is one the transform works on: not a declaration file, not excluded. */
export function transformsFile(file: ts.SourceFile, options: ResolvedOptions, projectDir: string): boolean {
  return !file.isDeclarationFile && !options.excluded(relativePath(file, projectDir));
}

export function relativePath(file: ts.SourceFile, projectDir: string): string {
  return path.relative(projectDir, file.fileName).replaceAll('\\', '/');
}

/** The tsconfig's directory: call sites and `exclude` globs are relative to it, so they do not depend on where the build runs. */
export function projectDirectory(program: ts.Program): string {
  const configFile = program.getCompilerOptions().configFilePath;
  return typeof configFile === 'string' ? path.dirname(configFile) : program.getCurrentDirectory();
}
