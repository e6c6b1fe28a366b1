/**
 * What a function of the user's own does with one of its parameters that
 * would go wrong if it were handed a proxy instead of the real object. A
 * parameter typed plainly `T` still works with a proxy when the function only
 * reads it (properties, methods, iteration, passing it on to code that does
 * the same): zod's `treeifyError` hands its error to a local `processError`
 * that only reads `error.issues`. It goes wrong when the function compares it
 * by identity, gives it to a built-in that needs the real object, clones or
 * JSON-encodes it, writes to it (which a shared borrow must not), or lets it
 * go somewhere this analysis cannot follow.
 *
 * The body is read with the TypeScript checker, so a helper in another file of
 * the same program is followed as well as a local one; helpers it passes the
 * value on to are followed in turn, a few calls deep.
 */
import type ts from 'typescript';
import { clonedArgument } from '../../src/analysis/clone-sites.js';
import { declarationSite } from '../../src/analysis/declaration-site.js';
import { isKeyedCollectionKey, isObjectIs } from '../../src/analysis/identity-sites.js';
import type { TypedRuleTools } from './typed-rule.js';
import { typescript } from '../../src/analysis/typescript.js';
import { primitiveFlags } from '../../src/analysis/proxy-types.js';

type NeedKind = 'identity' | 'native' | 'clone' | 'json' | 'write' | 'stored' | 'unseen';

export interface RealObjectNeed {
  readonly kind: NeedKind;
  /** Where in the helper (or in a helper it calls) the real object is needed. */
  readonly node: ts.Node;
  /** What needs it, for messages: a built-in's name or the helper the value was passed on to. */
  readonly detail: string;
  /** When the value is passed on to another helper of the program: what that helper needs. */
  readonly inner?: RealObjectNeed;
}

export interface ParameterNeeds {
  /** What the function does with this parameter that a proxy cannot stand in for; empty when it only reads it. */
  needsOf(parameter: ts.ParameterDeclaration): readonly RealObjectNeed[];
}

/** Lib methods that keep their argument in a collection, where it outlives the call under a plain type. */
const STORING = new Set(['Array#push', 'Array#unshift', 'Array#splice', 'Array#fill', 'Map#set', 'WeakMap#set']);

// Deep enough for a public function and the helpers it delegates to, shallow enough to stay cheap.
const MAX_CALL_DEPTH = 4;

const { SyntaxKind } = typescript;
const EQUALITY = new Set([SyntaxKind.EqualsEqualsEqualsToken, SyntaxKind.ExclamationEqualsEqualsToken, SyntaxKind.EqualsEqualsToken, SyntaxKind.ExclamationEqualsToken]);
const PASS_THROUGH = new Set([SyntaxKind.QuestionQuestionToken, SyntaxKind.BarBarToken, SyntaxKind.AmpersandAmpersandToken]);
const PRIMITIVE = primitiveFlags(typescript);

function isPrimitiveOnly(type: ts.Type): boolean {
  if (type.isUnion()) return type.types.every(isPrimitiveOnly);
  return (type.flags & PRIMITIVE) !== 0;
}

function isAssignment(node: ts.Node): node is ts.BinaryExpression {
  return (
    typescript.isBinaryExpression(node) &&
    node.operatorToken.kind >= SyntaxKind.FirstAssignment &&
    node.operatorToken.kind <= SyntaxKind.LastAssignment
  );
}

/** The access is written to: `a.b = …`, `a.b += …`, `a.b++`, `delete a.b`. */
function isWritten(access: ts.Node): boolean {
  const parent = access.parent;
  if (isAssignment(parent)) return parent.left === access;
  if (typescript.isDeleteExpression(parent)) return true;
  const counts = typescript.isPrefixUnaryExpression(parent) || typescript.isPostfixUnaryExpression(parent);
  return counts && (parent.operator === SyntaxKind.PlusPlusToken || parent.operator === SyntaxKind.MinusMinusToken);
}

/** The expression whose value may be the reference itself: through parentheses, casts, `??`, `?:` branches and commas. */
function outermostValue(reference: ts.Expression): ts.Expression {
  let node: ts.Expression = reference;
  for (;;) {
    const parent = node.parent;
    const wraps =
      typescript.isParenthesizedExpression(parent) ||
      typescript.isAsExpression(parent) ||
      typescript.isNonNullExpression(parent) ||
      typescript.isSatisfiesExpression(parent) ||
      typescript.isTypeAssertionExpression(parent) ||
      (typescript.isConditionalExpression(parent) && parent.condition !== node) ||
      (typescript.isBinaryExpression(parent) && PASS_THROUGH.has(parent.operatorToken.kind)) ||
      (typescript.isBinaryExpression(parent) && parent.operatorToken.kind === SyntaxKind.CommaToken && parent.right === node);
    if (!wraps) return node;
    node = parent;
  }
}

