import type { TypeOrValueSpecifier } from '@typescript-eslint/type-utils';
import { AST_NODE_TYPES } from '@typescript-eslint/utils';
import type ts from 'typescript';
import { createRule } from '../utils/create-rule.js';
import { specifierOptionSchema } from '../utils/specifier-option.js';
import { declarationSite } from '../utils/declaration-site.js';
import { typedRuleTools, type CallNode } from '../utils/typed-rule.js';
import { typescript } from '../utils/typescript.js';

type Options = [{ allow?: TypeOrValueSpecifier[] }];

/** The parameter an argument lands in, following a rest parameter. */
function parameterAt(signature: ts.Signature, index: number): ts.ParameterDeclaration | undefined {
  const parameters = signature.getParameters();
  const last = parameters[parameters.length - 1]?.valueDeclaration;
  const declaration = parameters[index]?.valueDeclaration;
  if (declaration !== undefined) return typescript.isParameter(declaration) ? declaration : undefined;
  return last !== undefined && typescript.isParameter(last) && last.dotDotDotToken !== undefined ? last : undefined;
}

function displayName(parameter: ts.ParameterDeclaration): string {
  return typescript.isIdentifier(parameter.name) ? parameter.name.text : parameter.name.getText();
}

/** Code the user can annotate: not TypeScript's lib, not an installed library, not this package's proxy-aware API. */
function isUserCode(declaration: ts.Declaration, program: ts.Program): boolean {
  return declarationSite(declaration, program).origin === 'local';
}

export default createRule<Options, 'plainParameter'>({
  name: 'no-proxy-to-plain-param',
  meta: {
    type: 'suggestion',
    docs: {
      description: 'Disallow passing a proxy to a parameter typed `T` rather than `ProxyOr<T>`',
      recommended: 'strict',
      requiresTypeChecking: true,
    },
    messages: {
      plainParameter:
        'A proxy is passed to parameter `{{parameter}}` of `{{callee}}`, which is typed as the plain value: annotate it `ProxyOr<…>` if proxies are welcome, or pass `extract(…)`.',
    },
    schema: specifierOptionSchema('allow', 'Functions known to handle proxies although their parameters are typed plainly.'),
  },
  defaultOptions: [{ allow: [] }],
  create(context, [{ allow = [] }]) {
    const tools = typedRuleTools(context);

    function check(node: CallNode): void {
      // The call's target first (the checker has resolved it for other rules already): most calls
      // go to lib or library functions, and asking each argument's type for proxies costs more.
      const signature = tools.services.getResolvedSignature(node);
      if (signature?.declaration === undefined || !isUserCode(signature.declaration, tools.services.program)) return;
      let allowed: boolean | undefined;
      for (const [index, argument] of node.arguments.entries()) {
        if (argument.type === AST_NODE_TYPES.SpreadElement) continue;
        const parameter = parameterAt(signature, index);
        if (parameter === undefined || tools.proxies.acceptsProxy(parameter) || !tools.isProxy(argument)) continue;
        allowed ??= tools.calleeMatches(node, allow);
        if (allowed) return;
        context.report({
          node: argument,
          messageId: 'plainParameter',
          data: { parameter: displayName(parameter), callee: context.sourceCode.getText(node.callee) },
        });
      }
    }

    return { CallExpression: check, NewExpression: check };
  },
});
