import type { TypeOrValueSpecifier } from '@typescript-eslint/type-utils';
import { AST_NODE_TYPES } from '@typescript-eslint/utils';
import type ts from 'typescript';
import { createRule } from '../utils/create-rule.js';
import { specifierOptionSchema } from '../utils/specifier-option.js';
import { declarationSite } from '../../src/analysis/declaration-site.js';
import { parameterAt, parameterNeeds, type RealObjectNeed } from '../utils/parameter-needs.js';
import { typedRuleTools, type CallNode } from '../utils/typed-rule.js';
import { typescript } from '../../src/analysis/typescript.js';

type Options = [{ allow?: TypeOrValueSpecifier[] }];

function displayName(parameter: ts.ParameterDeclaration): string {
  return typescript.isIdentifier(parameter.name) ? parameter.name.text : parameter.name.getText();
}

/** Code the user can annotate: not TypeScript's lib, not an installed library, not this package's proxy-aware API. */
function isUserCode(declaration: ts.Declaration, program: ts.Program): boolean {
  return declarationSite(declaration, program).origin === 'local';
}

/** Where a need arises, for messages: the line, and the file when it is another one. */
function place(node: ts.Node, from: string): string {
  const file = node.getSourceFile();
  const line = file.getLineAndCharacterOfPosition(node.getStart()).line + 1;
  return file.fileName === from ? `line ${line}` : `${file.fileName.replace(/^.*\//, '')}:${line}`;
}

/** "compares it by identity (line 4)", following the value through the helpers it is passed on to. */
function describe(need: RealObjectNeed, from: string): string {
  const at = place(need.node, from);
  if (need.inner !== undefined) return `passes it to \`${need.detail}\` (${at}), which ${describe(need.inner, from)}`;
  switch (need.kind) {
    case 'identity':
      return `compares it by identity (${at})`;
    case 'native':
      return `hands it to a built-in that needs a real \`${need.detail}\` (${at})`;
    case 'clone':
      return `structured-clones it with \`${need.detail}\` (${at})`;
    case 'json':
      return `JSON-encodes it (${at})`;
    case 'write':
      return `writes to it (${at}), which a shared borrow must not`;
    case 'stored':
      return `keeps it where this rule cannot follow it (${at})`;
    case 'unseen':
      return `has no body this rule can read (${at})`;
  }
}

export default createRule<Options, 'plainParameter'>({
  name: 'no-proxy-to-plain-param',
  meta: {
    type: 'suggestion',
    docs: {
      description: 'Disallow passing a proxy to a parameter typed `T` rather than `ProxyOr<T>` when the function needs the real object',
      recommended: 'strict',
      requiresTypeChecking: true,
    },
    messages: {
      plainParameter:
        'A proxy is passed to parameter `{{parameter}}` of `{{callee}}`, which is typed as the plain value and {{reason}}: pass `extract(…)`, or make the function proxy-safe and annotate it `ProxyOr<…>`.',
    },
    schema: specifierOptionSchema('allow', 'Functions known to handle proxies although their parameters are typed plainly.'),
  },
  defaultOptions: [{ allow: [] }],
  create(context, [{ allow = [] }]) {
    const tools = typedRuleTools(context);
    const needs = parameterNeeds(tools);
    const fileName = tools.services.esTreeNodeToTSNodeMap.get(context.sourceCode.ast).fileName;

    function check(node: CallNode): void {
      if (!tools.argumentsHoldProxy(node)) return;
      const declaration = tools.services.getResolvedSignature(node)?.getDeclaration();
      if (declaration === undefined || !isUserCode(declaration, tools.services.program)) return;
      let allowed: boolean | undefined;
      for (const [index, argument] of node.arguments.entries()) {
        if (argument.type === AST_NODE_TYPES.SpreadElement) continue;
        const parameter = parameterAt(declaration, index);
        if (parameter === undefined || tools.proxies.acceptsProxy(parameter) || !tools.isProxy(argument)) continue;
        // Writing through a proxy reaches its target; only a shared borrow forbids it.
        const sharedBorrow = tools.ownershipOf(argument) === 'ref';
        const need = needs.needsOf(parameter).find((found) => found.kind !== 'write' || sharedBorrow);
        if (need === undefined) continue;
        allowed ??= tools.calleeMatches(node, allow);
        if (allowed) return;
        context.report({
          node: argument,
          messageId: 'plainParameter',
          data: { parameter: displayName(parameter), callee: context.sourceCode.getText(node.callee), reason: describe(need, fileName) },
        });
      }
    }

    return { CallExpression: check, NewExpression: check };
  },
});
