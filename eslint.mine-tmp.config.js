// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
// The project lints itself with its own plugin, as built by `npm run build` (npm test builds first).
import proxystore from './.tmp/mine/build/eslint-plugin/index.js';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '**/fixtures/**', 'coverage/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  proxystore.configs.strict,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', '*.mjs'] }, tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    // Tests exercise on purpose what these rules forbid (JSON and structured clone of proxies, use after a
    // move, writes through a shared borrow) to check the run-time errors and the compiler's answers.
    files: ['test/**/*.ts'],
    rules: {
      'ts-proxystore/no-json-stringify-proxy': 'off',
      'ts-proxystore/no-proxy-structured-clone': 'off',
      'ts-proxystore/no-use-after-move': 'off',
      'ts-proxystore/no-mutate-ref-proxy': 'off',
      'ts-proxystore/require-owned-dispose': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    rules: { ...tseslint.configs.disableTypeChecked.rules, ...Object.fromEntries(Object.keys(proxystore.configs.recommended.rules ?? {}).map((rule) => [rule, 'off'])) },
  },
);
