import { AST_NODE_TYPES, type TSESLint, type TSESTree } from '@typescript-eslint/utils';
import { flowFacts } from '../utils/code-path-flow.js';
import { createRule } from '../utils/create-rule.js';
import { memoize } from '../../src/analysis/memoize.js';
import { ownershipFlow, taskMethodsSchema, variableKinds, type OwnershipEvent, type TaskMethodsOption } from '../utils/ownership-flow.js';
import { isAsyncContext, outermostWrapper, skipTypeWrappers } from '../utils/syntax.js';
import { typedRuleTools } from '../utils/typed-rule.js';
import { typescript } from '../../src/analysis/typescript.js';

type Variable = TSESLint.Scope.Variable;
type WriteEvent = Extract<OwnershipEvent, { type: 'write' }>;
type MessageIds = 'notDisposed' | 'overwritten' | 'useAwaitUsing' | 'useUsing';

const HANDING_OVER = new Set<string>([AST_NODE_TYPES.CallExpression, AST_NODE_TYPES.NewExpression, AST_NODE_TYPES.Identifier]);

/** Values that hand their ownership to the variable: what a call returns, or another variable's owner. Not a field read, which aliases. */
function isHandedOver(value: TSESTree.Expression): boolean {
  let inner = skipTypeWrappers(value);
  if (inner.type === AST_NODE_TYPES.AwaitExpression) inner = skipTypeWrappers(inner.argument);
  return HANDING_OVER.has(inner.type);
}

function declaratorOf(variable: Variable): TSESTree.VariableDeclarator | undefined {
  const definition = variable.defs[0];
  return variable.defs.length === 1 && definition?.node.type === AST_NODE_TYPES.VariableDeclarator ? definition.node : undefined;
}

