// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
// The project lints itself with its own plugin, as built by `npm run build` (npm test builds first).
import proxystore from './dist/eslint-plugin/index.js';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '**/fixtures/**', 'coverage/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  proxystore.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', '*.mjs'] }, tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    // These tests check exactly what the two rules warn about: how a proxy behaves under JSON and structured clone.
    files: ['test/**/*.ts'],
    rules: { 'ts-proxystore/no-json-stringify-proxy': 'off', 'ts-proxystore/no-proxy-structured-clone': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    rules: { ...tseslint.configs.disableTypeChecked.rules, ...Object.fromEntries(Object.keys(proxystore.configs.recommended.rules ?? {}).map((rule) => [rule, 'off'])) },
  },
);
