/**
 * `ts-proxystore annotate`: the step after set-up, done by a codemod on
 * ts-morph. It finds the functions that run as tasks — the table given to
 * `defineTasks`, functions handed to `submit(fn, …)` or `map(fn, …)` — and
 * the functions named with `--function`, and widens their object-typed
 * parameters from `T` to `ProxyOr<T>`, importing the type. Only the type
 * annotations change; the rest of each file keeps its text, comments and
 * formatting. With `--fix-natives`, uses of a widened parameter that need the
 * real object (a built-in that checks internal slots, `JSON.stringify`, an
 * identity comparison) get the real object: `extract(x)`.
 */
import { IndentationText, Node, Project, QuoteKind, ts, type ManipulationSettings, type ObjectLiteralExpression, type Symbol as TsMorphSymbol, type ParameterDeclaration, type SourceFile, type TypeNode } from 'ts-morph';
import { relative, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import type * as TypeScript from 'typescript';
import { nativeTypes } from '../src/analysis/native-types.js';
import { isKeyMethod } from '../src/analysis/identity-sites.js';
import { packageModule, PACKAGE_NAME } from '../src/analysis/package-files.js';
import { proxyTypes } from '../src/analysis/proxy-types.js';
import { nativeUses, type NativeUses } from '../src/analysis/native-uses.js';
import { unifiedDiff } from './diff.js';
import { CliError } from './errors.js';

export interface AnnotateOptions {
  readonly cwd: string;
  readonly project: string;
  /** Files to edit (default: every source file of the project). */
  readonly files: readonly string[];
  /** Further functions to widen, by name. */
  readonly functions: readonly string[];
  readonly fixNatives: boolean;
  readonly dryRun: boolean;
  readonly log: (line: string) => void;
}

type FunctionLike = Node & { getParameters(): ParameterDeclaration[] };

const SUBMIT_METHODS = new Set(['submit', 'map']);
const EQUALITY = new Set([ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsEqualsToken, ts.SyntaxKind.EqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsToken]);
const NOT_OBJECT =
  ts.TypeFlags.StringLike | ts.TypeFlags.NumberLike | ts.TypeFlags.BigIntLike | ts.TypeFlags.BooleanLike | ts.TypeFlags.EnumLike |
  ts.TypeFlags.ESSymbolLike | ts.TypeFlags.VoidLike | ts.TypeFlags.Null | ts.TypeFlags.Never | ts.TypeFlags.Any | ts.TypeFlags.Unknown |
  ts.TypeFlags.TypeParameter;
/** "Cannot find name 'x'" (TS2304) and "… Did you mean 'y'?" (TS2552). */
const MISSING_NAME = new Set([2304, 2552]);

function isFunctionLike(node: Node | undefined): node is FunctionLike {
  return Node.isFunctionDeclaration(node) || Node.isMethodDeclaration(node) || Node.isArrowFunction(node) || Node.isFunctionExpression(node);
}

/** The function an expression names or is: inline, a function declaration, or a variable holding one. */
function functionOf(expression: Node | undefined): FunctionLike | undefined {
  if (expression === undefined || isFunctionLike(expression)) return expression;
  if (!Node.isIdentifier(expression) && !Node.isPropertyAccessExpression(expression)) return undefined;
  return functionOfSymbol(expression.getSymbol());
}

function functionOfSymbol(symbol: TsMorphSymbol | undefined): FunctionLike | undefined {
  const target = symbol?.isAlias() === true ? symbol.getAliasedSymbol() : symbol;
  for (const declaration of target?.getDeclarations() ?? []) {
    if (isFunctionLike(declaration)) return declaration;
    const initializer = Node.isVariableDeclaration(declaration) ? declaration.getInitializer() : undefined;
    if (isFunctionLike(initializer)) return initializer;
  }
  return undefined;
}

/** The object literal an expression is or a `const` holds, here or in the module it is imported from. */
function objectOf(expression: Node | undefined): ObjectLiteralExpression | undefined {
  if (Node.isObjectLiteralExpression(expression)) return expression;
  if (!Node.isIdentifier(expression)) return undefined;
  const symbol = expression.getSymbol();
  // A table imported from another module: the `const` it is declared with there.
  const declaration = (symbol?.isAlias() === true ? symbol.getAliasedSymbol() : symbol)?.getDeclarations()[0];
  const initializer = Node.isVariableDeclaration(declaration) ? declaration.getInitializer() : undefined;
  return Node.isObjectLiteralExpression(initializer) ? initializer : undefined;
}

/** Whether a call's target is declared by this package (`defineTasks` from ts-proxystore, not a look-alike). */
function isOwnDeclaration(node: Node): boolean {
  const symbol = node.getSymbol();
  const target = symbol?.isAlias() === true ? symbol.getAliasedSymbol() : symbol;
  return target?.getDeclarations().some((declaration) => packageModule(declaration.getSourceFile().getFilePath()) !== undefined) === true;
}

export function annotate(options: AnnotateOptions): void {
  const tsconfig = resolve(options.cwd, options.project);
  if (!existsSync(tsconfig)) throw new CliError(`no ${options.project} in ${options.cwd}: pass --project, and run annotate again`);
  const project = new Project({ tsConfigFilePath: tsconfig });
  project.manipulationSettings.set(styleOf(project));
  const program = project.getProgram().compilerObject;
  const checker = program.getTypeChecker();
  // ts-morph bundles its own TypeScript: the same API, declared by another copy of typescript.d.ts that tsc
  // cannot compare with this one (TS2321), while the project service resolves both to one copy.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
  const natives = nativeTypes(ts as unknown as typeof TypeScript, program as unknown as TypeScript.Program);

  const editable = (file: SourceFile): boolean => !file.isDeclarationFile() && !file.isInNodeModules();
  const wanted = new Set(options.files.map((file) => resolve(options.cwd, file)));
  const targets = project.getSourceFiles().filter((file) => editable(file) && (wanted.size === 0 || wanted.has(file.getFilePath())));
  for (const file of wanted) {
    if (!targets.some((source) => source.getFilePath() === file)) throw new CliError(`${relative(options.cwd, file)} is not a source file of ${options.project}`);
  }
  const before = new Map(targets.map((file) => [file, file.getFullText()]));

  // Tasks are found in every file (a table in one file may name functions of another); only the target files are edited.
  const tasks = new Set<FunctionLike>();
  const named = new Set(options.functions);
  for (const file of project.getSourceFiles().filter(editable)) {
    file.forEachDescendant((node) => {
      if (Node.isCallExpression(node)) {
        const callee = node.getExpression();
        const name = Node.isPropertyAccessExpression(callee) ? callee.getName() : Node.isIdentifier(callee) ? callee.getText() : '';
        const [first] = node.getArguments();
        if (name === 'defineTasks' && isOwnDeclaration(callee)) {
          const table = objectOf(first);
          for (const property of table?.getProperties() ?? []) {
            const task = Node.isMethodDeclaration(property)
              ? property
              : Node.isPropertyAssignment(property)
                ? functionOf(property.getInitializer())
                : Node.isShorthandPropertyAssignment(property)
                  ? functionOfSymbol(property.getValueSymbol())
                  : undefined;
            if (task !== undefined) tasks.add(task);
          }
        } else if (SUBMIT_METHODS.has(name) && !isLibCall(node)) {
          const task = functionOf(first);
          if (task !== undefined) tasks.add(task);
        }
      }
      if (named.size > 0 && isFunctionLike(node)) {
        const name = nameOf(node);
        if (name !== undefined && named.has(name)) tasks.add(node);
      }
    });
  }

  function isLibCall(call: Node): boolean {
    const declaration = checker.getResolvedSignature(call.compilerNode as ts.CallExpression)?.getDeclaration();
    return declaration !== undefined && program.isSourceFileDefaultLibrary(declaration.getSourceFile());
  }

  const widened: ParameterDeclaration[] = [];
  /** Task parameters widened by an earlier run (or by hand): their native uses are fixed too, so `--fix-natives` can come in a run of its own. */
  const proxyOrAlready: ParameterDeclaration[] = [];
  for (const task of tasks) {
    if (!targets.includes(task.getSourceFile())) continue;
    for (const parameter of task.getParameters()) {
      if (widen(parameter)) {
        widened.push(parameter);
        options.log(`${relative(options.cwd, task.getSourceFile().getFilePath())}:${parameter.getStartLineNumber()} ${nameOf(task) ?? '(task)'}(${parameter.getName()}): ${parameter.getTypeNodeOrThrow().getText()}`);
      } else if (/\bProxyOr</.test(parameter.getTypeNode()?.getText() ?? '')) {
        proxyOrAlready.push(parameter);
      }
    }
  }
  // The type import first: checking the edits of fixNatives needs ProxyOr<T> to mean what it says.
  for (const file of new Set(widened.map((parameter) => parameter.getSourceFile()))) addImports(file, [], ['ProxyOr']);
  if (options.fixNatives) {
    for (const file of fixNatives([...widened, ...proxyOrAlready])) addImports(file, ['extract'], []);
  }

  let changed = 0;
  for (const [file, text] of before) {
    const after = file.getFullText();
    if (after === text) continue;
    changed++;
    const name = relative(options.cwd, file.getFilePath());
    if (options.dryRun) options.log(unifiedDiff(name, text, after).trimEnd());
    else file.saveSync();
  }
  options.log(changed === 0 ? 'Nothing to annotate: every task parameter is ProxyOr<…> already, or not an object.' : `${options.dryRun ? 'would change' : 'changed'} ${changed} file(s)`);

  /**
   * `ProxyOr<T>` for an object type `T`. In a union written out, only the
   * members that can be objects go inside: `Doc | undefined` becomes
   * `ProxyOr<Doc> | undefined`, `string | Doc` becomes `string | ProxyOr<Doc>`.
   * A named type that mixes objects and primitives (`BodyInit`) is widened
   * whole: autoProxy proxies only objects, so a primitive still arrives as is.
   */
  function widen(parameter: ParameterDeclaration): boolean {
    let node: TypeNode | undefined = parameter.getTypeNode();
    if (node === undefined || /\bProxy(Or)?</.test(node.getText())) return false;
    if (parameter.isRestParameter()) {
      if (!Node.isArrayTypeNode(node)) return false;
      node = node.getElementTypeNode();
    }
    const members = Node.isUnionTypeNode(node) ? node.getTypeNodes() : [node];
    const objects = members.filter((member) => mayBeObject(member.getType().compilerType));
    const [first] = objects;
    if (first === undefined) return false;
    const widened = `ProxyOr<${objects.map((member) => member.getText()).join(' | ')}>`;
    node.replaceWithText(members.flatMap((member) => (member === first ? [widened] : objects.includes(member) ? [] : [member.getText()])).join(' | '));
    return true;
  }

  /** Whether a value of this type can be an object autoProxy would proxy (not a function, not `any`). */
  function mayBeObject(type: ts.Type): boolean {
    if (type.isUnion()) return type.types.some(mayBeObject);
    return isObjectType(type);
  }

  function isObjectType(type: ts.Type): boolean {
    if (type.isUnion()) return type.types.every(isObjectType);
    if (type.flags & NOT_OBJECT) return false;
    return checker.getSignaturesOfType(type, ts.SignatureKind.Call).length === 0;
  }

  /**
   * Replaces uses of widened parameters that need the real object with the
   * real object; returns the files that now call `extract`.
   */
  function fixNatives(parameters: readonly ParameterDeclaration[]): Set<SourceFile> {
    const uses: Node[] = [];
    const followed = currentNativeUses();
    for (const parameter of parameters) {
      const name = parameter.getNameNode();
      if (!Node.isIdentifier(name)) continue;
      const file = parameter.getSourceFile();
      for (const reference of name.findReferencesAsNodes()) {
        if (reference.getSourceFile() === file && needsRealObject(reference)) uses.push(reference);
      }
      // What the transformer follows further, a list built first (`parts.push(p); new Blob(parts)`), a local copy
      // (`const b = p; decode(b)`) or a function of the program that hands its parameter to a built-in (`sizeOf(p)`),
      // gets extract(…) where the transformer reports it.
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- two copies of typescript.d.ts, as above
      for (const use of followed.of(parameter.compilerNode as unknown as TypeScript.ParameterDeclaration)) {
        const node = file.getDescendantAtStartWithWidth(use.argument.getStart(), use.argument.getWidth());
        if (Node.isIdentifier(node) && !uses.some((known) => known.getSourceFile() === file && known.getStart() === node.getStart())) uses.push(node);
      }
    }
    const files = new Set<SourceFile>();
    // The import of `extract` comes after the edits: its absence until then is not the edit's fault.
    const errorsIn = (file: SourceFile): string[] =>
      project
        .getProgram()
        .getSemanticDiagnostics(file)
        .filter((diagnostic) => !MISSING_NAME.has(diagnostic.getCode()))
        .map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.compilerObject.messageText, ' '));
    const errors = new Map<SourceFile, string[]>();
    const reported = new Set<string>();
    let wrapped = 0;
    // From the end, so earlier positions stay valid.
    uses.sort((a, b) => b.getStart() - a.getStart());
    for (const use of uses) {
      const file = use.getSourceFile();
      const where = `${relative(options.cwd, file.getFilePath())}:${use.getStartLineNumber()}`;
      const text = use.getText();
      const before = errors.get(file) ?? errorsIn(file);
      errors.set(file, before);
      // `extract` hands back a value that is not a proxy as it is, so it needs no isProxy check.
      const real = use.replaceWithText(`extract(${text})`);
      // The edit must not break the build: `ArrayBuffer.isView(x)` narrows x, `ArrayBuffer.isView(extract(x))` does not.
      const after = errorsIn(file);
      if (after.length > before.length) {
        const context = real.getParentOrThrow().getText();
        real.replaceWithText(text);
        const reason = after.find((message) => !before.includes(message)) ?? after[after.length - 1];
        options.log(`${where} left as is: '${text}' needs the real object in ${context}, but extract(${text}) there does not type-check (${reason}); hand it the real object by hand`);
        reported.add(`${where}:${text}`);
        continue;
      }
      files.add(file);
      wrapped++;
    }
    if (wrapped > 0) options.log(`wrapped ${wrapped} use(s) that need the real object in extract(…)`);
    reportLeft(parameters, reported);
    return files;
  }

  /**
   * The uses the transformer would still report (TS98004) after the edits, and
   * that no line above named: said here, not skipped silently.
   */
  function reportLeft(parameters: readonly ParameterDeclaration[], reported: ReadonlySet<string>): void {
    const uses = currentNativeUses();
    for (const parameter of parameters) {
      const name = parameter.getName();
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- two copies of typescript.d.ts, as above
      for (const use of uses.of(parameter.compilerNode as unknown as TypeScript.ParameterDeclaration)) {
        const file = parameter.getSourceFile();
        const line = file.getLineAndColumnAtPos(use.argument.getStart()).line;
        const where = `${relative(options.cwd, file.getFilePath())}:${line}`;
        if (reported.has(`${where}:${name}`)) continue;
        const what = use.need.inElements ? `a list of real ${use.need.name} objects` : `the real ${use.need.name}`;
        const via = use.list === undefined ? `in ${use.argument.getText()}` : `in the list '${use.list}'`;
        options.log(`${where} left as is: '${name}' is handed to '${use.callee}', which needs ${what}, ${via}; hand it extract(${name}) by hand`);
      }
    }
  }

  /** The transformer's TS98004 analysis of the program as edited so far. */
  function currentNativeUses(): NativeUses {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- two copies of typescript.d.ts, as above
    const current = project.getProgram().compilerObject as unknown as TypeScript.Program;
    const api = ts as unknown as typeof TypeScript;
    return nativeUses(api, current, proxyTypes(current.getTypeChecker(), api));
  }

  function needsRealObject(reference: Node): boolean {
    // `f(x as T)`, `f(x!)`, `f((x))`: the value handed over is still x.
    let value: Node = reference;
    while (isTransparent(value.getParent())) value = value.getParentOrThrow();
    const parent = value.getParent();
    if (Node.isBinaryExpression(parent) && EQUALITY.has(parent.getOperatorToken().getKind())) {
      const other = parent.getLeft() === value ? parent.getRight() : parent.getLeft();
      return isObjectType(other.getType().compilerType) || other.getType().isUnion();
    }
    if (Node.isArrayLiteralExpression(parent)) return isNativeList(parent);
    if (!Node.isCallExpression(parent) && !Node.isNewExpression(parent)) return false;
    const index = parent.getArguments().indexOf(value);
    if (index < 0) return false;
    const call = parent.compilerNode;
    if (Node.isCallExpression(parent) && parent.getExpression().getText() === 'JSON.stringify') return true;
    const signature = checker.getResolvedSignature(call);
    if (index === 0 && isCollectionKey(signature?.getDeclaration())) return true;
    // The parameter's own type: an `as` cast to the built-in's type hides nothing from the check.
    const argument = checker.getTypeAtLocation(reference.compilerNode);
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- two copies of typescript.d.ts, as above
    return signature !== undefined && natives.argumentNeed(signature as unknown as TypeScript.Signature, index, argument as unknown as TypeScript.Type) !== undefined;
  }

  /**
   * `new Blob([x])`, `Buffer.concat([x, y])`: a list written in the call, to a
   * built-in that reads its elements as real objects (as src/analysis/native-uses.ts
   * finds them). A spread `[...x]` reads x item by item through the proxy, which works.
   */
  function isNativeList(list: Node): boolean {
    let value = list;
    while (isTransparent(value.getParent())) value = value.getParentOrThrow();
    const parent = value.getParent();
    if (!Node.isCallExpression(parent) && !Node.isNewExpression(parent)) return false;
    const index = parent.getArguments().indexOf(value);
    if (index < 0) return false;
    const signature = checker.getResolvedSignature(parent.compilerNode);
    const argument = checker.getTypeAtLocation(value.compilerNode);
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- two copies of typescript.d.ts, as above
    const need = signature === undefined ? undefined : natives.argumentNeed(signature as unknown as TypeScript.Signature, index, argument as unknown as TypeScript.Type);
    return need?.inElements === true;
  }
}

