import type { TypeOrValueSpecifier } from '@typescript-eslint/type-utils';
import { AST_NODE_TYPES, type TSESTree } from '@typescript-eslint/utils';
import { createRule } from '../utils/create-rule.js';
import { specifierOptionSchema } from '../utils/specifier-option.js';
import type { DeclarationSite } from '../utils/declaration-site.js';
import { helperMessages, helperSuggestions } from '../utils/helper-fix.js';
import { typedRuleTools, type CallNode } from '../utils/typed-rule.js';

type Options = [{ additionalFunctions?: TypeOrValueSpecifier[] }];

const BUILT_IN = new Set(['lib', '@types/node']);
const BUFFER_STATICS = new Set(['from', 'concat', 'byteLength', 'compare']);
const BINARY_VIEWS = new Set([
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float16Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
  'DataView',
]);
const FS_MODULES = new Set(['fs', 'fs/promises']);
const FS_WRITE = /^(write|append)/;

/**
 * Built-ins that read their arguments' internal slots (typed-array and buffer
 * storage, key objects) and so reject an ES Proxy or treat it as a slow array-like.
 */
function needsRealObject(site: DeclarationSite): boolean {
  if (!BUILT_IN.has(site.origin)) return false;
  const { owner = '', name } = site;
  if (owner === 'BufferConstructor') return BUFFER_STATICS.has(name);
  if (owner.endsWith('Constructor') && name === 'new') return BINARY_VIEWS.has(owner.slice(0, -'Constructor'.length));
  if (BINARY_VIEWS.has(owner)) return name === 'set';
  if (owner === 'Atomics' || site.namespace === 'WebAssembly') return true;
  if (site.module === 'crypto' || owner === 'Crypto' || owner === 'SubtleCrypto') return true;
  return site.module !== undefined && FS_MODULES.has(site.module) && FS_WRITE.test(name);
}

export default createRule<Options, 'nativeProxy' | 'nativeContainsProxy' | keyof typeof helperMessages>({
  name: 'no-proxy-to-native',
  meta: {
    type: 'problem',
    docs: {
      description: 'Disallow passing proxies to built-ins that need the real object (Buffer, typed arrays, crypto, fs writes, Atomics, WebAssembly)',
      recommended: 'recommended',
      requiresTypeChecking: true,
    },
    hasSuggestions: true,
    messages: {
      nativeProxy:
        '`{{callee}}` needs the real object, and a proxy is not one (it fails internal-slot checks or is read element by element through traps). Pass `extract(…)`.',
      nativeContainsProxy:
        '`{{callee}}` needs real objects, and this argument holds a proxy (it fails internal-slot checks or is read element by element through traps). Extract the proxies first.',
      ...helperMessages,
    },
    schema: specifierOptionSchema('additionalFunctions', 'Further functions whose arguments must be real objects, not proxies.'),
  },
  defaultOptions: [{ additionalFunctions: [] }],
  create(context, [{ additionalFunctions = [] }]) {
    const tools = typedRuleTools(context);

    function check(node: CallNode): void {
      // The call's target first: searching argument types for proxies is the expensive part.
      const site = tools.siteOf(node);
      if (!(site !== undefined && needsRealObject(site)) && !tools.calleeMatches(node, additionalFunctions)) return;
      const held = node.arguments.filter(
        (argument): argument is TSESTree.Expression => argument.type !== AST_NODE_TYPES.SpreadElement && tools.containsProxy(argument),
      );
      const callee = context.sourceCode.getText(node.callee);
      for (const argument of held) {
        const isProxy = tools.isProxy(argument);
        context.report({
          node: argument,
          messageId: isProxy ? 'nativeProxy' : 'nativeContainsProxy',
          data: { callee },
          suggest: isProxy ? helperSuggestions(tools, argument, ['extract']) : [],
        });
      }
    }

    return { CallExpression: check, NewExpression: check };
  },
});
