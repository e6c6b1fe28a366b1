/**
 * A `ProxyOr<T>` parameter that its function hands, as it is, to a built-in
 * needing the real object (`new TextDecoder().decode(p)`, `new Blob([p])`,
 * `new Response(p)`, `ArrayBuffer.isView(p)`, …). Wrapping the arguments of
 * such a parameter would change what the program computes: a proxy of a
 * typed array is not a typed array to those built-ins, which throw or quietly
 * stringify it. So the transformer does not wrap them, and reports each such
 * use (TS98004) with the fix: pass `extract(p)` there, after which calls are
 * wrapped again.
 *
 * Which built-ins need the real object is decided by the shared
 * src/analysis/native-types.ts (also behind the lint rule no-proxy-to-native).
 */
import type * as ts from 'typescript';
import { nativeTypes, type NativeNeed } from '../src/analysis/native-types.js';
import type { ProxyTypes } from '../src/analysis/proxy-types.js';
import type { TypeScript } from './typescript-api.js';

export interface NativeUse {
  readonly parameter: ts.ParameterDeclaration;
  /** The argument of the built-in's call: the parameter itself, or a list holding it. */
  readonly argument: ts.Expression;
  /** How messages name the built-in: `decode`, `new Blob`. */
  readonly callee: string;
  readonly need: NativeNeed;
}

export interface NativeUses {
  /** The places where the function hands this parameter to a built-in needing the real object; empty for most. */
  of(parameter: ts.ParameterDeclaration): readonly NativeUse[];
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
  const byFunction = new WeakMap<ts.Node, Map<ts.ParameterDeclaration, NativeUse[]>>();

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

  function scan(owner: ts.SignatureDeclaration): Map<ts.ParameterDeclaration, NativeUse[]> {
    const found = new Map<ts.ParameterDeclaration, NativeUse[]>();
    const body = (owner as { body?: ts.Node }).body;
    if (body === undefined) return found;
    const parameters = new Map<ts.Symbol, ts.ParameterDeclaration>();
    for (const parameter of owner.parameters) {
      if (parameter.type === undefined || parameter.dotDotDotToken !== undefined || !ts.isIdentifier(parameter.name) || !types.isProxyOrAnnotation(parameter.type)) continue;
      const symbol = checker.getSymbolAtLocation(parameter.name);
      if (symbol !== undefined) parameters.set(symbol, parameter);
    }
    if (parameters.size === 0) return found;

    const record = (call: ts.CallExpression | ts.NewExpression, index: number, argument: ts.Expression, parameter: ts.ParameterDeclaration, inElements: boolean): void => {
      const signature = checker.getResolvedSignature(call);
      const need = signature === undefined ? undefined : natives.argumentNeed(signature, index, checker.getTypeAtLocation(argument));
      if (need === undefined || need.inElements !== inElements) return;
      const list = found.get(parameter) ?? [];
      list.push({ parameter, argument, callee: calleeName(call), need });
      found.set(parameter, list);
    };

    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) || ts.isNewExpression(node)) {
        (node.arguments ?? []).forEach((argument, index) => {
          const direct = parameterNamed(argument, parameters);
          if (direct !== undefined) {
            record(node, index, argument, direct, false);
            return;
          }
          const list = bare(argument);
          if (!ts.isArrayLiteralExpression(list)) return;
          // A spread element is read item by item through the proxy's traps, which works.
          for (const element of list.elements) {
            const held = ts.isSpreadElement(element) ? undefined : parameterNamed(element, parameters);
            if (held !== undefined) record(node, index, argument, held, true);
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
      const owner = parameter.parent;
      let found = byFunction.get(owner);
      if (found === undefined) {
        found = scan(owner);
        byFunction.set(owner, found);
      }
      return found.get(parameter) ?? [];
    },
  };
}
