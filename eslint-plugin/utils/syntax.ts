/** Questions about the syntax around a node that several rules ask. */
import { AST_NODE_TYPES, ASTUtils, type TSESTree } from '@typescript-eslint/utils';

/** The nodes `ASTUtils.isFunction` recognises. */
export type FunctionNode = TSESTree.FunctionDeclaration | TSESTree.FunctionExpression | TSESTree.ArrowFunctionExpression;

type TypeWrapper = TSESTree.TSAsExpression | TSESTree.TSNonNullExpression | TSESTree.TSSatisfiesExpression | TSESTree.TSTypeAssertion;

const TYPE_WRAPPERS = new Set<string>([
  AST_NODE_TYPES.TSAsExpression,
  AST_NODE_TYPES.TSNonNullExpression,
  AST_NODE_TYPES.TSSatisfiesExpression,
  AST_NODE_TYPES.TSTypeAssertion,
]);

/** Casts, non-null assertions and `satisfies`: they change what TypeScript thinks, not the value. */
export function isTypeWrapper(node: TSESTree.Node): node is TypeWrapper {
  return TYPE_WRAPPERS.has(node.type);
}

/** The expression under any type wrappers. */
export function skipTypeWrappers(node: TSESTree.Expression): TSESTree.Expression {
  return isTypeWrapper(node) ? skipTypeWrappers(node.expression) : node;
}

/** The outermost type wrapper around `node` (or `node`): its parent says what happens to the value. */
export function outermostWrapper(node: TSESTree.Node): TSESTree.Node {
  let outer = node;
  while (outer.parent !== undefined && isTypeWrapper(outer.parent)) outer = outer.parent;
  return outer;
}

/** Whether `await` may be written at the node: in an async function, or at the top level of a module. */
export function isAsyncContext(node: TSESTree.Node, sourceType: string): boolean {
  for (let parent = node.parent; parent; parent = parent.parent) {
    if (ASTUtils.isFunction(parent)) return parent.async;
  }
  return sourceType === 'module';
}
