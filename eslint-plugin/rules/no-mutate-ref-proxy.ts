import { AST_NODE_TYPES, ASTUtils, type TSESTree } from '@typescript-eslint/utils';
import { createRule } from '../utils/create-rule.js';
import { originOf } from '../../src/analysis/declaration-site.js';
import { outermostWrapper, skipTypeWrappers } from '../utils/syntax.js';
import { typedRuleTools } from '../utils/typed-rule.js';

const DATE_PARTS = ['Date', 'FullYear', 'Hours', 'Milliseconds', 'Minutes', 'Month', 'Seconds'];
const DATE_SETTERS = DATE_PARTS.flatMap((part) => [`set${part}`, `setUTC${part}`]);

/** Methods of arrays, typed arrays, Maps, Sets and Dates that change the object they are called on. */
const MUTATORS = new Set([
  'push', 'pop', 'shift', 'unshift', 'splice', 'sort', 'reverse', 'fill', 'copyWithin',
  'set', 'delete', 'add', 'clear',
  ...DATE_SETTERS, 'setTime', 'setYear',
]);

// Enough for `const items = view.items as any; const first = items[0];`.
const ALIAS_HOPS = 4;

/** This package's functions that return the target of the proxy they are given: the borrowed object itself. */
const TARGET_READERS = new Set(['extract', 'resolve', 'resolveAsync']);

/** Whether the member is written: assigned, updated, deleted, or a destructuring or loop target. */
function isWritten(member: TSESTree.MemberExpression): boolean {
  const target = outermostWrapper(member);
  const parent = target.parent;
  if (parent === undefined) return false;
  switch (parent.type) {
    case AST_NODE_TYPES.AssignmentExpression:
    case AST_NODE_TYPES.AssignmentPattern:
      return parent.left === target;
    case AST_NODE_TYPES.UpdateExpression:
      return true;
    case AST_NODE_TYPES.UnaryExpression:
      return parent.operator === 'delete';
    case AST_NODE_TYPES.ArrayPattern:
    case AST_NODE_TYPES.RestElement:
      return true;
    case AST_NODE_TYPES.Property:
      return parent.value === target && parent.parent.type === AST_NODE_TYPES.ObjectPattern;
    case AST_NODE_TYPES.ForInStatement:
    case AST_NODE_TYPES.ForOfStatement:
      return parent.left === target;
    default:
      return false;
  }
}

export default createRule({
  name: 'no-mutate-ref-proxy',
  meta: {
    type: 'problem',
    docs: {
      description: 'Disallow writing through a `RefProxy`, a shared borrow that is read-only',
      recommended: 'recommended',
      requiresTypeChecking: true,
    },
    messages: {
      write:
        '`{{target}}` is written through `{{ref}}`, a RefProxy: a shared borrow is read-only, and a write changes the object under its owner and every other borrower. Take a `mutBorrow(…)` to change it.',
      mutatingCall:
        '`{{method}}()` changes the object it is called on, which is reached through `{{ref}}`, a RefProxy: a shared borrow is read-only. Take a `mutBorrow(…)` to change it.',
    },
    schema: [],
  },
  defaultOptions: [],
  create(context) {
    const tools = typedRuleTools(context);

    /** The value a `const` (or never reassigned `let`) was initialised with, so that a cast on the way does not hide a borrow. */
    function initialValue(identifier: TSESTree.Identifier): TSESTree.Expression | undefined {
      const variable = ASTUtils.findVariable(context.sourceCode.getScope(identifier), identifier);
      const declarator = variable?.defs.length === 1 ? variable.defs[0]?.node : undefined;
      if (variable === null || declarator?.type !== AST_NODE_TYPES.VariableDeclarator) return undefined;
      const reassigned = variable.references.some((reference) => reference.isWrite() && reference.init !== true);
      return reassigned ? undefined : (declarator.init ?? undefined);
    }

    /** The RefProxy the expression reaches into (`ref.a.b`, `(ref as any).a`, an alias of either), if any. */
    function borrowedFrom(expression: TSESTree.Expression, hops: number): TSESTree.Expression | undefined {
      const inner = skipTypeWrappers(expression);
      if (tools.ownershipOf(inner) === 'ref') return inner;
      if (inner.type === AST_NODE_TYPES.MemberExpression) return borrowedFrom(inner.object, hops);
      if (inner.type === AST_NODE_TYPES.ChainExpression) return borrowedFrom(inner.expression, hops);
      if (inner.type === AST_NODE_TYPES.AwaitExpression) return borrowedFrom(inner.argument, hops);
      if (inner.type === AST_NODE_TYPES.CallExpression) {
        const [target] = inner.arguments;
        if (target === undefined || target.type === AST_NODE_TYPES.SpreadElement) return undefined;
        const site = tools.siteOf(inner);
        const readsTarget = site?.origin === 'self' && site.owner === undefined && TARGET_READERS.has(site.name);
        return readsTarget ? borrowedFrom(target, hops) : undefined;
      }
      if (inner.type !== AST_NODE_TYPES.Identifier || hops === 0) return undefined;
      const initial = initialValue(inner);
      return initial === undefined ? undefined : borrowedFrom(initial, hops - 1);
    }

    /**
     * A method is known to mutate only where nothing else is declared under its
     * name: on a borrowed class of the user's, `add` may well return a new value.
     */
    function isKnownMutator(receiver: TSESTree.Expression, method: string): boolean {
      const property = tools.services.getTypeAtLocation(skipTypeWrappers(receiver)).getProperty(method);
      const { program } = tools.services;
      return property?.declarations?.every((declaration) => originOf(declaration.getSourceFile(), program) === 'lib') ?? true;
    }

    const text = (node: TSESTree.Node): string => context.sourceCode.getText(node);

    return {
      MemberExpression(node) {
        if (!isWritten(node)) return;
        const ref = borrowedFrom(node.object, ALIAS_HOPS);
        if (ref !== undefined) context.report({ node, messageId: 'write', data: { target: text(node), ref: text(ref) } });
      },
      CallExpression(node) {
        const callee = skipTypeWrappers(node.callee);
        if (callee.type !== AST_NODE_TYPES.MemberExpression) return;
        const method = ASTUtils.getPropertyName(callee);
        if (method === null || !MUTATORS.has(method)) return;
        const ref = borrowedFrom(callee.object, ALIAS_HOPS);
        if (ref !== undefined && isKnownMutator(callee.object, method)) {
          context.report({ node: callee, messageId: 'mutatingCall', data: { method, ref: text(ref) } });
        }
      },
    };
  },
});
