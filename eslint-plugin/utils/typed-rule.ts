/**
 * What every rule needs from type information: proxy checks on ESTree nodes,
 * where a call lands, and whether a call matches a user's type specifiers.
 */
import { typeMatchesSomeSpecifier, valueMatchesSomeSpecifier, type TypeOrValueSpecifier } from '@typescript-eslint/type-utils';
import { AST_NODE_TYPES, ESLintUtils, type ParserServicesWithTypeInformation, type TSESLint, type TSESTree } from '@typescript-eslint/utils';
import type ts from 'typescript';
import { nativeTypes, type NativeNeed, type NativeTypes } from '../../src/analysis/native-types.js';
import { clonedArgument } from '../../src/analysis/clone-sites.js';
import { declarationSite, type DeclarationSite } from '../../src/analysis/declaration-site.js';
import { memoize } from '../../src/analysis/memoize.js';
import { proxyTypes, type ProxyTypes } from '../../src/analysis/proxy-types.js';
import type { OwnershipKind } from '../../src/ownership.js';
import { typescript } from '../../src/analysis/typescript.js';

export type CallNode = TSESTree.CallExpression | TSESTree.NewExpression;

export interface TypedRuleTools {
  readonly sourceCode: Readonly<TSESLint.SourceCode>;
  readonly services: ParserServicesWithTypeInformation;
  readonly checker: ts.TypeChecker;
  readonly proxies: ProxyTypes;
  readonly natives: NativeTypes;
  isProxy(node: TSESTree.Node): boolean;
  ownershipOf(node: TSESTree.Node): OwnershipKind | undefined;
  containsProxy(node: TSESTree.Node): boolean;
  /**
   * Some argument of the call is or holds a proxy. Rules about what a call does
   * with proxies ask this before where the call goes: the argument types are
   * computed already (typescript-eslint's rules ask for them too), resolving
   * every call's signature is not. Remembered per call, for all rules.
   */
  argumentsHoldProxy(call: CallNode): boolean;
  /** The declaration the call resolves to (the chosen overload), if TypeScript knows one. */
  siteOf(call: CallNode): DeclarationSite | undefined;
  /**
   * What the built-in a call resolves to needs of its argument at `index`: the
   * real object, when the parameter's declared type is a slot-checked built-in
   * (see src/analysis/native-types). With `argument`, only if that argument can
   * land in such a type. Arguments that are structured-cloned are left to
   * `no-proxy-structured-clone`.
   */
  nativeNeedOf(call: CallNode, index: number, argument?: TSESTree.Node): NativeNeed | undefined;
  /** The callee matches one of the user's type-or-value specifiers (typescript-eslint's format). */
  calleeMatches(call: CallNode, specifiers: readonly TypeOrValueSpecifier[]): boolean;
}

const heldPerCall = new WeakMap<CallNode, boolean>();

/** Values that are never proxies nor hold one, known without asking their type: literals, new functions and classes. */
const NEVER_PROXY_SYNTAX = new Set<string>([
  AST_NODE_TYPES.Literal,
  AST_NODE_TYPES.TemplateLiteral,
  AST_NODE_TYPES.ArrowFunctionExpression,
  AST_NODE_TYPES.FunctionExpression,
  AST_NODE_TYPES.ClassExpression,
]);

export function typedRuleTools<MessageIds extends string, Options extends readonly unknown[]>(
  context: Readonly<TSESLint.RuleContext<MessageIds, Options>>,
): TypedRuleTools {
  const services = ESLintUtils.getParserServices(context);
  const checker = services.program.getTypeChecker();
  const proxies = proxyTypes(checker, typescript);
  const natives = nativeTypes(typescript, services.program);
  const siteOf = (call: CallNode): DeclarationSite | undefined => {
    const declaration = services.getResolvedSignature(call)?.declaration;
    return declaration === undefined ? undefined : declarationSite(declaration, services.program);
  };
  /** Literals are searched too: `[plain, proxy]` has type `T[]` once TypeScript reduces the element union. */
  function containsProxy(node: TSESTree.Node): boolean {
    if (NEVER_PROXY_SYNTAX.has(node.type)) return false;
    if (proxies.containsProxy(services.getTypeAtLocation(node))) return true;
    if (node.type === AST_NODE_TYPES.ArrayExpression) {
      return node.elements.some((element) => element !== null && containsProxy(element));
    }
    if (node.type === AST_NODE_TYPES.ObjectExpression) {
      return node.properties.some((property) => containsProxy(property.type === AST_NODE_TYPES.Property ? property.value : property));
    }
    return node.type === AST_NODE_TYPES.SpreadElement && containsProxy(node.argument);
  }

  return {
    sourceCode: context.sourceCode,
    services,
    checker,
    proxies,
    natives,
    isProxy: (node) => proxies.isProxy(services.getTypeAtLocation(node)),
    ownershipOf: (node) => proxies.ownershipOf(services.getTypeAtLocation(node)),
    containsProxy,
    argumentsHoldProxy: memoize((call: CallNode) => call.arguments.some(containsProxy), heldPerCall),
    siteOf,
    nativeNeedOf(call, index, argument) {
      const signature = services.getResolvedSignature(call);
      if (signature === undefined) return undefined;
      const need = natives.argumentNeed(signature, index, argument && services.getTypeAtLocation(argument));
      if (need === undefined) return undefined;
      const site = siteOf(call);
      return site !== undefined && clonedArgument(site) === index ? undefined : need;
    },
    calleeMatches(call, specifiers) {
      if (specifiers.length === 0) return false;
      const type = services.getTypeAtLocation(call.callee);
      const named = call.callee.type === AST_NODE_TYPES.MemberExpression ? call.callee.property : call.callee;
      const list = [...specifiers];
      return (
        valueMatchesSomeSpecifier(named, list, services.program, type) ||
        typeMatchesSomeSpecifier(type, list, services.program)
      );
    },
  };
}
