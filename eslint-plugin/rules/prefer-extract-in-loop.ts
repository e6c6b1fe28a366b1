import { AST_NODE_TYPES, ASTUtils, type TSESLint, type TSESTree } from '@typescript-eslint/utils';
import { createRule } from '../utils/create-rule.js';
import { typedRuleTools } from '../utils/typed-rule.js';

type Loop =
  | TSESTree.ForStatement
  | TSESTree.ForInStatement
  | TSESTree.ForOfStatement
  | TSESTree.WhileStatement
  | TSESTree.DoWhileStatement;

/** The loop, when `child` is a part of it that runs on every iteration (not a for-of's iterable or a for's init). */
function repeatingLoop(parent: TSESTree.Node, child: TSESTree.Node): Loop | undefined {
  switch (parent.type) {
    case AST_NODE_TYPES.ForStatement:
      return child === parent.body || child === parent.test || child === parent.update ? parent : undefined;
    case AST_NODE_TYPES.WhileStatement:
    case AST_NODE_TYPES.DoWhileStatement:
      return child === parent.body || child === parent.test ? parent : undefined;
    case AST_NODE_TYPES.ForInStatement:
    case AST_NODE_TYPES.ForOfStatement:
      return child === parent.body ? parent : undefined;
    default:
      return undefined;
  }
}

/** Loops around the node, innermost first, up to the enclosing function: a callback runs when someone calls it. */
function enclosingLoops(node: TSESTree.Node): Loop[] {
  const loops: Loop[] = [];
  for (let child = node, parent = node.parent; parent && !ASTUtils.isFunction(parent); child = parent, parent = parent.parent) {
    const loop = repeatingLoop(parent, child);
    if (loop !== undefined) loops.push(loop);
  }
  return loops;
}

function contains(outer: TSESTree.Node, inner: TSESTree.Node): boolean {
  return outer.range[0] <= inner.range[0] && inner.range[1] <= outer.range[1];
}

/**
 * The outermost loop that the variable's value outlives: declared outside it
 * and not reassigned inside it, so one `extract` before it would do.
 */
function hoistableLoop(loops: readonly Loop[], variable: TSESLint.Scope.Variable): Loop | undefined {
  let chosen: Loop | undefined;
  for (const loop of loops) {
    const rebinds =
      variable.defs.some((definition) => contains(loop, definition.name)) ||
      variable.references.some((reference) => reference.isWrite() && contains(loop, reference.identifier));
    if (rebinds) break;
    chosen = loop;
  }
  return chosen;
}

export default createRule({
  name: 'prefer-extract-in-loop',
  meta: {
    type: 'suggestion',
    docs: {
      description: 'Prefer extracting a proxy once over reading its members inside a loop',
      recommended: 'strict',
      requiresTypeChecking: true,
    },
    messages: {
      extractBeforeLoop:
        '`{{name}}` is a proxy, so every member access in this loop goes through a proxy trap. Extract it once before the loop (`const value = extract({{name}})`) and read the value inside.',
    },
    schema: [],
  },
  defaultOptions: [],
  create(context) {
    const tools = typedRuleTools(context);
    const reported = new WeakMap<Loop, Set<TSESLint.Scope.Variable>>();

    return {
      MemberExpression(node) {
        const object = node.object;
        if (object.type !== AST_NODE_TYPES.Identifier) return;
        const loops = enclosingLoops(node);
        if (loops.length === 0) return;
        const variable = ASTUtils.findVariable(context.sourceCode.getScope(object), object);
        if (variable === null) return;
        const loop = hoistableLoop(loops, variable);
        if (loop === undefined || reported.get(loop)?.has(variable) === true || !tools.isProxy(object)) return;
        reported.set(loop, (reported.get(loop) ?? new Set()).add(variable));
        context.report({ node, messageId: 'extractBeforeLoop', data: { name: object.name } });
      },
    };
  },
});
