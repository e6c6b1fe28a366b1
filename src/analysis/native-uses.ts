/**
 * A `ProxyOr<T>` parameter that its function hands, as it is, to a built-in
 * needing the real object (`new TextDecoder().decode(p)`, `new Blob([p])`,
 * `new Response(p)`, `ArrayBuffer.isView(p)`, …). Wrapping the arguments of
 * such a parameter would change what the program computes: a proxy of a
 * typed array is not a typed array to those built-ins, which throw or quietly
 * stringify it. So the transformer does not wrap them, and reports each such
 * use (TS98004) with the fix: pass `extract(p)` there, after which calls are
 * wrapped again. A local copy (`const b = p`) is followed like the parameter,
 * and so is a local list the parameter is put in before the list reaches the
 * built-in (`const parts = [p]` or `parts.push(p)`, then `new Blob(parts)`),
 * and so is a function of the program the parameter is handed to, whose own
 * parameter reaches such a built-in (`blobOf(p)` with `blobOf(b: Uint8Array)`
 * returning `new Blob([b])`), however deep.
 *
 * Which built-ins need the real object is decided by native-types.ts. The
 * transformer reports these uses (TS98004) and the codemod wraps them; the
 * lint rule no-proxy-to-native asks `ofArgument` where a proxy is handed to a
 * function of the program.
 */
import type * as ts from 'typescript';
import { LIST_ADDING_METHODS, nativeTypes, type NativeNeed } from './native-types.js';
import type { ProxyTypes, TypeScriptApi as TypeScript } from './proxy-types.js';

export interface NativeUse {
  readonly parameter: ts.ParameterDeclaration;
  /**
   * Where the use is reported: the argument of the built-in's call (the
   * parameter itself, or a list written there holding it), or for a list
   * built before the call, the parameter where it is put in that list.
   */
  readonly argument: ts.Expression;
  /** How messages name the built-in: `decode`, `new Blob`. */
  readonly callee: string;
  readonly need: NativeNeed;
  /** The local list the parameter reaches the built-in in, when it was built before the call (`const parts = [p]; new Blob(parts)`). */
  readonly list?: string;
  /**
   * When `callee` is a function of the program rather than the built-in: its
   * parameter that gets the value, and the built-in that parameter reaches
   * (directly or through further functions of the program).
   */
  readonly via?: Via;
}

/** A function of the program's parameter, and the built-in it reaches. */
interface Via {
  readonly parameter: string;
  readonly builtIn: string;
}

export interface NativeUses {
  /** The places where the function hands this parameter to a built-in needing the real object; empty for most. */
  of(parameter: ts.ParameterDeclaration): readonly NativeUse[];
  /**
   * What the function of the program that `call` resolves to does with the
   * value it gets at `index`: its first use handing it to a built-in needing
   * the real object (through further functions of the program, however
   * deep). Undefined for library functions, whose parameter types say what
   * they take.
   */
  ofArgument(call: ts.CallExpression | ts.NewExpression, index: number): { readonly need: NativeNeed; readonly via: Via } | undefined;
}

/** A parameter put in a list, and the expression that puts it there. */
interface Held {
  readonly parameter: ts.ParameterDeclaration;
  readonly at: ts.Expression;
}

const perProgram = new WeakMap<ts.Program, NativeUses>();

export function nativeUses(ts: TypeScript, program: ts.Program, types: ProxyTypes): NativeUses {
  let uses = perProgram.get(program);
  if (uses === undefined) {
    uses = createNativeUses(ts, program, types);
    perProgram.set(program, uses);
  }
  return uses;
}

