/**
 * TypeScript language-service plugin: the transformer's findings in the
 * editor, as the user types. ts-patch transformers never run inside tsserver,
 * so without this an editor shows none of them.
 *
 *   "plugins": [{ "transform": "ts-proxystore/transformer", "name": "ts-proxystore/language-service" }]
 *
 * One entry serves both: ts-patch reads `transform`, tsserver loads `name`,
 * and both read the same options. It adds
 * - TS98001 and TS98004 to the semantic diagnostics, with the transformer's
 *   severity (an error when `"diagnostics": "error"`), and TS98002 (invalid
 *   options) to the project's;
 * - on each argument the transformer wraps, a suggestion (TS98005, the dotted
 *   underline; its text on hover: "may travel by proxy above 100 kB") and an
 *   inlay hint before it, `by proxy ≥ 100 kB:`, visible without hovering
 *   where the editor shows inlay hints (`"inlayHints": false` in the plugin
 *   entry turns the hints off; the suggestion stays, for editors without them);
 * - quick fixes: pass `extract(…)` (TS98001), widen the parameter to
 *   `ProxyOr<T>` (TS98001), hand a built-in the target (TS98004).
 *
 * tsserver loads plugins with `require()` and a node10-style lookup (no
 * package `exports`), so the package has a `language-service/` directory whose
 * package.json points here; this ES module gives require() its factory through
 * the `module.exports` export name (Node 20.19+). TypeScript 7's Go server
 * does not load JavaScript plugins.
 */
import type * as ts from 'typescript';
import type { CallPlan } from './call-sites.js';
import { DiagnosticCode, invalidOption } from './diagnostics.js';
import { analyzeFile, loadsProxyTypes, projectDirectory, transformsFile } from './file-analysis.js';
import { resolveOptions, type ResolvedOptions, type TransformerOptions } from './options.js';
import { analyzerFor } from './rewrite.js';
import type { TypeScript } from './typescript-api.js';

const PACKAGE = 'ts-proxystore';
const TRANSFORMER = 'ts-proxystore/transformer';
const FIX_EXTRACT = 'ts-proxystore-extract';
const FIX_WIDEN = 'ts-proxystore-widen';
const FIX_TARGET = 'ts-proxystore-target';

interface Findings {
  readonly diagnostics: readonly ts.Diagnostic[];
  readonly plans: ReadonlyMap<ts.Node, CallPlan>;
}

