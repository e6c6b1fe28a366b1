import { AST_NODE_TYPES, type TSESLint, type TSESTree } from '@typescript-eslint/utils';
import { flowFacts } from '../utils/code-path-flow.js';
import { createRule } from '../utils/create-rule.js';
import {
  ownershipFlow,
  taskMethodsSchema,
  variableKinds,
  type Ending,
  type OwnershipEvent,
  type TaskMethodsOption,
} from '../utils/ownership-flow.js';
import { typedRuleTools } from '../utils/typed-rule.js';

type Variable = TSESLint.Scope.Variable;

export default createRule<[TaskMethodsOption], 'usedAfterMove'>({
  name: 'no-use-after-move',
  meta: {
    type: 'problem',
    docs: {
      description: 'Disallow using an ownership proxy after it was moved, disposed or released',
      recommended: 'recommended',
      requiresTypeChecking: true,
    },
    messages: {
      usedAfterMove:
        '`{{name}}` is used after it was {{ending}} on line {{line}}: it no longer refers to the object (an ended ownership proxy throws InvalidReferenceError). Use whatever took it over, or `clone(…)` it first.',
    },
    schema: [taskMethodsSchema],
  },
  defaultOptions: [{ taskMethods: [] }],
  create(context, [{ taskMethods = [] }]) {
    const tools = typedRuleTools(context);
    const kindOf = variableKinds(tools);
    const reported = new Set<TSESTree.Node>();

    function report(node: TSESTree.Identifier, ending: Ending): void {
      if (reported.has(node)) return;
      reported.add(node);
      context.report({
        node,
        messageId: 'usedAfterMove',
        data: { name: node.name, ending: ending.description, line: ending.call.loc.start.line },
      });
    }

    function step(ended: Map<Variable, Ending>, event: OwnershipEvent, final: boolean): void {
      switch (event.type) {
        case 'write':
          ended.delete(event.variable);
          return;
        case 'end': {
          const kind = kindOf(event.variable);
          if (kind !== undefined && event.ending.ends.has(kind)) ended.set(event.variable, event.ending);
          return;
        }
        case 'capture':
          // A declared function is created before anything runs; only closures created after the move use it then.
          if (event.closure.type === AST_NODE_TYPES.FunctionDeclaration) return;
          break;
        case 'read':
          break;
      }
      const ending = ended.get(event.variable);
      if (final && ending !== undefined) report(event.node, ending);
    }

    return ownershipFlow(tools, taskMethods, (path) => void flowFacts(path, step));
  },
});
