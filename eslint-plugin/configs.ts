import type { RuleName } from './index.js';
import type { RuleConfigName } from './utils/create-rule.js';

/** The prefix users write before rule names (`ts-proxystore/no-proxy-identity`). */
const PLUGIN_NAMESPACE = 'ts-proxystore';

/** Rules that catch run-time failures or wrong results. */
const RECOMMENDED: readonly RuleName[] = [
  'no-floating-resolve',
  'no-json-stringify-proxy',
  'no-mutate-ref-proxy',
  'no-proxy-identity',
  'no-proxy-structured-clone',
  'no-proxy-to-native',
  'no-use-after-move',
];

/**
 * Adds rules about typing discipline, performance and resource discipline, which
 * ask more of the code base: a missed disposal leaks (with a run-time warning)
 * rather than fails, and handing owners on in ways the rule cannot follow is legitimate.
 */
const STRICT: readonly RuleName[] = [...RECOMMENDED, 'no-proxy-to-plain-param', 'prefer-extract-in-loop', 'require-owned-dispose'];

/** Just what configs show of the plugin: naming the full plugin type here would make the types recursive. */
export type PluginIdentity = { meta: { name: string; version: string } };

/**
 * Plain object types rather than typescript-eslint's `FlatConfig.Config`, so that
 * ESLint's own config types (`defineConfig`, `Linter.Config`) accept them as well.
 */
type PluginConfig = { name: string; plugins: Record<string, PluginIdentity>; rules: Record<string, 'error'> };
export type PluginConfigs = Record<RuleConfigName, PluginConfig>;

function flatConfig(name: RuleConfigName, rules: readonly RuleName[], plugin: PluginIdentity): PluginConfig {
  return {
    name: `${PLUGIN_NAMESPACE}/${name}`,
    plugins: { [PLUGIN_NAMESPACE]: plugin },
    rules: Object.fromEntries(rules.map((rule) => [`${PLUGIN_NAMESPACE}/${rule}`, 'error' as const])),
  };
}

export function createConfigs(plugin: PluginIdentity): PluginConfigs {
  return { recommended: flatConfig('recommended', RECOMMENDED, plugin), strict: flatConfig('strict', STRICT, plugin) };
}
