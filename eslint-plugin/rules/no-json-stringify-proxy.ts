import { AST_NODE_TYPES } from '@typescript-eslint/utils';
import { createRule } from '../utils/create-rule.js';
import { helperMessages, helperSuggestions, type PackageHelper } from '../utils/helper-fix.js';
import { typedRuleTools } from '../utils/typed-rule.js';

export default createRule({
  name: 'no-json-stringify-proxy',
  meta: {
    type: 'problem',
    docs: {
      description: 'Disallow `JSON.stringify` of a proxy, which writes its reference rather than its value',
      recommended: 'recommended',
      requiresTypeChecking: true,
    },
    hasSuggestions: true,
    messages: {
      stringifyProxy:
        '`JSON.stringify` of a proxy writes its reference (store and key), not its value. Stringify `extract(…)` for the value, or `encodeProxies(…)` to show the reference is meant.',
      stringifyContainsProxy:
        'This value holds a proxy, and `JSON.stringify` writes a proxy as its reference (store and key), not its value. Extract the proxies for the values, or stringify `encodeProxies(…)` to show the references are meant.',
      ...helperMessages,
    },
    schema: [],
  },
  defaultOptions: [],
  create(context) {
    const tools = typedRuleTools(context);
    return {
      CallExpression(node) {
        if (!tools.argumentsHoldProxy(node)) return;
        const site = tools.siteOf(node);
        if (site?.origin !== 'lib' || site.owner !== 'JSON' || site.name !== 'stringify') return;
        const value = node.arguments[0];
        if (value === undefined || value.type === AST_NODE_TYPES.SpreadElement || !tools.containsProxy(value)) return;
        const isProxy = tools.isProxy(value);
        const helpers: PackageHelper[] = isProxy ? ['extract', 'encodeProxies'] : ['encodeProxies'];
        context.report({
          node: value,
          messageId: isProxy ? 'stringifyProxy' : 'stringifyContainsProxy',
          suggest: helperSuggestions(tools, value, helpers),
        });
      },
    };
  },
});
