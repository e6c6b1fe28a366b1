/**
 * Whether a value passed to a `ProxyOr` parameter can leave the process from
 * inside the callee. Wrapping pays off only for values that are sent
 * somewhere; a callee that only reads its argument is faster given the value
 * itself (no proxy traps in its loops) and its call is left exactly as tsc
 * emits it.
 *
 * The analysis follows the parameter through the callee's body when the body
 * is in the program (not a declaration file). Every use of the parameter, and
 * of local constants and variables it is copied into, must be one that keeps
 * the value here:
 * - reading or writing its members, calling its methods, iterating it,
 *   spreading it, comparing it, `typeof`/`instanceof`/`in`, truthiness;
 * - passing it to a function of the program whose parameter is local-only in
 *   turn (followed the same way, with a guard against recursion), to this
 *   package's inspectors (`isProxy`, `extract`, `resolve`, …), or to
 *   TypeScript's lib functions that only read (`Object.keys`, `Array.from`, …).
 * Anything else counts as leaving: an encoder or a submit-style API,
 * `JSON.stringify`, `structuredClone`, `postMessage`, storing it in an object,
 * an array, a field or an outer variable, returning it, capturing it in
 * `arguments`, passing it to a function whose body is not visible
 * (declaration files, function-typed values) or to a rest parameter.
 *
 * Not wrapping is always safe for the program's results: a `ProxyOr<T>`
 * callee accepts the plain `T`, and a value that is sent anyway goes by value.
 * So where the analysis cannot tell, it says "leaves", which keeps today's wrapping.
 */
import type * as ts from 'typescript';
import { packageModule } from '../src/analysis/package-files.js';
import { primitiveFlags } from '../src/analysis/proxy-types.js';
import type { TypeScript } from './typescript-api.js';

/** Why a parameter's value may leave the process, pointing at the use that decided. */
interface Escape {
  readonly node: ts.Node;
  readonly reason: string;
}

export interface EscapeAnalysis {
  /** Undefined when the value passed to `parameter` never leaves the process; else the first use that may send it. */
  escapeOf(parameter: ts.ParameterDeclaration): Escape | undefined;
}

/** This package's functions that look at a proxy or its target without sending it anywhere. */
const LOCAL_PACKAGE_FUNCTIONS = new Set(['isProxy', 'isResolved', 'extract', 'resolve', 'resolveAsync', 'getMetadata', 'metadataOf']);

/** Lib functions that read their argument and keep nothing of it. */
const READING_LIB_FUNCTIONS = new Set([
  'Object.keys',
  'Object.values',
  'Object.entries',
  'Object.getOwnPropertyNames',
  'Object.getPrototypeOf',
  'Object.hasOwn',
  'Object.isFrozen',
  'Object.isSealed',
  'Object.isExtensible',
  'Array.from',
  'Array.isArray',
  'ArrayBuffer.isView',
  'Number',
  'String',
  'Boolean',
  'isNaN',
  'isFinite',
]);

/** How deep calls are followed; deeper chains count as leaving rather than cost unbounded time. */
const MAX_DEPTH = 16;

