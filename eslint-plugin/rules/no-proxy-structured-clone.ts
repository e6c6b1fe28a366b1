import type { TypeOrValueSpecifier } from '@typescript-eslint/type-utils';
import { AST_NODE_TYPES } from '@typescript-eslint/utils';
import { createRule } from '../utils/create-rule.js';
import { specifierOptionSchema } from '../utils/specifier-option.js';
import { clonedArgument } from '../../src/analysis/clone-sites.js';
import { helperMessages, helperSuggestions, type PackageHelper } from '../utils/helper-fix.js';
import { typedRuleTools } from '../utils/typed-rule.js';

type Options = [{ additionalFunctions?: TypeOrValueSpecifier[] }];

export default createRule<Options, 'cloneProxy' | 'cloneContainsProxy' | keyof typeof helperMessages>({
  name: 'no-proxy-structured-clone',
  meta: {
    type: 'problem',
    docs: {
      description: 'Disallow passing proxies to structured clone (structuredClone, postMessage, v8.serialize, worker pools)',
      recommended: 'recommended',
      requiresTypeChecking: true,
    },
    hasSuggestions: true,
    messages: {
      cloneProxy:
        '`{{callee}}` structured-clones its argument and a proxy cannot be cloned (DataCloneError at run time). Send `encodeProxies(…)` and decode on the other side, or send the extracted value.',
      cloneContainsProxy:
        '`{{callee}}` structured-clones its argument, which holds a proxy: cloning throws DataCloneError at run time. Send `encodeProxies(…)` and decode on the other side.',
      ...helperMessages,
    },
    schema: specifierOptionSchema('additionalFunctions', 'Further functions that structured-clone their first argument (a worker pool of your own, say).'),
  },
  defaultOptions: [{ additionalFunctions: [] }],
  create(context, [{ additionalFunctions = [] }]) {
    const tools = typedRuleTools(context);
    return {
      CallExpression(node) {
        if (!tools.argumentsHoldProxy(node)) return;
        const site = tools.siteOf(node);
        const index = (site && clonedArgument(site)) ?? (tools.calleeMatches(node, additionalFunctions) ? 0 : undefined);
        const argument = index === undefined ? undefined : node.arguments[index];
        if (argument === undefined || argument.type === AST_NODE_TYPES.SpreadElement || !tools.containsProxy(argument)) return;
        const isProxy = tools.isProxy(argument);
        const helpers: PackageHelper[] = isProxy ? ['encodeProxies', 'extract'] : ['encodeProxies'];
        context.report({
          node: argument,
          messageId: isProxy ? 'cloneProxy' : 'cloneContainsProxy',
          data: { callee: context.sourceCode.getText(node.callee) },
          suggest: helperSuggestions(tools, argument, helpers),
        });
      },
    };
  },
});
