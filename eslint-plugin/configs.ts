import type { TSESLint } from '@typescript-eslint/utils';
import type { RuleName } from './index.js';

/** The prefix users write before rule names (`ts-proxystore/no-proxy-identity`). */
export const PLUGIN_NAMESPACE = 'ts-proxystore';

/** Rules that catch run-time failures or wrong results. */
const RECOMMENDED: readonly RuleName[] = [
  'no-floating-resolve',
  'no-json-stringify-proxy',
  'no-proxy-identity',
  'no-proxy-structured-clone',
  'no-proxy-to-native',
];

/** Adds rules about typing discipline and performance, which ask more of the code base. */
const STRICT: readonly RuleName[] = [...RECOMMENDED, 'no-proxy-to-plain-param', 'prefer-extract-in-loop'];

export interface PluginConfigs {
  recommended: TSESLint.FlatConfig.Config;
  strict: TSESLint.FlatConfig.Config;
}

function flatConfig(name: keyof PluginConfigs, rules: readonly RuleName[], plugin: TSESLint.FlatConfig.Plugin): TSESLint.FlatConfig.Config {
  return {
    name: `${PLUGIN_NAMESPACE}/${name}`,
    plugins: { [PLUGIN_NAMESPACE]: plugin },
    rules: Object.fromEntries(rules.map((rule) => [`${PLUGIN_NAMESPACE}/${rule}`, 'error'])),
  };
}

export function createConfigs(plugin: TSESLint.FlatConfig.Plugin): PluginConfigs {
  return { recommended: flatConfig('recommended', RECOMMENDED, plugin), strict: flatConfig('strict', STRICT, plugin) };
}
