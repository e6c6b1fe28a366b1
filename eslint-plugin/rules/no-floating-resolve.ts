import { AST_NODE_TYPES, type TSESLint, type TSESTree } from '@typescript-eslint/utils';
import { createRule } from '../utils/create-rule.js';
import type { DeclarationSite } from '../../src/analysis/declaration-site.js';
import { isAsyncContext } from '../utils/syntax.js';
import { typedRuleTools } from '../utils/typed-rule.js';

const SIMPLE_OPERAND = new Set<string>([AST_NODE_TYPES.CallExpression, AST_NODE_TYPES.ChainExpression]);
/** Methods of this package's classes whose promise must not be dropped, by class. */
const TRACKED_METHODS = new Map<string, ReadonlySet<string>>([
  ['Store', new Set(['put', 'putBatch', 'proxy', 'proxyBatch', 'ownedProxy', 'evict'])],
  // A dropped result() is a wait whose failure (the producer's error, a timeout) nobody sees; a dropped set leaves readers waiting.
  ['ProxyFuture', new Set(['result', 'setResult', 'setError'])],
  // An unawaited send may not be stored or published yet, and its backpressure is ignored.
  ['StreamProducer', new Set(['send', 'flush', 'close'])],
]);

function isTracked(site: DeclarationSite): boolean {
  if (site.origin !== 'self') return false;
  return site.owner === undefined ? site.name === 'resolveAsync' : TRACKED_METHODS.get(site.owner)?.has(site.name) === true;
}

function memberName(callee: TSESTree.Expression): string | undefined {
  if (callee.type !== AST_NODE_TYPES.MemberExpression || callee.computed) return undefined;
  return callee.property.type === AST_NODE_TYPES.Identifier ? callee.property.name : undefined;
}

export default createRule({
  name: 'no-floating-resolve',
  meta: {
    type: 'problem',
    docs: {
      description: 'Require promises from `resolveAsync`, `store.put`/`proxy`/`evict`, `future.result`/`setResult` and stream `send` to be awaited or handled',
      recommended: 'recommended',
      requiresTypeChecking: true,
    },
    hasSuggestions: true,
    messages: {
      floating:
        'The promise from `{{callee}}` is neither awaited nor handled: a failure goes unnoticed, and code after it may run before the store has the object (or before it is gone). Await it, handle its rejection, or mark a deliberate fire-and-forget with `void`.',
      addAwait: 'Await the promise.',
      addVoid: 'Mark it as deliberately not awaited with `void`.',
    },
    schema: [],
  },
  defaultOptions: [],
  create(context) {
    const tools = typedRuleTools(context);

    /** The tracked call whose promise this expression drops, following `.then(onFulfilled)` and `.finally()` chains. */
    function droppedCall(expression: TSESTree.Expression): TSESTree.CallExpression | undefined {
      switch (expression.type) {
        case AST_NODE_TYPES.ChainExpression:
          return droppedCall(expression.expression);
        case AST_NODE_TYPES.LogicalExpression:
          return droppedCall(expression.right);
        case AST_NODE_TYPES.ConditionalExpression:
          return droppedCall(expression.consequent) ?? droppedCall(expression.alternate);
        case AST_NODE_TYPES.SequenceExpression: {
          const last = expression.expressions.at(-1);
          return last === undefined ? undefined : droppedCall(last);
        }
        case AST_NODE_TYPES.CallExpression:
          break;
        default:
          return undefined;
      }
      const callee = expression.callee;
      const method = memberName(callee);
      const handled = (method === 'then' && expression.arguments.length >= 2) || (method === 'catch' && expression.arguments.length >= 1);
      if (handled) return undefined;
      if ((method === 'then' || method === 'finally') && callee.type === AST_NODE_TYPES.MemberExpression) {
        const chained = droppedCall(callee.object);
        if (chained !== undefined) return chained;
      }
      const site = tools.siteOf(expression);
      return site !== undefined && isTracked(site) ? expression : undefined;
    }

    return {
      ExpressionStatement(node) {
        const call = droppedCall(node.expression);
        if (call === undefined) return;
        const source = context.sourceCode.getText(node.expression);
        // `await a ? b : c` would await only `a`.
        const text = SIMPLE_OPERAND.has(node.expression.type) ? source : `(${source})`;
        const suggest: TSESLint.SuggestionReportDescriptor<'addAwait' | 'addVoid'>[] = [
          { messageId: 'addVoid', fix: (fixer) => fixer.replaceText(node.expression, `void ${text}`) },
        ];
        if (isAsyncContext(node, context.sourceCode.ast.sourceType)) {
          suggest.unshift({ messageId: 'addAwait', fix: (fixer) => fixer.replaceText(node.expression, `await ${text}`) });
        }
        context.report({ node: call, messageId: 'floating', data: { callee: context.sourceCode.getText(call.callee) }, suggest });
      },
    };
  },
});
