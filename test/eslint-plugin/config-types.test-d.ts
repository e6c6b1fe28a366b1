import type { ESLint, Linter } from 'eslint';
import type tseslint from 'typescript-eslint';
import { describe, expectTypeOf, it } from 'vitest';
import plugin from '../../eslint-plugin/index.js';

// Users put the plugin and its configs into ESLint's own config types and into typescript-eslint's.
describe('plugin types', () => {
  it('fit ESLint config types', () => {
    expectTypeOf(plugin).toExtend<ESLint.Plugin>();
    expectTypeOf(plugin.configs.recommended).toExtend<Linter.Config>();
    expectTypeOf(plugin.configs.strict).toExtend<Linter.Config>();
  });

  it('fit typescript-eslint config types', () => {
    expectTypeOf(plugin.configs.strict).toExtend<tseslint.FlatConfig.Config>();
    expectTypeOf(plugin).toExtend<tseslint.FlatConfig.Plugin>();
  });
});
