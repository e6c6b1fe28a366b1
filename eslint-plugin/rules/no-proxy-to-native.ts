import type { TypeOrValueSpecifier } from '@typescript-eslint/type-utils';
import { AST_NODE_TYPES } from '@typescript-eslint/utils';
import type { NativeNeed } from '../../src/analysis/native-types.js';
import { createRule } from '../utils/create-rule.js';
import { specifierOptionSchema } from '../utils/specifier-option.js';
import { helperMessages, helperSuggestions } from '../utils/helper-fix.js';
import { typedRuleTools, type CallNode } from '../utils/typed-rule.js';

type Options = [{ additionalFunctions?: TypeOrValueSpecifier[] }];

/** Why the built-in needs the real object, for messages: the slot-checked type its parameter takes, or the built-in itself. */
function reason(need: NativeNeed | undefined): string {
  if (need === undefined) return 'listed in `additionalFunctions`';
  const declared = need.declared?.replace(/\s*\|\s*(null|undefined)\b/g, '');
  if (declared === undefined || /^(any|unknown)$/.test(declared)) return `\`${need.name}\` reads internal slots`;
  // A named alias (`BodyInit`, `BufferSource`) says more than the member found in it; a long union says less.
  return /^[\w$.]+$/.test(declared) && declared !== need.name
    ? `its \`${declared}\` parameter includes \`${need.name}\``
    : `its parameter takes \`${need.name}\``;
}

export default createRule<Options, 'nativeProxy' | 'nativeContainsProxy' | keyof typeof helperMessages>({
  name: 'no-proxy-to-native',
  meta: {
    type: 'problem',
    docs: {
      description:
        'Disallow passing proxies where a built-in needs the real object (parameters typed `BufferSource`, `ArrayBufferView`, typed arrays, `Blob`, `BodyInit`, `Buffer`, …)',
      recommended: 'recommended',
      requiresTypeChecking: true,
    },
    hasSuggestions: true,
    messages: {
      nativeProxy:
        '`{{callee}}` needs the real object here ({{why}}), and a proxy is not one: built-ins check internal slots, so it throws, returns a wrong answer (`ArrayBuffer.isView` is false) or stringifies the proxy. Pass `extract(…)`.',
      nativeContainsProxy:
        '`{{callee}}` needs real objects in this argument ({{why}}), and it holds a proxy: built-ins check internal slots, so it throws, returns a wrong answer or stringifies the proxy. Extract the proxies first.',
      ...helperMessages,
    },
    schema: specifierOptionSchema('additionalFunctions', 'Further functions whose arguments must be real objects, not proxies.'),
  },
  defaultOptions: [{ additionalFunctions: [] }],
  create(context, [{ additionalFunctions = [] }]) {
    const tools = typedRuleTools(context);

    function check(node: CallNode): void {
      if (!tools.argumentsHoldProxy(node)) return;
      let listed: boolean | undefined;
      const callee = context.sourceCode.getText(node.callee);
      for (const [index, argument] of node.arguments.entries()) {
        if (argument.type === AST_NODE_TYPES.SpreadElement) continue;
        const declared = tools.nativeNeedOf(node, index);
        listed ??= declared === undefined && tools.calleeMatches(node, additionalFunctions);
        if ((declared === undefined && !listed) || !tools.containsProxy(argument)) continue;
        // Only union members the argument can land in count: a proxy of a record passed to `URLSearchParams | Record<…>` is fine.
        const need = declared === undefined ? undefined : tools.nativeNeedOf(node, index, argument);
        if (declared !== undefined && need === undefined) continue;
        const isProxy = tools.isProxy(argument) && need?.inElements !== true;
        context.report({
          node: argument,
          messageId: isProxy ? 'nativeProxy' : 'nativeContainsProxy',
          data: { callee, why: reason(need) },
          suggest: isProxy ? helperSuggestions(tools, argument, ['extract']) : [],
        });
      }
    }

    return { CallExpression: check, NewExpression: check };
  },
});
