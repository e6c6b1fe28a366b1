/// <reference types="node" preserve="true" />
/**
 * `ts-proxystore/eslint-plugin`: typed lint rules for code that uses proxies.
 *
 *   import proxystore from 'ts-proxystore/eslint-plugin';
 *   export default [...tseslint.configs.recommendedTypeChecked, proxystore.configs.recommended];
 */
export type { ProxyStoreRuleDocs } from './utils/create-rule.js';
import { createConfigs, type PluginConfigs } from './configs.js';
import noFloatingResolve from './rules/no-floating-resolve.js';
import noJsonStringifyProxy from './rules/no-json-stringify-proxy.js';
import noMutateRefProxy from './rules/no-mutate-ref-proxy.js';
import noProxyIdentity from './rules/no-proxy-identity.js';
import noProxyStructuredClone from './rules/no-proxy-structured-clone.js';
import noProxyToNative from './rules/no-proxy-to-native.js';
import noProxyToPlainParam from './rules/no-proxy-to-plain-param.js';
import noUseAfterMove from './rules/no-use-after-move.js';
import preferExtractInLoop from './rules/prefer-extract-in-loop.js';
import requireOwnedDispose from './rules/require-owned-dispose.js';
import { packageInfo, PACKAGE_NAME } from '../src/analysis/package-files.js';

export const rules = {
  'no-floating-resolve': noFloatingResolve,
  'no-json-stringify-proxy': noJsonStringifyProxy,
  'no-mutate-ref-proxy': noMutateRefProxy,
  'no-proxy-identity': noProxyIdentity,
  'no-proxy-structured-clone': noProxyStructuredClone,
  'no-proxy-to-native': noProxyToNative,
  'no-proxy-to-plain-param': noProxyToPlainParam,
  'no-use-after-move': noUseAfterMove,
  'prefer-extract-in-loop': preferExtractInLoop,
  'require-owned-dispose': requireOwnedDispose,
};

export type RuleName = keyof typeof rules;

/**
 * The plugin's public type leaves `rules` out, as typescript-eslint's own plugin
 * type does: ESLint's `Plugin` type rejects typescript-eslint's typed rule
 * modules, and a config must accept this object. The named `rules` export keeps
 * the full types.
 */
export interface ProxyStorePlugin {
  meta: { name: string; version: string };
  configs: PluginConfigs;
}

const base = {
  meta: { name: `${PACKAGE_NAME}/eslint-plugin`, version: packageInfo().version },
  rules,
};

// The configs refer to the plugin object itself, so they are attached after it exists.
const plugin: ProxyStorePlugin = Object.assign(base, { configs: createConfigs(base) });

export const configs = plugin.configs;
export default plugin;