function createNativeUses(ts: TypeScript, program: ts.Program, types: ProxyTypes): NativeUses {
  const checker = program.getTypeChecker();
  const natives = nativeTypes(ts, program);
  /** Per function: its ProxyOr parameters' uses (`annotated`), or every parameter's (`all`, for functions a ProxyOr parameter is handed to). */
  const byFunction = { annotated: new WeakMap<ts.Node, Map<ts.ParameterDeclaration, NativeUse[]>>(), all: new WeakMap<ts.Node, Map<ts.ParameterDeclaration, NativeUse[]>>() };
  /** Functions being scanned now: a recursive call is not followed into again. */
  const scanning = new Set<ts.Node>();

  function usesIn(owner: ts.SignatureDeclaration, which: keyof typeof byFunction): Map<ts.ParameterDeclaration, NativeUse[]> {
    let found = byFunction[which].get(owner);
    if (found === undefined) {
      scanning.add(owner);
      try {
        found = scan(owner, which);
      } finally {
        scanning.delete(owner);
      }
      byFunction[which].set(owner, found);
    }
    return found;
  }

  /**
   * What a function of the program, called at `call`, does with the value it
   * gets at `index`: its first use that hands it to a built-in needing the real
   * object. Functions in declaration files (libraries) are not looked into:
   * their parameter types say what they take.
   */
  function calleeUse(call: ts.CallExpression | ts.NewExpression, index: number): { readonly need: NativeNeed; readonly via: Via } | undefined {
    const declaration = checker.getResolvedSignature(call)?.getDeclaration();
    if (declaration === undefined || !ts.isFunctionLike(declaration) || scanning.has(declaration) || declaration.getSourceFile().isDeclarationFile) return undefined;
    const parameter = declaration.parameters[index];
    if (parameter === undefined || parameter.dotDotDotToken !== undefined) return undefined;
    const use = usesIn(declaration, 'all').get(parameter)?.[0];
    return use === undefined ? undefined : { need: use.need, via: { parameter: use.parameter.name.getText(), builtIn: use.via?.builtIn ?? use.callee } };
  }

  /**
   * A parameter typed `unknown`, `any` or an unconstrained type parameter: its
   * function takes any value and finds out at run time what it got
   * (`ArrayBuffer.isView(value) || isProxy(value)`), so a built-in it hands the
   * value to is a question asked, not a use to follow a caller's proxy into.
   */
  function takesAnything(parameter: ts.ParameterDeclaration): boolean {
    const type = checker.getTypeAtLocation(parameter);
    if ((type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) !== 0) return true;
    if ((type.flags & ts.TypeFlags.TypeParameter) === 0) return false;
    const constraint = checker.getBaseConstraintOfType(type);
    return constraint === undefined || (constraint.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) !== 0;
  }

  /** The expression with parentheses, `as`, `satisfies` and `!` taken off. */
  function bare(expression: ts.Expression): ts.Expression {
    let node = expression;
    while (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isSatisfiesExpression(node) || ts.isNonNullExpression(node)) node = node.expression;
    return node;
  }

  function calleeName(call: ts.CallExpression | ts.NewExpression): string {
    const callee = bare(call.expression);
    const name = ts.isPropertyAccessExpression(callee) ? callee.name.text : ts.isIdentifier(callee) ? callee.text : callee.getText();
    return ts.isNewExpression(call) ? `new ${name}` : name;
  }

  /** The ProxyOr parameter of `owner` that `expression` names directly, if any. */
  function parameterNamed(expression: ts.Expression, parameters: ReadonlyMap<ts.Symbol, ts.ParameterDeclaration>): ts.ParameterDeclaration | undefined {
    const node = bare(expression);
    if (!ts.isIdentifier(node)) return undefined;
    const symbol = checker.getSymbolAtLocation(node);
    return symbol === undefined ? undefined : parameters.get(symbol);
  }

  /**
   * Whether `parameter`, named at `expression`, may still be a proxy there:
   * not where the code has narrowed a ProxyOr parameter to the plain value
   * (`if (isProxy(p)) … else decode(p)`, or after `if (isProxy(p)) return …`).
   * A parameter typed plainly may get a proxy all the same (its type says
   * nothing of what callers pass), so narrowing tells nothing there.
   */
  function mayBeProxyAt(parameter: ts.ParameterDeclaration, expression: ts.Expression): boolean {
    return !types.isProxy(checker.getTypeAtLocation(parameter)) || types.isProxy(checker.getTypeAtLocation(bare(expression)));
  }

  function scan(owner: ts.SignatureDeclaration, which: keyof typeof byFunction): Map<ts.ParameterDeclaration, NativeUse[]> {
    const found = new Map<ts.ParameterDeclaration, NativeUse[]>();
    const body = (owner as { body?: ts.Node }).body;
    if (body === undefined) return found;
    const parameters = new Map<ts.Symbol, ts.ParameterDeclaration>();
    for (const parameter of owner.parameters) {
      if (parameter.dotDotDotToken !== undefined || !ts.isIdentifier(parameter.name)) continue;
      if (which === 'annotated' && (parameter.type === undefined || !types.isProxyOrAnnotation(parameter.type))) continue;
      if (which === 'all' && takesAnything(parameter)) continue;
      const symbol = checker.getSymbolAtLocation(parameter.name);
      if (symbol !== undefined) parameters.set(symbol, parameter);
    }
    if (parameters.size === 0) return found;

    const record = (call: ts.CallExpression | ts.NewExpression, index: number, argument: ts.Expression, parameter: ts.ParameterDeclaration, inElements: boolean, built?: Held): void => {
      const signature = checker.getResolvedSignature(call);
      const need = signature === undefined ? undefined : natives.argumentNeed(signature, index, checker.getTypeAtLocation(argument));
      if (need === undefined || need.inElements !== inElements) return;
      const uses = found.get(parameter) ?? [];
      const callee = calleeName(call);
      uses.push(built === undefined ? { parameter, argument, callee, need } : { parameter, argument: built.at, callee, need, list: bare(argument).getText() });
      found.set(parameter, uses);
    };

    /** The parameter (or copy) `expression` names, unless narrowed there to the plain value (see mayBeProxyAt). */
    const proxyAt = (expression: ts.Expression): ts.ParameterDeclaration | undefined => {
      const parameter = parameterNamed(expression, parameters);
      return parameter !== undefined && mayBeProxyAt(parameter, expression) ? parameter : undefined;
    };

    /** The parameters among `items` (a list's elements, `push`'s arguments); a spread is read item by item through the proxy's traps, which works. */
    const heldIn = (items: readonly ts.Expression[]): Held[] =>
      items.flatMap((at) => {
        const parameter = ts.isSpreadElement(at) ? undefined : proxyAt(at);
        return parameter === undefined ? [] : [{ parameter, at }];
      });

    // Local lists built first and handed over later (`const parts = [p]; new Blob(parts)`, or `parts.push(p)`):
    // which parameters each may hold, and where they are put in. Whatever happens to the list in between, the parameter may reach the built-in in it.
    const lists = new Map<ts.Symbol, Held[]>();
    const holds = (name: ts.Node, held: readonly Held[]): void => {
      const symbol = checker.getSymbolAtLocation(name);
      if (symbol !== undefined && held.length > 0) lists.set(symbol, [...(lists.get(symbol) ?? []), ...held]);
    };
    /** Declared in this function's body: a list from outside may hold anything, and is not this scan's to follow. */
    const isLocal = (name: ts.Identifier): boolean =>
      checker.getSymbolAtLocation(name)?.declarations?.some((declaration) => declaration.pos >= body.pos && declaration.end <= body.end && declaration.getSourceFile() === body.getSourceFile()) === true;
    const collect = (node: ts.Node): void => {
      if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer !== undefined) {
        const initializer = bare(node.initializer);
        const copied = parameterNamed(initializer, parameters);
        const symbol = checker.getSymbolAtLocation(node.name);
        // `const b = p`: what is done to b is done to p (parameters now maps the copy to p too).
        if (copied !== undefined && symbol !== undefined) parameters.set(symbol, copied);
        if (ts.isArrayLiteralExpression(initializer)) holds(node.name, heldIn(initializer.elements));
      } else if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && LIST_ADDING_METHODS.has(node.expression.name.text)) {
        const target = bare(node.expression.expression);
        if (ts.isIdentifier(target) && isLocal(target)) holds(target, heldIn(node.arguments));
      }
      ts.forEachChild(node, collect);
    };
    collect(body);

    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) || ts.isNewExpression(node)) {
        (node.arguments ?? []).forEach((argument, index) => {
          const direct = parameterNamed(argument, parameters);
          if (direct !== undefined) {
            if (!mayBeProxyAt(direct, argument)) return;
            record(node, index, argument, direct, false);
            // Handed to a function of the program, which may hand it to a built-in in turn.
            const inner = calleeUse(node, index);
            if (inner !== undefined) {
              const uses = found.get(direct) ?? [];
              uses.push({ parameter: direct, argument, callee: calleeName(node), ...inner });
              found.set(direct, uses);
            }
            return;
          }
          const list = bare(argument);
          if (ts.isArrayLiteralExpression(list)) {
            for (const { parameter } of heldIn(list.elements)) record(node, index, argument, parameter, true);
          } else if (ts.isIdentifier(list)) {
            const symbol = checker.getSymbolAtLocation(list);
            for (const held of (symbol === undefined ? undefined : lists.get(symbol)) ?? []) record(node, index, argument, held.parameter, true, held);
          }
        });
      }
      ts.forEachChild(node, visit);
    };
    visit(body);
    return found;
  }

  return {
    of(parameter) {
      return usesIn(parameter.parent, 'annotated').get(parameter) ?? [];
    },
    ofArgument: calleeUse,
  };
}
