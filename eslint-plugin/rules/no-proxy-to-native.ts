import type { TypeOrValueSpecifier } from '@typescript-eslint/type-utils';
import { AST_NODE_TYPES, ASTUtils, type TSESTree } from '@typescript-eslint/utils';
import { LIST_ADDING_METHODS, type NativeNeed } from '../../src/analysis/native-types.js';
import { nativeUses } from '../../src/analysis/native-uses.js';
import { typescript } from '../../src/analysis/typescript.js';
import { createRule } from '../utils/create-rule.js';
import { specifierOptionSchema } from '../utils/specifier-option.js';
import { helperMessages, helperSuggestions } from '../utils/helper-fix.js';
import { typedRuleTools, type CallNode } from '../utils/typed-rule.js';

type Options = [{ additionalFunctions?: TypeOrValueSpecifier[] }];

/** Why the built-in needs the real object, for messages: the slot-checked type its parameter takes, or the built-in itself. */
function reason(need: NativeNeed | undefined): string {
  if (need === undefined) return 'listed in `additionalFunctions`';
  const declared = need.declared?.replace(/\s*\|\s*(null|undefined)\b/g, '');
  if (declared === undefined || need.byName === true) return `\`${need.name}\` reads internal slots`;
  // A named alias (`BodyInit`, `BufferSource`) says more than the member found in it; a long union says less.
  return /^[\w$.]+$/.test(declared) && declared !== need.name
    ? `its \`${declared}\` parameter includes \`${need.name}\``
    : `its parameter takes \`${need.name}\``;
}

/**
 * What a local list built before the call was given, by the code that put it
 * there: the elements of its initializer (`const parts = [p]`) and the
 * arguments of its `push`/`unshift` calls. A list's declared type
 * (`BlobPart[]`) says nothing of what went in.
 */
function putInList(list: TSESTree.Identifier, scope: Parameters<typeof ASTUtils.findVariable>[0]): TSESTree.Expression[] {
  const variable = ASTUtils.findVariable(scope, list);
  if (variable === null) return [];
  const put: TSESTree.Expression[] = [];
  for (const def of variable.defs) {
    const init = def.node.type === AST_NODE_TYPES.VariableDeclarator ? def.node.init : null;
    if (init?.type === AST_NODE_TYPES.ArrayExpression) for (const element of init.elements) if (element !== null && element.type !== AST_NODE_TYPES.SpreadElement) put.push(element);
  }
  for (const { identifier } of variable.references) {
    const member = identifier.parent;
    const call = member?.parent;
    if (
      member?.type === AST_NODE_TYPES.MemberExpression &&
      member.object === identifier &&
      member.property.type === AST_NODE_TYPES.Identifier &&
      LIST_ADDING_METHODS.has(member.property.name) &&
      call?.type === AST_NODE_TYPES.CallExpression &&
      call.callee === member
    ) {
      for (const argument of call.arguments) if (argument.type !== AST_NODE_TYPES.SpreadElement) put.push(argument);
    }
  }
  return put;
}

export default createRule<Options, 'nativeProxy' | 'nativeContainsProxy' | 'nativeListGetsProxy' | 'nativeThroughFunction' | keyof typeof helperMessages>({
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
      nativeListGetsProxy:
        'This puts a proxy in `{{list}}`, which is passed to `{{callee}}` ({{why}}): built-ins check internal slots, so it throws, returns a wrong answer or stringifies the proxy. Put `extract(…)` in the list.',
      nativeThroughFunction:
        '`{{callee}}` hands its parameter `{{parameter}}` to `{{builtIn}}`, which needs the real object ({{why}}), and this passes it a proxy: built-ins check internal slots, so it throws, returns a wrong answer or stringifies the proxy. Pass `extract(…)`.',
      ...helperMessages,
    },
    schema: specifierOptionSchema('additionalFunctions', 'Further functions whose arguments must be real objects, not proxies.'),
  },
  defaultOptions: [{ additionalFunctions: [] }],
  create(context, [{ additionalFunctions = [] }]) {
    const tools = typedRuleTools(context);
    /** What the program's own functions do with their parameters (the transformer's TS98004 analysis), asked only for a proxy handed to one. */
    const uses = nativeUses(typescript, tools.services.program, tools.proxies);

    function check(node: CallNode): void {
      if (!tools.argumentsHoldProxy(node)) {
        node.arguments.forEach((argument, index) => checkListBuiltFirst(node, index, argument));
        return;
      }
      let listed: boolean | undefined;
      const callee = context.sourceCode.getText(node.callee);
      for (const [index, argument] of node.arguments.entries()) {
        if (argument.type === AST_NODE_TYPES.SpreadElement) continue;
        const declared = tools.nativeNeedOf(node, index);
        listed ??= declared === undefined && tools.calleeMatches(node, additionalFunctions);
        if (!tools.containsProxy(argument)) {
          checkListBuiltFirst(node, index, argument);
          continue;
        }
        if (declared === undefined && !listed) {
          checkThroughFunction(node, index, argument, callee);
          continue;
        }
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

    /** `sizeOf(p)` where `sizeOf(bytes: Uint8Array)` hands `bytes` on to `new Blob([bytes])`: its plain parameter type hides what it does with it. */
    function checkThroughFunction(node: CallNode, index: number, argument: TSESTree.Expression, callee: string): void {
      if (!tools.isProxy(argument)) return;
      const use = uses.ofArgument(tools.services.esTreeNodeToTSNodeMap.get(node), index);
      if (use === undefined) return;
      context.report({
        node: argument,
        messageId: 'nativeThroughFunction',
        data: { callee, ...use.via, why: reason(use.need) },
        suggest: helperSuggestions(tools, argument, ['extract']),
      });
    }

    /** `const parts: BlobPart[] = []; parts.push(p); new Blob(parts)`: the list's type hides the proxy, what was put in it does not. */
    function checkListBuiltFirst(node: CallNode, index: number, list: TSESTree.CallExpressionArgument): void {
      if (list.type !== AST_NODE_TYPES.Identifier) return;
      const proxies = putInList(list, context.sourceCode.getScope(list)).filter((put) => tools.containsProxy(put));
      // Where the call goes is asked only for a list that got a proxy.
      const need = proxies.length === 0 ? undefined : tools.nativeNeedOf(node, index);
      if (need?.inElements !== true) return;
      const callee = context.sourceCode.getText(node.callee);
      for (const put of proxies) {
        context.report({ node: put, messageId: 'nativeListGetsProxy', data: { list: list.name, callee, why: reason(need) }, suggest: helperSuggestions(tools, put, ['extract']) });
      }
    }

    return { CallExpression: check, NewExpression: check };
  },
});
