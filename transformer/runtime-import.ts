/**
 * The one import of the run time that a file with wrapped arguments needs,
 * added so that the rest of the emitted file stays byte for byte what plain
 * tsc writes.
 *
 * It is added when the file is printed (a substitution of the SourceFile
 * node), not by the transform itself: by then TypeScript's own transforms have
 * run, so the import sees the final statements. Added earlier, it would be a
 * statement TypeScript's module transform takes into account: an ES module
 * whose only import was `import type` would lose the `export {};` tsc writes
 * to keep it a module, and a CommonJS file would get its require in a
 * different place. It goes after the shebang, the directive prologue
 * (`'use strict'`), the comments tsc prints as a detached file header, and any
 * license header (`/*! … *\/`, `@license`, `@preserve`, copyright) or
 * triple-slash directive on the first statement.
 */
import type * as ts from 'typescript';
import type { TypeScript } from './typescript-api.js';

/** What the inserted import loads; the package's `./auto-proxy` export. */
const RUNTIME_MODULE = 'ts-proxystore/auto-proxy';

/** Comments kept above the import: what minifiers and license tools treat as a header, and triple-slash directives. */
const LICENSE_COMMENT = /^\/\*!|^\/\/\/|@license\b|@preserve\b|\bcopyright\b/i;

export type ImportStyle = 'esm' | 'commonjs';

interface RuntimeImport {
  readonly binding: ts.Identifier;
  readonly style: ImportStyle;
}

type RequestImport = (sourceFile: ts.SourceFile, wanted: RuntimeImport) => void;

const perContext = new WeakMap<ts.TransformationContext, RequestImport>();

/**
 * How a file's transform asks for the import. The printing-time step that adds
 * it is registered on the transformation context the first time.
 */
export function runtimeImports(ts: TypeScript, context: ts.TransformationContext): RequestImport {
  let request = perContext.get(context);
  if (request === undefined) {
    request = register(ts, context);
    perContext.set(context, request);
  }
  return request;
}

function register(ts: TypeScript, context: ts.TransformationContext): RequestImport {
  const wanted = new WeakMap<ts.Node, RuntimeImport>();
  context.enableSubstitution(ts.SyntaxKind.SourceFile);
  const previous = context.onSubstituteNode;
  context.onSubstituteNode = (hint, node) => {
    const substituted = previous(hint, node);
    if (hint !== ts.EmitHint.SourceFile || !ts.isSourceFile(substituted)) return substituted;
    const request = wanted.get(ts.getParseTreeNode(substituted) ?? substituted);
    return request === undefined ? substituted : withImport(ts, context.factory, substituted, request);
  };
  return (sourceFile, request) => {
    wanted.set(ts.getParseTreeNode(sourceFile) ?? sourceFile, request);
  };
}

function withImport(ts: TypeScript, factory: ts.NodeFactory, file: ts.SourceFile, request: RuntimeImport): ts.SourceFile {
  const { statements } = file;
  let prologue = 0;
  while (prologue < statements.length && isDirective(ts, statements[prologue] as ts.Statement)) prologue++;
  const statement = declaration(ts, factory, request);
  const first = statements[prologue];
  if (first !== undefined) moveLicenseHeader(ts, file, first, statement, prologue === 0 ? statements.pos : undefined);
  const list = factory.createNodeArray([...statements.slice(0, prologue), statement, ...statements.slice(prologue)]);
  // The list keeps the statements' range: tsc prints the file's detached header and its last comments from it.
  return factory.updateSourceFile(file, ts.setTextRange(list, statements));
}

/** `'use strict'` and the like, which only count at the very top. */
function isDirective(ts: TypeScript, statement: ts.Statement): boolean {
  return ts.isExpressionStatement(statement) && ts.isStringLiteral(statement.expression);
}