function init({ typescript }: { typescript: TypeScript }): ts.server.PluginModule {
  const ts = typescript;
  return {
    create(info) {
      const service = info.languageService;
      let { options, problems } = optionsOf(info.project.getCompilerOptions(), info.config as PluginOptions);
      let showHints = (info.config as PluginOptions).inlayHints !== false;
      /** One analysis per file version: the program object changes with every edit. */
      const cache = new WeakMap<ts.Program, Map<string, Findings>>();

      function findings(fileName: string): Findings | undefined {
        const program = service.getProgram();
        const file = program?.getSourceFile(fileName);
        if (program === undefined || file === undefined || !loadsProxyTypes(program) || !transformsFile(file, options, projectDirectory(program))) return undefined;
        let perFile = cache.get(program);
        if (perFile === undefined) {
          perFile = new Map();
          cache.set(program, perFile);
        }
        let found = perFile.get(fileName);
        if (found === undefined) {
          const diagnostics: ts.Diagnostic[] = [];
          const { plans } = analyzeFile(ts, program, file, analyzerFor(options, program, ts), options, (d) => diagnostics.push(d));
          found = { diagnostics, plans };
          perFile.set(fileName, found);
        }
        return found;
      }

      // Every method forwards to the language service; the ones below add to its answers.
      const proxy = Object.create(null) as ts.LanguageService;
      const methods = service as unknown as Record<string, unknown>;
      for (const key of Object.keys(service)) {
        const method = methods[key];
        if (typeof method === 'function') (proxy as unknown as Record<string, unknown>)[key] = (...args: unknown[]) => (method as (...a: unknown[]) => unknown).apply(service, args);
      }

      proxy.getSemanticDiagnostics = (fileName) => [...service.getSemanticDiagnostics(fileName), ...(findings(fileName)?.diagnostics ?? [])];

      // Invalid options (TS98002) are the project's, shown with its tsconfig as tspc shows them.
      proxy.getCompilerOptionsDiagnostics = () => [...service.getCompilerOptionsDiagnostics(), ...problems.map((problem) => invalidOption(ts, problem))];

      proxy.getSuggestionDiagnostics = (fileName) => {
        const found = findings(fileName);
        const own = found === undefined ? [] : wrapSuggestions(ts, found.plans, options);
        return [...service.getSuggestionDiagnostics(fileName), ...own];
      };

      proxy.provideInlayHints = (fileName, span, preferences) => {
        const own = showHints ? wrapHints(ts, findings(fileName)?.plans, options, span) : [];
        return [...service.provideInlayHints(fileName, span, preferences), ...own].sort((a, b) => a.position - b.position);
      };

      proxy.getSupportedCodeFixes = (fileName) => [
        ...service.getSupportedCodeFixes(fileName),
        String(DiagnosticCode.ProxyToPlainParameter),
        String(DiagnosticCode.ProxyOrToNative),
      ];

      proxy.getCodeFixesAtPosition = (fileName, start, end, errorCodes, formatOptions, preferences) => {
        const fixes = [...service.getCodeFixesAtPosition(fileName, start, end, errorCodes, formatOptions, preferences)];
        const program = service.getProgram();
        const file = program?.getSourceFile(fileName);
        if (program === undefined || file === undefined) return fixes;
        for (const diagnostic of findings(fileName)?.diagnostics ?? []) {
          const at = diagnostic.start ?? -1;
          if (!errorCodes.includes(diagnostic.code) || at > end || at + (diagnostic.length ?? 0) < start) continue;
          fixes.push(...codeFixes(ts, program, file, diagnostic));
        }
        return fixes;
      };

      info.project.projectService.logger.info(`ts-proxystore: language-service plugin loaded for ${info.project.getProjectName()}`);
      // Settings from the tsconfig can change while the editor runs: tsserver then calls this.
      (proxy as { onConfigurationChanged?: (config: unknown) => void }).onConfigurationChanged = (config) => {
        ({ options, problems } = optionsOf(info.project.getCompilerOptions(), config as PluginOptions));
        showHints = (config as PluginOptions).inlayHints !== false;
      };
      return proxy;
    },
  };
}

/** The plugin entry's own option, besides the transformer's: whether to show inlay hints (default true). */
interface PluginOptions extends TransformerOptions {
  readonly inlayHints?: boolean;
}

/** The transformer entry's options, overridden by this plugin entry's own (when they are two entries). */
function optionsOf(compilerOptions: ts.CompilerOptions, own: PluginOptions): { options: ResolvedOptions; problems: readonly string[] } {
  const plugins = (compilerOptions.plugins ?? []) as readonly (TransformerOptions & { readonly transform?: unknown })[];
  const transformer = plugins.find((plugin) => plugin.transform === TRANSFORMER) ?? {};
  return resolveOptions({ ...transformer, ...own });
}

/** Each argument the transformer wraps, and whether it wraps each of its items (autoProxyEach). */
function* wrappedArguments(plans: ReadonlyMap<ts.Node, CallPlan>): Generator<{ argument: ts.Expression; each: boolean }> {
  for (const [node, plan] of plans) {
    const call = node as ts.CallExpression | ts.NewExpression;
    for (const wrap of plan.wraps) {
      const whole = call.arguments?.[wrap.index];
      // `f.apply(thisArg, [a, b])`: the element is what is wrapped.
      const argument = wrap.element === undefined || whole === undefined ? whole : (whole as ts.ArrayLiteralExpression).elements[wrap.element];
      if (argument !== undefined) yield { argument, each: wrap.each };
    }
  }
}

