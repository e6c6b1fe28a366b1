import { AST_NODE_TYPES, type TSESTree } from '@typescript-eslint/utils';
import type ts from 'typescript';
import { createRule } from '../utils/create-rule.js';
import { primitiveFlags } from '../../src/analysis/proxy-types.js';
import { isKeyedCollectionKey, isObjectIs } from '../../src/analysis/identity-sites.js';
import { typedRuleTools } from '../utils/typed-rule.js';
import { typescript } from '../../src/analysis/typescript.js';

const EQUALITY = new Set(['===', '!==', '==', '!=']);

const PRIMITIVE = primitiveFlags(typescript);

/** Values that can never be the same object as a proxy: comparing with them is not an identity check. */
function isPrimitiveOnly(type: ts.Type): boolean {
  if (type.isUnion()) return type.types.every(isPrimitiveOnly);
  return (type.flags & PRIMITIVE) !== 0;
}

export default createRule({
  name: 'no-proxy-identity',
  meta: {
    type: 'problem',
    docs: {
      description: 'Disallow comparing proxies by identity or using them as Map/Set keys',
      recommended: 'recommended',
      requiresTypeChecking: true,
    },
    messages: {
      comparison:
        '`{{operator}}` compares the proxy object, not its target: a `Proxy<T>` is never identical to the value it stands for, nor to another proxy of the same key. Compare `getKey(…)` or extracted values.',
      objectIs:
        '`Object.is` compares the proxy object, not its target: a `Proxy<T>` is never identical to the value it stands for. Compare `getKey(…)` or extracted values.',
      collectionKey:
        'A proxy as a `{{collection}}` key is found by the proxy object, not by its target or another proxy of the same key. Key by `getKey(…)` or by the extracted value.',
    },
    schema: [],
  },
  defaultOptions: [],
  create(context) {
    const tools = typedRuleTools(context);

    /** Either side a proxy and neither side a primitive: an identity check involving a proxy. */
    function comparesProxy(a: TSESTree.Node, b: TSESTree.Node): boolean {
      // Primitive sides first: most comparisons are with literals and lengths, and their types are cheap.
      const left = tools.services.getTypeAtLocation(a);
      if (isPrimitiveOnly(left)) return false;
      const right = tools.services.getTypeAtLocation(b);
      if (isPrimitiveOnly(right)) return false;
      return tools.proxies.isProxy(left) || tools.proxies.isProxy(right);
    }

    return {
      BinaryExpression(node) {
        if (!EQUALITY.has(node.operator) || node.left.type === AST_NODE_TYPES.PrivateIdentifier) return;
        if (comparesProxy(node.left, node.right)) {
          context.report({ node, messageId: 'comparison', data: { operator: node.operator } });
        }
      },
      CallExpression(node) {
        const [first, second] = node.arguments;
        if (first === undefined || first.type === AST_NODE_TYPES.SpreadElement || !tools.argumentsHoldProxy(node)) return;
        const site = tools.siteOf(node);
        if (site === undefined) return;
        if (isObjectIs(site)) {
          if (second !== undefined && second.type !== AST_NODE_TYPES.SpreadElement && comparesProxy(first, second)) {
            context.report({ node, messageId: 'objectIs' });
          }
        } else if (isKeyedCollectionKey(site) && tools.isProxy(first)) {
          context.report({ node: first, messageId: 'collectionKey', data: { collection: site.owner } });
        }
      },
    };
  },
});