function declaration(ts: TypeScript, factory: ts.NodeFactory, { binding, style }: RuntimeImport): ts.Statement {
  const specifier = factory.createStringLiteral(RUNTIME_MODULE);
  if (style === 'esm') {
    return factory.createImportDeclaration(undefined, factory.createImportClause(undefined, undefined, factory.createNamespaceImport(binding)), specifier);
  }
  // A plain `require`: this runs after the CommonJS transform, and needs no interop helper.
  const required = factory.createCallExpression(factory.createIdentifier('require'), undefined, [specifier]);
  return factory.createVariableStatement(
    undefined,
    factory.createVariableDeclarationList([factory.createVariableDeclaration(binding, undefined, undefined, required)], ts.NodeFlags.Const),
  );
}

/**
 * License comments that lead the first statement move onto the import, so
 * they stay at the top of the file. Comments tsc prints as a detached header
 * (`detachedFrom`: where the statement list starts, when nothing precedes it)
 * are printed before the import anyway and stay where they are.
 *
 * The statement's own source comments are switched off and the ones it keeps
 * (a doc comment, say) given back as synthetic ones: moving its comment range
 * instead would make its first token (an `export` modifier at the same
 * position) print the whole header again.
 */
function moveLicenseHeader(ts: TypeScript, file: ts.SourceFile, first: ts.Statement, onto: ts.Statement, detachedFrom: number | undefined): void {
  const range = ts.getCommentRange(first);
  const flags = emitFlagsOf(ts, first);
  if (range.pos < 0 || flags & ts.EmitFlags.NoLeadingComments) return;
  const { text } = file;
  let comments = ts.getLeadingCommentRanges(text, range.pos) ?? [];
  if (detachedFrom !== undefined && detachedFrom === range.pos) comments = comments.slice(detachedHeaderLength(file, comments));
  let header = 0;
  while (header < comments.length && LICENSE_COMMENT.test(text.slice((comments[header] as ts.CommentRange).pos, (comments[header] as ts.CommentRange).end))) header++;
  if (header === 0) return;
  const synthetic = (comment: ts.CommentRange): ts.SynthesizedComment => ({
    kind: comment.kind,
    text: comment.kind === ts.SyntaxKind.MultiLineCommentTrivia ? text.slice(comment.pos + 2, comment.end - 2) : text.slice(comment.pos + 2, comment.end),
    hasTrailingNewLine: comment.hasTrailingNewLine ?? false,
    pos: -1,
    end: -1,
  });
  ts.setSyntheticLeadingComments(onto, comments.slice(0, header).map(synthetic));
  ts.setEmitFlags(first, flags | ts.EmitFlags.NoLeadingComments);
  ts.setSyntheticLeadingComments(first, [...comments.slice(header).map(synthetic), ...(ts.getSyntheticLeadingComments(first) ?? [])]);
}

/** getEmitFlags is not in TypeScript's public typings, but every version has it; setEmitFlags replaces all flags, so they are read first. */
function emitFlagsOf(ts: TypeScript, node: ts.Node): ts.EmitFlags {
  return (ts as unknown as { getEmitFlags?: (node: ts.Node) => ts.EmitFlags }).getEmitFlags?.(node) ?? 0;
}

/**
 * How many of the leading comments tsc prints as the file's detached header:
 * the first run of comments with no blank line between them, when a blank line
 * separates it from the code (the rule of tsc's emitDetachedComments).
 */
function detachedHeaderLength(file: ts.SourceFile, comments: readonly ts.CommentRange[]): number {
  const last = comments[comments.length - 1];
  if (last === undefined) return 0;
  const lineOf = (position: number): number => file.getLineAndCharacterOfPosition(position).line;
  let run = 1;
  while (run < comments.length && lineOf((comments[run] as ts.CommentRange).pos) < lineOf((comments[run - 1] as ts.CommentRange).end) + 2) run++;
  const whitespace = /\s*/y;
  whitespace.lastIndex = last.end;
  whitespace.exec(file.text);
  return lineOf(whitespace.lastIndex) >= lineOf((comments[run - 1] as ts.CommentRange).end) + 2 ? run : 0;
}