function wrapSuggestions(ts: TypeScript, plans: ReadonlyMap<ts.Node, CallPlan>, options: ResolvedOptions): ts.DiagnosticWithLocation[] {
  const size = kilobytes(options.threshold);
  return [...wrappedArguments(plans)].map(({ argument, each }) => {
    const file = argument.getSourceFile();
    return {
      file,
      start: argument.getStart(file),
      length: argument.getWidth(file),
      category: ts.DiagnosticCategory.Suggestion,
      code: DiagnosticCode.AutoWrapped,
      source: PACKAGE,
      messageText: `${each ? 'Each item may travel by proxy' : 'May travel by proxy'} above ${size}: the ts-proxystore transformer wraps this argument in autoProxy, which hands over a proxy when the value serializes to ${options.threshold} bytes or more.`,
    };
  });
}

/** `by proxy ≥ 100 kB:` before each wrapped argument in the span the editor shows. */
function wrapHints(ts: TypeScript, plans: ReadonlyMap<ts.Node, CallPlan> | undefined, options: ResolvedOptions, span: ts.TextSpan): ts.InlayHint[] {
  if (plans === undefined) return [];
  const size = kilobytes(options.threshold);
  const hints: ts.InlayHint[] = [];
  for (const { argument, each } of wrappedArguments(plans)) {
    const position = argument.getStart(argument.getSourceFile());
    if (position < span.start || position > span.start + span.length) continue;
    // A parameter-name hint's place and look: before the argument, ending in a colon.
    hints.push({ text: `${each ? 'each ' : ''}by proxy ≥ ${size}:`, position, kind: ts.InlayHintKind.Parameter, whitespaceAfter: true });
  }
  return hints;
}

function kilobytes(bytes: number): string {
  return bytes >= 1000 ? `${Math.round(bytes / 100) / 10} kB` : `${bytes} B`;
}

function codeFixes(ts: TypeScript, program: ts.Program, file: ts.SourceFile, diagnostic: ts.Diagnostic): ts.CodeFixAction[] {
  const argument = expressionAt(ts, file, diagnostic.start ?? 0, diagnostic.length ?? 0);
  if (argument === undefined) return [];
  const text = argument.getText(file);
  if (diagnostic.code === DiagnosticCode.ProxyOrToNative) {
    // `new Blob([p])`: the parameter is an element of the list; take it from the message's first quote.
    const name = /^'([^']+)'/.exec(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'))?.[1] ?? text;
    const target = expressionNamed(ts, argument, name) ?? argument;
    return [
      fix(FIX_TARGET, `Hand '${name}' over as the target: isProxy(${name}) ? extract(${name}) : ${name}`, file, [
        replace(target, file, `(isProxy(${name}) ? extract(${name}) : ${name})`),
        ...importNames(ts, file, ['extract', 'isProxy'], false),
      ]),
    ];
  }
  if (diagnostic.code !== DiagnosticCode.ProxyToPlainParameter) return [];
  const fixes = [fix(FIX_EXTRACT, `Pass extract(${text}): hand over the target itself`, file, [replace(argument, file, `extract(${text})`), ...importNames(ts, file, ['extract'], false)])];
  const parameter = parameterFor(ts, program, argument);
  if (parameter?.type !== undefined) {
    const declarationFile = parameter.getSourceFile();
    const typeText = parameter.type.getText(declarationFile);
    const widened = parameter.dotDotDotToken !== undefined && ts.isArrayTypeNode(parameter.type) ? `ProxyOr<${parameter.type.elementType.getText(declarationFile)}>[]` : `ProxyOr<${typeText}>`;
    fixes.push(
      fix(FIX_WIDEN, `Widen parameter '${parameter.name.getText(declarationFile)}' to ${widened}`, declarationFile, [
        replace(parameter.type, declarationFile, widened),
        ...importNames(ts, declarationFile, ['ProxyOr'], true),
      ]),
    );
  }
  return fixes;
}