export function createEscapeAnalysis(ts: TypeScript, program: ts.Program, isSubmitCall: (call: ts.CallExpression) => boolean): EscapeAnalysis {
  const checker = program.getTypeChecker();
  const PRIMITIVE = primitiveFlags(ts);
  const known = new Map<ts.ParameterDeclaration, Escape | undefined>();
  const inProgress = new Set<ts.ParameterDeclaration>();

  const leaves = (node: ts.Node, reason: string): Escape => ({ node, reason });

  function escapeOf(parameter: ts.ParameterDeclaration, depth = 0): Escape | undefined {
    if (known.has(parameter)) return known.get(parameter);
    // A recursive call adds no use the outer walk does not see.
    if (inProgress.has(parameter)) return undefined;
    if (depth > MAX_DEPTH) return leaves(parameter, `calls nest deeper than ${MAX_DEPTH} functions`);
    inProgress.add(parameter);
    let escape: Escape | undefined;
    try {
      escape = analyze(parameter, depth);
    } finally {
      inProgress.delete(parameter);
    }
    known.set(parameter, escape);
    return escape;
  }

  function analyze(parameter: ts.ParameterDeclaration, depth: number): Escape | undefined {
    const fn = parameter.parent;
    if (parameter.dotDotDotToken !== undefined) return leaves(parameter, 'it is gathered into a rest parameter');
    if (ts.isParameterPropertyDeclaration(parameter, fn)) return leaves(parameter, 'it is a parameter property, stored on the object');
    if (!ts.isIdentifier(parameter.name)) return undefined; // destructured: only its members are bound
    const implementation = ts.isFunctionLike(fn) ? withBody(fn) : undefined;
    if (implementation === undefined) return leaves(parameter, 'the callee has no body in this program');
    // An overload's parameter stands for the implementation's at the same position.
    if (implementation !== fn) {
      const own = implementation.parameters[fn.parameters.indexOf(parameter)];
      return own === undefined ? leaves(parameter, 'the implementation has no such parameter') : escapeOf(own, depth);
    }
    const body = (implementation as { body?: ts.Node }).body as ts.Node;
    const symbol = checker.getSymbolAtLocation(parameter.name);
    if (symbol === undefined) return leaves(parameter, 'the parameter has no symbol');
    return usesOf(new Set([symbol]), body, depth);
  }

  /** Walks `body` for references to any of `symbols` (which grows as the value is copied into locals). */
  function usesOf(symbols: Set<ts.Symbol>, body: ts.Node, depth: number): Escape | undefined {
    const names = new Set([...symbols].map((s) => s.getName()));
    let escape: Escape | undefined;
    const visit = (node: ts.Node): void => {
      if (escape !== undefined) return;
      if (ts.isIdentifier(node)) {
        // Strict code cannot declare a variable of that name, so it is the arguments object (a nested function's counts too: it is rare, and leaving is the safe answer).
        if (node.text === 'arguments' && !(ts.isPropertyAccessExpression(node.parent) && node.parent.name === node)) {
          escape = leaves(node, 'the callee reads `arguments`');
          return;
        }
        if (names.has(node.text) && refersTo(node, symbols)) escape = sinkOf(node, symbols, names, depth);
        return;
      }
      ts.forEachChild(node, visit);
    };
    visit(body);
    return escape;
  }

  function refersTo(id: ts.Identifier, symbols: Set<ts.Symbol>): boolean {
    const parent = id.parent;
    if (ts.isShorthandPropertyAssignment(parent) && parent.name === id) {
      const value = checker.getShorthandAssignmentValueSymbol(parent);
      return value !== undefined && symbols.has(value);
    }
    // Declarations of the name (the parameter itself, a property name) are not uses.
    if ((ts.isPropertyAccessExpression(parent) && parent.name === id) || (ts.isParameter(parent) && parent.name === id)) return false;
    if ((ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent) || ts.isMethodDeclaration(parent)) && parent.name === id) return false;
    const symbol = checker.getSymbolAtLocation(id);
    return symbol !== undefined && symbols.has(symbol);
  }

  /** Where the value read at `reference` ends up: a local use, a copy into a local (followed), or a place it may leave from. */
  function sinkOf(reference: ts.Identifier, symbols: Set<ts.Symbol>, names: Set<string>, depth: number): Escape | undefined {
    // Narrowed to a primitive here (`typeof x === 'number' ? x : …`): whatever it does, no object goes anywhere.
    if (isPrimitive(checker.getTypeAtLocation(reference))) return undefined;
    let node: ts.Expression = reference;
    let parent = node.parent;
    // Expressions that hand the value on unchanged.
    for (;;) {
      if (
        ts.isParenthesizedExpression(parent) ||
        ts.isAsExpression(parent) ||
        ts.isNonNullExpression(parent) ||
        ts.isTypeAssertionExpression(parent) ||
        ts.isSatisfiesExpression(parent) ||
        (ts.isConditionalExpression(parent) && parent.condition !== node) ||
        (ts.isBinaryExpression(parent) && isPassThroughOperator(parent.operatorToken.kind) && (parent.right === node || parent.operatorToken.kind !== ts.SyntaxKind.CommaToken))
      ) {
        node = parent;
        parent = node.parent;
        continue;
      }
      break;
    }
    if (ts.isShorthandPropertyAssignment(parent)) return leaves(parent, 'it is stored in an object literal');
    if ((ts.isPropertyAccessExpression(parent) || ts.isElementAccessExpression(parent)) && parent.expression === node) return undefined;
    if (ts.isElementAccessExpression(parent)) return undefined; // used as a key
    if (ts.isCallExpression(parent) || ts.isNewExpression(parent)) {
      if (parent.expression === node) return undefined; // called
      return argumentSink(parent, node, depth);
    }
    if (ts.isForOfStatement(parent) || ts.isForInStatement(parent)) return undefined;
    if (ts.isSpreadElement(parent) || ts.isSpreadAssignment(parent)) {
      // Spread into a call, an array or an object: its items or members go, not the value.
      return undefined;
    }
    if (ts.isExpressionStatement(parent) || ts.isIfStatement(parent) || ts.isWhileStatement(parent) || ts.isDoStatement(parent) || ts.isSwitchStatement(parent) || ts.isCaseClause(parent)) {
      return undefined;
    }
    if (ts.isForStatement(parent) && parent.condition === node) return undefined;
    // A tag function receives the values of its template.
    if (ts.isTemplateSpan(parent) && ts.isTaggedTemplateExpression(parent.parent.parent)) return leaves(parent.parent.parent, 'it is passed to a template tag');
    if (ts.isTemplateSpan(parent) || ts.isPrefixUnaryExpression(parent) || ts.isPostfixUnaryExpression(parent) || ts.isTypeOfExpression(parent) || ts.isVoidExpression(parent) || ts.isDeleteExpression(parent)) {
      return undefined;
    }
    if (ts.isBinaryExpression(parent)) return binarySink(parent, node, symbols, names);
    if (ts.isVariableDeclaration(parent) && parent.initializer === node) {
      if (!ts.isIdentifier(parent.name)) return undefined; // destructuring reads members
      const copy = checker.getSymbolAtLocation(parent.name);
      if (copy === undefined) return leaves(parent, 'it is copied into a variable the checker cannot follow');
      // Followed by the same walk: the body is visited in order, and its later uses are still ahead.
      symbols.add(copy);
      names.add(copy.getName());
      return undefined;
    }
    if (ts.isReturnStatement(parent) || ts.isArrowFunction(parent)) return leaves(parent, 'it is returned to the caller');
    if (ts.isArrayLiteralExpression(parent)) return leaves(parent, 'it is stored in an array');
    if (ts.isPropertyAssignment(parent)) return leaves(parent, 'it is stored in an object literal');
    return leaves(parent, `it is used in a ${ts.SyntaxKind[parent.kind]}, which the analysis does not follow`);
  }

  function isPrimitive(type: ts.Type): boolean {
    return type.isUnion() ? type.types.every(isPrimitive) : (type.flags & PRIMITIVE) !== 0;
  }

  function isPassThroughOperator(kind: ts.SyntaxKind): boolean {
    const { SyntaxKind } = ts;
    return kind === SyntaxKind.QuestionQuestionToken || kind === SyntaxKind.BarBarToken || kind === SyntaxKind.AmpersandAmpersandToken || kind === SyntaxKind.CommaToken;
  }

  function binarySink(parent: ts.BinaryExpression, node: ts.Expression, symbols: Set<ts.Symbol>, names: Set<string>): Escape | undefined {
    const { SyntaxKind } = ts;
    const operator = parent.operatorToken.kind;
    const assigns = operator === SyntaxKind.EqualsToken || operator === SyntaxKind.QuestionQuestionEqualsToken || operator === SyntaxKind.BarBarEqualsToken || operator === SyntaxKind.AmpersandAmpersandEqualsToken;
    if (!assigns) return undefined; // comparisons, arithmetic, `in`, `instanceof`, `+=` (a number or a string)
    if (parent.left === node) return undefined; // the parameter itself is reassigned
    if (ts.isIdentifier(parent.left)) {
      const target = checker.getSymbolAtLocation(parent.left);
      const local = target?.valueDeclaration !== undefined && ts.isVariableDeclaration(target.valueDeclaration) && isInside(target.valueDeclaration, parent);
      if (target !== undefined && local) {
        symbols.add(target);
        names.add(target.getName());
        return undefined;
      }
    }
    return leaves(parent, 'it is stored outside the callee (a field, a property or an outer variable)');
  }

  /** The variable is declared in the function that holds `use`, so it does not outlive the call. */
  function isInside(declaration: ts.Node, use: ts.Node): boolean {
    const fnOf = (node: ts.Node): ts.Node | undefined => ts.findAncestor(node.parent, (n) => ts.isFunctionLike(n));
    return fnOf(declaration) === fnOf(use);
  }

  function argumentSink(call: ts.CallExpression | ts.NewExpression, argument: ts.Expression, depth: number): Escape | undefined {
    const args = call.arguments ?? ts.factory.createNodeArray();
    const index = args.indexOf(argument);
    if (ts.isCallExpression(call) && isSubmitCall(call)) return leaves(call, `it is submitted by '${call.expression.getText()}'`);
    const signature = checker.getResolvedSignature(call);
    const declaration = signature?.getDeclaration();
    if (declaration === undefined || ts.isJSDocSignature(declaration)) return leaves(call, 'the called function is not known');
    const file = declaration.getSourceFile();
    const name = calleeName(call);
    if (program.isSourceFileDefaultLibrary(file)) {
      return READING_LIB_FUNCTIONS.has(name) ? undefined : leaves(call, `it is passed to '${name}', which may keep or send it`);
    }
    if (packageModule(file.fileName) !== undefined) {
      const method = name.slice(name.lastIndexOf('.') + 1);
      return LOCAL_PACKAGE_FUNCTIONS.has(method) ? undefined : leaves(call, `it is passed to '${name}', which sends proxies or asks for their key`);
    }
    const implementation = withBody(declaration);
    if (implementation === undefined) return leaves(call, `the body of '${name}' is not in this program`);
    const parameters = implementation.parameters;
    const last = parameters[parameters.length - 1];
    const parameter = index >= parameters.length - 1 && last?.dotDotDotToken !== undefined ? last : parameters[index];
    if (parameter === undefined) return leaves(call, `'${name}' reads it through \`arguments\``);
    const inner = escapeOf(parameter, depth + 1);
    return inner === undefined ? undefined : leaves(call, `it is passed to '${name}', where ${inner.reason}`);
  }

  /** The declaration with a body for `declaration`: itself, or the implementation of an overload. */
  function withBody(declaration: ts.SignatureDeclaration): ts.SignatureDeclaration | undefined {
    if (declaration.getSourceFile().isDeclarationFile) return undefined;
    if ('body' in declaration && declaration.body !== undefined) return declaration;
    const symbol = declaration.name === undefined ? undefined : checker.getSymbolAtLocation(declaration.name);
    return symbol?.declarations?.find((d): d is ts.SignatureDeclaration => ts.isFunctionLike(d) && 'body' in d && d.body !== undefined);
  }

  function calleeName(call: ts.CallExpression | ts.NewExpression): string {
    const callee = call.expression;
    if (ts.isIdentifier(callee)) return callee.text;
    if (ts.isPropertyAccessExpression(callee)) {
      const owner = callee.expression;
      return ts.isIdentifier(owner) ? `${owner.text}.${callee.name.text}` : callee.name.text;
    }
    return callee.getText();
  }

  return { escapeOf: (parameter) => escapeOf(parameter) };
}