/** Uses that only read the value, or hand it back to the caller. */
function onlyReads(value: ts.Expression): boolean {
  const parent = value.parent;
  if (typescript.isPropertyAccessExpression(parent) || typescript.isElementAccessExpression(parent)) return parent.expression === value;
  if (typescript.isCallExpression(parent)) return parent.expression === value;
  if (typescript.isBinaryExpression(parent)) {
    const kind = parent.operatorToken.kind;
    return kind === SyntaxKind.InstanceOfKeyword || kind === SyntaxKind.InKeyword || (kind === SyntaxKind.CommaToken && parent.left === value);
  }
  return (
    typescript.isReturnStatement(parent) ||
    (typescript.isArrowFunction(parent) && parent.body === value) ||
    typescript.isExpressionStatement(parent) ||
    typescript.isIfStatement(parent) ||
    typescript.isWhileStatement(parent) ||
    typescript.isDoStatement(parent) ||
    typescript.isForInStatement(parent) ||
    typescript.isForOfStatement(parent) ||
    typescript.isSwitchStatement(parent) ||
    typescript.isConditionalExpression(parent) ||
    typescript.isPrefixUnaryExpression(parent) ||
    typescript.isTypeOfExpression(parent) ||
    typescript.isVoidExpression(parent) ||
    typescript.isAwaitExpression(parent) ||
    typescript.isTemplateSpan(parent) ||
    typescript.isSpreadElement(parent) ||
    typescript.isSpreadAssignment(parent)
  );
}

const perChecker = new WeakMap<ts.TypeChecker, ParameterNeeds>();

export function parameterNeeds(tools: TypedRuleTools): ParameterNeeds {
  let found = perChecker.get(tools.checker);
  if (found === undefined) {
    found = createParameterNeeds(tools);
    perChecker.set(tools.checker, found);
  }
  return found;
}

