/**
 * The source-file transform: wraps the planned arguments in calls of the run
 * time's autoProxy and adds the one import that provides it. Nothing else in
 * the file is touched, so the emitted JS equals plain tsc's apart from those
 * calls and that import; wrapper calls take their argument's source range, so
 * layout, comments and source maps stay as they were.
 */
import type * as ts from 'typescript';
import { memoize } from '../src/analysis/memoize.js';
import { createCallAnalyzer, type CallAnalyzer, type CallPlan, type Wrap } from './call-sites.js';
import { invalidOption, unsupportedModuleFormat } from './diagnostics.js';
import { analyzeFile, loadsProxyTypes, projectDirectory, relativePath, transformsFile } from './file-analysis.js';
import { logWraps, msSince, transformerLog } from './log.js';
import type { ResolvedOptions } from './options.js';
import { runtimeImports, type ImportStyle } from './runtime-import.js';
import type { TypeScript } from './typescript-api.js';

/** Preferred name of the import's binding; a numbered one is used if the file already has it. */
const BINDING = '__proxystore';

export type Report = (diagnostic: ts.Diagnostic) => void;

/**
 * One call analyzer per options and program: the analyzer reads the whole
 * program once, and a bundler emits file by file from the same program with
 * the same options. The TypeScript is the program's own, so it is the same
 * whenever the program is.
 */
const analyzers = memoize((options: ResolvedOptions) =>
  memoize((program: ts.Program, ts: TypeScript): CallAnalyzer => createCallAnalyzer(ts, program, options)),
);

/** The call analyzer for a program and options, shared with the language-service plugin. */
export function analyzerFor(options: ResolvedOptions, program: ts.Program, ts: TypeScript): CallAnalyzer {
  return analyzers(options)(program, ts);
}