function fix(fixName: string, description: string, file: ts.SourceFile, textChanges: ts.TextChange[]): ts.CodeFixAction {
  return { fixName, description, changes: [{ fileName: file.fileName, textChanges }] };
}

function replace(node: ts.Node, file: ts.SourceFile, newText: string): ts.TextChange {
  return { span: { start: node.getStart(file), length: node.getWidth(file) }, newText };
}

/** The outermost expression spanning exactly [start, start + length). */
function expressionAt(ts: TypeScript, file: ts.SourceFile, start: number, length: number): ts.Expression | undefined {
  let found: ts.Expression | undefined;
  const visit = (node: ts.Node): void => {
    if (found !== undefined || node.getStart(file) > start || node.getEnd() < start + length) return;
    if (ts.isExpression(node) && node.getStart(file) === start && node.getWidth(file) === length) {
      found = node;
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

function expressionNamed(ts: TypeScript, within: ts.Node, name: string): ts.Identifier | undefined {
  if (ts.isIdentifier(within) && within.text === name) return within;
  return ts.forEachChild(within, (child) => expressionNamed(ts, child, name));
}

/** The declaration of the parameter an argument lands in, when TypeScript resolves the call to one in the user's code. */
function parameterFor(ts: TypeScript, program: ts.Program, argument: ts.Expression): ts.ParameterDeclaration | undefined {
  const call = argument.parent;
  if (!(ts.isCallExpression(call) || ts.isNewExpression(call))) return undefined;
  const index = call.arguments?.indexOf(argument) ?? -1;
  const declaration = program.getTypeChecker().getResolvedSignature(call)?.getDeclaration();
  const parameters = declaration?.parameters;
  if (parameters === undefined || index < 0 || declaration === undefined || program.isSourceFileFromExternalLibrary(declaration.getSourceFile())) return undefined;
  const last = parameters[parameters.length - 1];
  return index >= parameters.length - 1 && last?.dotDotDotToken !== undefined ? last : parameters[index];
}

/**
 * Text changes importing `names` from this package into `file`: added to an
 * existing import from it when there is one, else a new import after the last
 * import (or at the top). Names already imported are left alone.
 */
function importNames(ts: TypeScript, file: ts.SourceFile, names: readonly string[], typeOnly: boolean): ts.TextChange[] {
  const imports = file.statements.filter(ts.isImportDeclaration);
  const fromPackage = imports.filter((d) => ts.isStringLiteral(d.moduleSpecifier) && d.moduleSpecifier.text === PACKAGE);
  const imported = new Set(
    fromPackage.flatMap((d) => {
      const bindings = d.importClause?.namedBindings;
      return bindings !== undefined && ts.isNamedImports(bindings) ? bindings.elements.map((e) => e.name.text) : [];
    }),
  );
  const missing = names.filter((name) => !imported.has(name));
  if (missing.length === 0) return [];
  const target = fromPackage.find((d) => {
    const bindings = d.importClause?.namedBindings;
    return bindings !== undefined && ts.isNamedImports(bindings) && (typeOnly || d.importClause?.isTypeOnly !== true);
  });
  const bindings = target?.importClause?.namedBindings as ts.NamedImports | undefined;
  const last = bindings?.elements[bindings.elements.length - 1];
  if (bindings !== undefined && last !== undefined) {
    const typed = typeOnly && target?.importClause?.isTypeOnly !== true;
    return [{ span: { start: last.getEnd(), length: 0 }, newText: missing.map((name) => `, ${typed ? 'type ' : ''}${name}`).join('') }];
  }
  const line = `import ${typeOnly ? 'type ' : ''}{ ${missing.join(', ')} } from '${PACKAGE}';`;
  const after = imports[imports.length - 1];
  return after === undefined ? [{ span: { start: 0, length: 0 }, newText: `${line}\n` }] : [{ span: { start: after.getEnd(), length: 0 }, newText: `\n${line}` }];
}

export { init as 'module.exports' };
export default init;