export default createRule<[TaskMethodsOption], MessageIds>({
  name: 'require-owned-dispose',
  meta: {
    type: 'problem',
    docs: {
      description: 'Require every `OwnedProxy` held in a variable to be disposed, moved or handed on, on every path',
      recommended: 'strict',
      requiresTypeChecking: true,
    },
    hasSuggestions: true,
    messages: {
      notDisposed:
        '`{{name}}` owns its stored object, but on some path it is neither disposed, moved nor handed on, and the object stays in the store. Declare it with `await using` or `using`, or dispose it on every path.',
      overwritten:
        '`{{name}}` is reassigned while it still owns an object that was neither disposed, moved nor handed on: that object stays in the store.',
      useAwaitUsing: 'Declare it with `await using`: the object is evicted when the scope ends, and the eviction is awaited.',
      useUsing: 'Declare it with `using`: the object is evicted when the scope ends.',
    },
    schema: [taskMethodsSchema],
  },
  defaultOptions: [{ taskMethods: [] }],
  create(context, [{ taskMethods = [] }]) {
    const tools = typedRuleTools(context);
    const { sourceCode } = context;
    const kindOf = variableKinds(tools);
    const reported = new Set<TSESTree.Node>();

    /** `const`/`let` variables typed as owners; exported ones are someone else's to dispose. */
    const isTracked = memoize((variable: Variable): boolean => {
      const declaration = declaratorOf(variable)?.parent;
      return (
        declaration !== undefined &&
        (declaration.kind === 'const' || declaration.kind === 'let') &&
        declaration.declare !== true &&
        declaration.parent.type !== AST_NODE_TYPES.ExportNamedDeclaration &&
        kindOf(variable) === 'owned'
      );
    });

    /** The called function takes the owner: its parameter is typed as one. This package's own functions only borrow or copy. */
    function takesOwner(node: TSESTree.Identifier, call: TSESTree.CallExpression | TSESTree.NewExpression): boolean {
      if (tools.siteOf(call)?.origin === 'self') return false;
      const expression = tools.services.esTreeNodeToTSNodeMap.get(node);
      const contextual = typescript.isExpression(expression) ? tools.checker.getContextualType(expression) : undefined;
      return contextual !== undefined && tools.proxies.ownershipOf(contextual) === 'owned';
    }

    /**
     * The read hands the owner on: returned, stored elsewhere, or passed to a
     * function that takes owners. Remembered: the analysis passes over loops more than once.
     */
    const handsOn = memoize(readHandsOn);

    function readHandsOn(node: TSESTree.Identifier): boolean {
      for (let value = outermostWrapper(node); ; ) {
        const parent = value.parent;
        if (parent === undefined) return false;
        switch (parent.type) {
          case AST_NODE_TYPES.ArrayExpression:
          case AST_NODE_TYPES.SpreadElement:
          case AST_NODE_TYPES.LogicalExpression:
            break;
          case AST_NODE_TYPES.ConditionalExpression:
            if (parent.test === value) return false;
            break;
          case AST_NODE_TYPES.Property:
            if (parent.value !== value || parent.parent.type !== AST_NODE_TYPES.ObjectExpression) return false;
            value = outermostWrapper(parent.parent);
            continue;
          case AST_NODE_TYPES.ReturnStatement:
          case AST_NODE_TYPES.YieldExpression:
          case AST_NODE_TYPES.ExportSpecifier:
            return true;
          case AST_NODE_TYPES.ArrowFunctionExpression:
            return parent.body === value;
          case AST_NODE_TYPES.VariableDeclarator:
            return parent.init === value;
          case AST_NODE_TYPES.AssignmentExpression:
            return parent.right === value;
          case AST_NODE_TYPES.CallExpression:
          case AST_NODE_TYPES.NewExpression:
            return parent.callee !== value && takesOwner(node, parent);
          default:
            return false;
        }
        value = outermostWrapper(parent);
      }
    }

    /** The write leaves the variable owning: a value handed over, in the variable's own function. Remembered like `handsOn`. */
    const ownsAfter = memoize((write: WriteEvent): boolean => {
      // An owner assigned to a variable of an enclosing function is handed on: that function's path decides.
      const local = sourceCode.getScope(write.node).variableScope === write.variable.scope.variableScope;
      return local && write.value !== null && isHandedOver(write.value) && tools.ownershipOf(write.value) === 'owned';
    });

    function step(owning: Map<Variable, TSESTree.Identifier>, event: OwnershipEvent, final: boolean): void {
      const { variable } = event;
      if (!isTracked(variable)) return;
      switch (event.type) {
        case 'write': {
          const declared = event.node.parent.type === AST_NODE_TYPES.VariableDeclarator;
          // A declaration met again is a loop's next iteration: the path's end reports what the last one left.
          if (final && !declared && owning.has(variable)) report(event.node, 'overwritten');
          if (ownsAfter(event)) owning.set(variable, event.node);
          else owning.delete(variable);
          return;
        }
        case 'end':
          if (event.ending.ends.has('owned')) owning.delete(variable);
          return;
        case 'capture':
          // Whoever calls the closure may dispose of it.
          owning.delete(variable);
          return;
        case 'read':
          if (owning.has(variable) && handsOn(event.node)) owning.delete(variable);
      }
    }

    function report(node: TSESTree.Identifier, messageId: 'notDisposed' | 'overwritten'): void {
      if (reported.has(node)) return;
      reported.add(node);
      const suggest = messageId === 'notDisposed' ? usingSuggestions(node) : [];
      context.report({ node, messageId, data: { name: node.name }, suggest });
    }

    /**
     * `using` disposes at scope end even an owner that was returned or stored,
     * so it is offered only for one never handed on; a moved or disposed owner is
     * left alone at scope end, so those are fine.
     */
    function usingSuggestions(node: TSESTree.Identifier): TSESLint.SuggestionReportDescriptor<MessageIds>[] {
      const [variable] = sourceCode.getDeclaredVariables(node.parent);
      const declaration = node.parent.parent;
      if (variable === undefined || declaration?.type !== AST_NODE_TYPES.VariableDeclaration) return [];
      // Other declarators would become `using` too; a case clause does not allow `using` outside a block.
      if (declaration.declarations.length !== 1 || declaration.parent.type === AST_NODE_TYPES.SwitchCase) return [];
      const handedOn = variable.references.some(
        (reference) =>
          (reference.isWrite() && reference.init !== true) ||
          reference.from.variableScope !== variable.scope.variableScope ||
          (reference.isRead() && reference.identifier.type === AST_NODE_TYPES.Identifier && handsOn(reference.identifier)),
      );
      const keyword = sourceCode.getFirstToken(declaration);
      if (handedOn || keyword === null) return [];
      const replace = (text: string) => (fixer: TSESLint.RuleFixer) => fixer.replaceText(keyword, text);
      const suggestions: TSESLint.SuggestionReportDescriptor<MessageIds>[] = [{ messageId: 'useUsing', fix: replace('using') }];
      if (isAsyncContext(declaration, sourceCode.ast.sourceType)) {
        suggestions.unshift({ messageId: 'useAwaitUsing', fix: replace('await using') });
      }
      return suggestions;
    }

    return ownershipFlow(tools, taskMethods, (path) => {
      const facts = flowFacts(path, step);
      for (const segment of path.codePath.finalSegments) {
        for (const declared of facts.get(segment)?.values() ?? []) report(declared, 'notDisposed');
      }
    });
  },
});