export function createTransformerFactory(
  ts: TypeScript,
  program: ts.Program,
  options: ResolvedOptions,
  problems: readonly string[],
  report: Report,
): ts.TransformerFactory<ts.SourceFile> {
  for (const problem of problems) report(invalidOption(ts, problem));
  const importStyle = importStyleFor(ts, program.getCompilerOptions());
  if (importStyle === undefined) {
    report(unsupportedModuleFormat(ts, ts.ModuleKind[moduleKindOf(ts, program.getCompilerOptions())]));
    return () => (sourceFile) => sourceFile;
  }
  // A program that never loads this package's types has nothing to wrap: every file is emitted as it is.
  if (!loadsProxyTypes(program)) return () => (sourceFile) => sourceFile;
  const analyze = analyzers(options)(program, ts);
  const projectDir = projectDirectory(program);
  const { noEmit, emitDeclarationOnly } = program.getCompilerOptions();
  if (noEmit === true || emitDeclarationOnly === true) {
    // No JS is emitted, so no file goes through the transform: report what it would, now.
    for (const file of program.getSourceFiles()) {
      if (transformsFile(file, options, projectDir) && !program.isSourceFileFromExternalLibrary(file)) analyzeFile(ts, program, file, analyze, options, report);
    }
  }

  const transformFile = (context: ts.TransformationContext) => (sourceFile: ts.SourceFile): ts.SourceFile => {
    if (!transformsFile(sourceFile, options, projectDir)) return sourceFile;
    const t0 = transformerLog.enabled ? performance.now() : 0;
    const relative = relativePath(sourceFile, projectDir);
    const style = importStyle(sourceFile);
    const { factory } = context;
    let binding: ts.Identifier | undefined;

    const wrapper = (expression: ts.Expression, original: ts.Expression, each: boolean): ts.Expression => {
      binding ??= factory.createUniqueName(BINDING, ts.GeneratedIdentifierFlags.Optimistic | ts.GeneratedIdentifierFlags.FileLevel);
      const { line, character } = sourceFile.getLineAndCharacterOfPosition(original.getStart(sourceFile));
      const args = [expression, factory.createStringLiteral(`${relative}:${line + 1}:${character + 1}`), factory.createNumericLiteral(options.threshold)];
      if (options.store !== undefined) args.push(factory.createStringLiteral(options.store));
      const call = factory.createCallExpression(factory.createPropertyAccessExpression(binding, each ? 'autoProxyEach' : 'autoProxy'), undefined, args);
      // The wrapper takes the argument's position for layout and source maps, but not its comments: the argument prints those itself.
      return ts.setCommentRange(ts.setTextRange(call, original), { pos: -1, end: -1 });
    };

    const rewrite = (node: ts.CallExpression | ts.NewExpression, plan: CallPlan): ts.Expression => {
      const originals = (ts.getOriginalNode(node) as ts.CallExpression | ts.NewExpression).arguments ?? factory.createNodeArray();
      const visited = node.arguments ?? factory.createNodeArray();
      const wrapOne = (argument: ts.Expression, original: ts.Expression, wrap: Wrap): ts.Expression => {
        if (ts.isSpreadElement(argument)) {
          return factory.updateSpreadElement(argument, wrapper(argument.expression, (original as ts.SpreadElement).expression, true));
        }
        return wrapper(argument, original, wrap.each);
      };
      const args = visited.map((argument, index) => {
        const wraps = plan.wraps.filter((w) => w.index === index);
        const original = originals[index];
        const [wrap] = wraps;
        if (wrap === undefined || original === undefined) return argument;
        if (wrap.element === undefined) return wrapOne(argument, original, wrap);
        // `f.apply(thisArg, [a, b])`: the elements of the list are f's arguments.
        const list = argument as ts.ArrayLiteralExpression;
        const originalElements = (original as ts.ArrayLiteralExpression).elements;
        const elements = list.elements.map((element, at) => {
          const inList = wraps.find((w) => w.element === at);
          const originalElement = originalElements[at];
          return inList === undefined || originalElement === undefined ? element : wrapOne(element, originalElement, inList);
        });
        return factory.updateArrayLiteralExpression(list, ts.setTextRange(factory.createNodeArray(elements, list.elements.hasTrailingComma), list.elements));
      });
      const list = ts.setTextRange(factory.createNodeArray(args, visited.hasTrailingComma), visited);
      if (ts.isNewExpression(node)) return factory.updateNewExpression(node, node.expression, node.typeArguments, list);
      if (ts.isCallChain(node)) return factory.updateCallChain(node, node.expression, node.questionDotToken, node.typeArguments, list);
      return factory.updateCallExpression(node, node.expression, node.typeArguments, list);
    };

    // Analysis walks the parse tree: a transformer running before this one may have replaced nodes.
    const { plans, onPath } = analyzeFile(ts, program, ts.getParseTreeNode(sourceFile, ts.isSourceFile) ?? sourceFile, analyze, options, report);
    if (plans.size === 0) {
      if (transformerLog.enabled) transformerLog('%s: nothing to wrap, in %s ms', relative, msSince(t0));
      return sourceFile;
    }

    // Only the subtrees holding a planned call are visited; everything else is returned as it is.
    const visit = (node: ts.Node): ts.Node => {
      const original = ts.getOriginalNode(node);
      if (ts.isParseTreeNode(node) && !onPath.has(original)) return node;
      const visited = ts.visitEachChild(node, visit, context);
      const plan = plans.get(original);
      if (plan !== undefined && transformerLog.enabled) logWraps(ts, program.getTypeChecker(), original.getSourceFile(), relative, original as ts.CallExpression | ts.NewExpression, plan);
      return plan === undefined ? visited : rewrite(visited as ts.CallExpression | ts.NewExpression, plan);
    };

    const updated = ts.visitEachChild(sourceFile, visit, context);
    if (binding !== undefined) runtimeImports(ts, context)(updated, { binding, style });
    if (transformerLog.enabled) transformerLog('%s: wrapped %d argument(s) in %s ms', relative, [...plans.values()].reduce((n, plan) => n + plan.wraps.length, 0), msSince(t0));
    return updated;
  };
  // The import is added when the file is printed, by a hook that can only be set while the context is set up.
  return (context) => {
    runtimeImports(ts, context);
    return transformFile(context);
  };
}

/** How each file is emitted, which decides the form of the added import; undefined for formats with no usable form. */
function importStyleFor(ts: TypeScript, compilerOptions: ts.CompilerOptions): ((file: ts.SourceFile) => ImportStyle) | undefined {
  const { ModuleKind } = ts;
  const kind = moduleKindOf(ts, compilerOptions);
  if (kind === ModuleKind.AMD || kind === ModuleKind.UMD || kind === ModuleKind.System) return undefined;
  if (kind === ModuleKind.CommonJS || kind === ModuleKind.None) return () => 'commonjs';
  // node16/node18/node20/nodenext and preserve follow each file's own format (.cts, .mts, package.json "type").
  const perFile = kind >= ModuleKind.Node16;
  return (file) => (perFile && file.impliedNodeFormat === ModuleKind.CommonJS ? 'commonjs' : 'esm');
}

/** TypeScript's defaults for an unset `module` differ between versions; its own (internal) answer is used when present. */
function moduleKindOf(ts: TypeScript, compilerOptions: ts.CompilerOptions): ts.ModuleKind {
  const internal = (ts as { getEmitModuleKind?: (options: ts.CompilerOptions) => ts.ModuleKind }).getEmitModuleKind;
  if (internal !== undefined) return internal(compilerOptions);
  const target = compilerOptions.target ?? ts.ScriptTarget.ES5;
  return compilerOptions.module ?? (target >= ts.ScriptTarget.ES2015 ? ts.ModuleKind.ES2015 : ts.ModuleKind.CommonJS);
}