/** `map.get(key)`, `set.has(value)`: looked up by identity, which for a proxy is the proxy object. */
function isCollectionKey(declaration: ts.Declaration | undefined): boolean {
  if (declaration === undefined || !ts.isMethodSignature(declaration) || !ts.isIdentifier(declaration.name)) return false;
  const owner = declaration.parent;
  return ts.isInterfaceDeclaration(owner) && isKeyMethod(owner.name.text, declaration.name.text);
}

function nameOf(node: FunctionLike): string | undefined {
  if (Node.isFunctionDeclaration(node) || Node.isMethodDeclaration(node)) return node.getName();
  const parent = node.getParent();
  if (Node.isVariableDeclaration(parent) || Node.isPropertyAssignment(parent)) return parent.getName();
  return undefined;
}

/** `x as T`, `x satisfies T`, `x!`, `(x)`: expressions whose value is their operand's. */
function isTransparent(node: Node | undefined): boolean {
  return Node.isAsExpression(node) || Node.isSatisfiesExpression(node) || Node.isNonNullExpression(node) || Node.isParenthesizedExpression(node);
}

/**
 * Imports value and type names from the package in one declaration: into an
 * existing import of it when there is one, else a new one (`import type` when
 * only types are needed, else `import {extract, type ProxyOr}`). Names already
 * imported are left alone.
 */
