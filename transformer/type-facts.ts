/**
 * What the transformer needs to know about types and expressions: whether a
 * value could be turned into a proxy, whether it is one already.
 */
import type * as ts from 'typescript';
import { primitiveFlags, type ProxyTypes } from '../src/analysis/proxy-types.js';
import type { TypeScript } from './typescript-api.js';

export interface TypeFacts {
  /** No member of the type could be turned into a proxy: primitives, and values that are proxies already. */
  readonly nothingToProxy: (type: ts.Type) => boolean;
  /**
   * A proxy whatever value it holds (null and undefined aside). A `ProxyOr<T>`
   * is not: passing one on to a helper typed `T` is how ProxyOr functions are
   * written, and reporting it would bury the real cases.
   */
  readonly definitelyProxy: (type: ts.Type) => boolean;
  /** For spreads and item lists: the element types when TypeScript knows them, else the iterable's own type. */
  readonly elementTypes: (type: ts.Type) => readonly ts.Type[];
}

export function createTypeFacts(ts: TypeScript, checker: ts.TypeChecker, types: ProxyTypes): TypeFacts {
  const { TypeFlags } = ts;
  const PRIMITIVE = primitiveFlags(ts);

  function nothingToProxy(type: ts.Type): boolean {
    if (type.isUnion()) return type.types.every(nothingToProxy);
    if (type.flags & TypeFlags.TypeParameter) {
      const constraint = checker.getBaseConstraintOfType(type);
      return constraint !== undefined && !(constraint.flags & TypeFlags.Unknown) && nothingToProxy(constraint);
    }
    return (type.flags & PRIMITIVE) !== 0 || types.isProxy(type);
  }

  function definitelyProxy(type: ts.Type): boolean {
    if (!type.isUnion()) return types.isProxy(type);
    const values = type.types.filter((member) => !(member.flags & (TypeFlags.Undefined | TypeFlags.Null)));
    return values.length > 0 && values.every((member) => types.isProxy(member));
  }

  function elementTypes(type: ts.Type): readonly ts.Type[] {
    if (checker.isArrayType(type) || checker.isTupleType(type)) return checker.getTypeArguments(type as ts.TypeReference);
    return [type];
  }

  return { nothingToProxy, definitelyProxy, elementTypes };
}

/**
 * What the syntax alone says about an argument: a fresh object (never a proxy
 * yet), something that can never be proxied, or undefined when only its type
 * can tell. Spares the checker for most literal arguments.
 */
export function syntacticKind(ts: TypeScript, argument: ts.Expression): 'object' | 'unproxiable' | undefined {
  const { SyntaxKind } = ts;
  switch (argument.kind) {
    case SyntaxKind.ObjectLiteralExpression:
    case SyntaxKind.ArrayLiteralExpression:
    case SyntaxKind.NewExpression:
      return 'object';
    // Primitives, and functions, which autoProxy passes through: wrapping them gains nothing.
    case SyntaxKind.NumericLiteral:
    case SyntaxKind.BigIntLiteral:
    case SyntaxKind.StringLiteral:
    case SyntaxKind.NoSubstitutionTemplateLiteral:
    case SyntaxKind.TemplateExpression:
    case SyntaxKind.TrueKeyword:
    case SyntaxKind.FalseKeyword:
    case SyntaxKind.NullKeyword:
    case SyntaxKind.PrefixUnaryExpression:
    case SyntaxKind.PostfixUnaryExpression:
    case SyntaxKind.TypeOfExpression:
    case SyntaxKind.VoidExpression:
    case SyntaxKind.DeleteExpression:
    case SyntaxKind.ArrowFunction:
    case SyntaxKind.FunctionExpression:
    case SyntaxKind.ClassExpression:
      return 'unproxiable';
    default:
      return undefined;
  }
}