function createParameterNeeds(tools: TypedRuleTools): ParameterNeeds {
  const { checker, proxies } = tools;
  const { program } = tools.services;
  const natives = tools.natives;
  const known = new WeakMap<ts.ParameterDeclaration, readonly RealObjectNeed[]>();

  const need = (kind: NeedKind, node: ts.Node, detail = ''): RealObjectNeed => ({ kind, node, detail });

  /** What passing the value as argument `index` of `call` needs. */
  function argumentNeeds(call: ts.CallExpression | ts.NewExpression, index: number, value: ts.Expression, depth: number): readonly RealObjectNeed[] {
    const signature = checker.getResolvedSignature(call);
    const declaration = signature?.getDeclaration();
    if (signature === undefined || declaration === undefined) return [need('unseen', call, call.expression.getText())];
    const site = declarationSite(declaration, program);
    if (clonedArgument(site) === index) return [need('clone', call, call.expression.getText())];
    if (site.origin === 'lib' && site.owner === 'JSON' && site.name === 'stringify' && index === 0) return [need('json', call)];
    if ((isObjectIs(site) && index < 2) || (isKeyedCollectionKey(site) && index === 0)) return [need('identity', call)];
    const native = natives.argumentNeed(signature, index, checker.getTypeAtLocation(value));
    if (native !== undefined) return [need('native', call, native.name)];
    if (site.origin === 'lib' && STORING.has(`${site.owner ?? ''}#${site.name}`)) return [need('stored', call)];
    if (site.origin !== 'local') return [];
    const parameter = parameterAt(declaration, index);
    if (parameter === undefined || proxies.acceptsProxy(parameter)) return [];
    const callee = call.expression.getText();
    if (depth >= MAX_CALL_DEPTH) return [need('unseen', call, callee)];
    // Every need of the helper: the rule drops writes unless the argument is a shared borrow.
    return needsAt(parameter, depth + 1).map((inner) => ({ kind: inner.kind, node: call, detail: callee, inner }));
  }

  /**
   * What one use of a rest parameter needs: its elements are the values passed.
   * They are followed through `list[i]` and `for (const x of list)`; the list
   * handed anywhere else (a callback of `map`, another function) takes them out of sight.
   */
  function listUseNeeds(reference: ts.Identifier, depth: number, aliases: ts.Symbol[]): readonly RealObjectNeed[] {
    const value = outermostValue(reference);
    const parent = value.parent;
    if (typescript.isElementAccessExpression(parent) && parent.expression === value) return useNeeds(parent, depth, aliases);
    if (typescript.isPropertyAccessExpression(parent) && parent.name.text === 'length') return [];
    if (typescript.isForOfStatement(parent) && parent.expression === value && typescript.isVariableDeclarationList(parent.initializer)) {
      const name = parent.initializer.declarations[0]?.name;
      const element = name !== undefined && typescript.isIdentifier(name) ? checker.getSymbolAtLocation(name) : undefined;
      if (element !== undefined) aliases.push(element);
      return [];
    }
    return [need('stored', parent)];
  }

  /** What one use of the tracked value needs, or an alias to follow. */
  function useNeeds(reference: ts.Expression, depth: number, aliases: ts.Symbol[]): readonly RealObjectNeed[] {
    const value = outermostValue(reference);
    const parent = value.parent;
    if ((typescript.isPropertyAccessExpression(parent) || typescript.isElementAccessExpression(parent)) && parent.expression === value) {
      return isWritten(parent) ? [need('write', parent)] : [];
    }
    if (onlyReads(value)) return [];
    if (typescript.isBinaryExpression(parent) && EQUALITY.has(parent.operatorToken.kind)) {
      const other = parent.left === value ? parent.right : parent.left;
      return isPrimitiveOnly(checker.getTypeAtLocation(other)) ? [] : [need('identity', parent)];
    }
    if ((typescript.isCallExpression(parent) || typescript.isNewExpression(parent)) && parent.arguments !== undefined) {
      const index = parent.arguments.indexOf(value);
      if (index >= 0) return argumentNeeds(parent, index, value, depth);
    }
    // `const alias = value` in the same function: its uses are the value's uses.
    if (typescript.isVariableDeclaration(parent) && parent.initializer === value) {
      if (!typescript.isIdentifier(parent.name)) return [];
      const alias = checker.getSymbolAtLocation(parent.name);
      if (alias !== undefined) aliases.push(alias);
      return [];
    }
    return [need('stored', parent)];
  }

  function usesIn(parameter: ts.ParameterDeclaration, body: ts.Node, depth: number): readonly RealObjectNeed[] {
    if (!typescript.isIdentifier(parameter.name)) return []; // Destructured: the function reads properties, never holds the proxy.
    const own = checker.getSymbolAtLocation(parameter.name);
    if (own === undefined) return [need('unseen', parameter)];
    const tracked = [own];
    const list = parameter.dotDotDotToken === undefined ? undefined : own;
    const names = new Set([parameter.name.text]);
    const found: RealObjectNeed[] = [];
    // Aliases are declared before their uses, so one walk in source order meets them in time.
    const visit = (node: ts.Node): void => {
      if (typescript.isIdentifier(node) && names.has(node.text) && !typescript.isVariableDeclaration(node.parent)) {
        // In `{ d }` the name's own symbol is the new object's property; the value is the variable's.
        const symbol = typescript.isShorthandPropertyAssignment(node.parent) ? checker.getShorthandAssignmentValueSymbol(node.parent) : checker.getSymbolAtLocation(node);
        if (symbol !== undefined && tracked.includes(symbol)) {
          const aliases: ts.Symbol[] = [];
          found.push(...(symbol === list ? listUseNeeds(node, depth, aliases) : useNeeds(node, depth, aliases)));
          for (const alias of aliases) {
            tracked.push(alias);
            names.add(alias.name);
          }
        }
      }
      typescript.forEachChild(node, visit);
    };
    visit(body);
    return found;
  }

  function needsAt(parameter: ts.ParameterDeclaration, depth: number): readonly RealObjectNeed[] {
    const cached = known.get(parameter);
    if (cached !== undefined) return cached;
    known.set(parameter, []); // A recursive helper meets itself: what it does is being worked out.
    const owner = parameter.parent;
    const body = (owner as { body?: ts.Node }).body;
    let needs: readonly RealObjectNeed[];
    if (typescript.canHaveModifiers(parameter) && typescript.getModifiers(parameter)?.some(isPropertyModifier) === true) {
      needs = [need('stored', parameter)]; // `constructor(readonly doc: Doc)` keeps the value in the object.
    } else if (body === undefined) {
      needs = [need('unseen', owner, '')];
    } else {
      needs = usesIn(parameter, body, depth);
    }
    known.set(parameter, needs);
    return needs;
  }

  return { needsOf: (parameter) => needsAt(parameter, 0) };
}

function isPropertyModifier(modifier: ts.ModifierLike): boolean {
  const kind = modifier.kind;
  return kind === SyntaxKind.PublicKeyword || kind === SyntaxKind.PrivateKeyword || kind === SyntaxKind.ProtectedKeyword || kind === SyntaxKind.ReadonlyKeyword;
}

/** The parameter an argument lands in, following a rest parameter. */
export function parameterAt(declaration: ts.SignatureDeclaration, index: number): ts.ParameterDeclaration | undefined {
  const parameters = declaration.parameters;
  const last = parameters[parameters.length - 1];
  return parameters[index] ?? (last?.dotDotDotToken !== undefined ? last : undefined);
}