function addImports(file: SourceFile, values: readonly string[], types: readonly string[]): void {
  const existing = file.getImportDeclarations().filter((declaration) => declaration.getModuleSpecifierValue() === PACKAGE_NAME && declaration.getNamespaceImport() === undefined);
  const imported = new Set(existing.flatMap((declaration) => declaration.getNamedImports().map((specifier) => specifier.getName())));
  const newValues = values.filter((name) => !imported.has(name));
  const newTypes = types.filter((name) => !imported.has(name));
  if (newValues.length === 0 && newTypes.length === 0) return;
  const target = existing.find((declaration) => !declaration.isTypeOnly()) ?? existing[0];
  if (target === undefined) {
    file.addImportDeclaration({
      isTypeOnly: newValues.length === 0,
      moduleSpecifier: PACKAGE_NAME,
      namedImports: [...newValues, ...newTypes.map((name) => (newValues.length === 0 ? name : { name, isTypeOnly: true }))],
    });
    return;
  }
  if (target.isTypeOnly() && newValues.length > 0) {
    // `import type { A }` that now needs values too: `import { type A, value }`.
    target.setIsTypeOnly(false);
    for (const specifier of target.getNamedImports()) specifier.setIsTypeOnly(true);
  }
  target.addNamedImports([...newValues, ...newTypes.map((name) => (target.isTypeOnly() ? name : { name, isTypeOnly: true }))]);
}

/**
 * The project's own style for the text the codemod adds: quotes, spaces inside
 * import braces and indentation, read from its first import and indented line.
 */
function styleOf(project: Project): Partial<ManipulationSettings> {
  const sample = project.getSourceFiles().find((file) => !file.isInNodeModules() && !file.isDeclarationFile() && file.getImportDeclarations().length > 0);
  const declaration = sample?.getImportDeclarations()[0];
  const braces = declaration?.getText().match(/\{(\s?)[^}]*?(\s?)\}/);
  const indent = /^(\t+| {2,})\S/m.exec(sample?.getFullText() ?? '')?.[1];
  return {
    quoteKind: declaration?.getModuleSpecifier().getText().startsWith('"') === true ? QuoteKind.Double : QuoteKind.Single,
    insertSpaceAfterOpeningAndBeforeClosingNonemptyBraces: braces === null || braces === undefined || braces[1] !== '',
    indentationText: indent?.startsWith('\t') === true ? IndentationText.Tab : indent === '    ' ? IndentationText.FourSpaces : IndentationText.TwoSpaces,
  };
}
