// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX, createNodeResolver } from 'eslint-plugin-import-x';
// The project lints itself with its own plugin, as built by `npm run build` (npm test builds first).
import proxystore from './dist/eslint-plugin/index.js';

/**
 * The runtime's layers, lowest first (runtime/errors.ts sits below them all):
 * a file may import its own layer and the ones before it, never one after.
 * Type-only imports may look up (a layer may name a type it is handed).
 */
const RUNTIME_LAYERS = ['support', 'proxy', 'serialize', 'connectors', 'store', 'executors', 'stream', 'observe', 'testing'];

/** A relative specifier into one of `folders`, from any depth below runtime/. */
const into = (folders) => `^(\\.\\./)+(${folders.join('|')})/`;

/** One config per group of files: ESLint keeps only the last setting of a rule for a file, so a group's patterns go together. */
const restrict = (files, ...patterns) => ({
  files,
  rules: {
    '@typescript-eslint/no-restricted-imports': ['error', { patterns: patterns.map(([regex, message, allowTypeImports = true]) => ({ regex, allowTypeImports, message })) }],
  },
});

const NO_TOOLS = ['(^|/)(transformer|eslint-plugin|cli|bench|test)/', 'the runtime does not import the compile-time tools, bench or tests'];

const uphillOf = (layer) => {
  const above = RUNTIME_LAYERS.slice(RUNTIME_LAYERS.indexOf(layer) + 1);
  return above.length === 0 ? [] : [[into(above), `runtime/${layer} is below ${above.join(', ')}: imports run downhill only (see README, Layout)`]];
};

/** What the store class is built on: they know a store only as a `StoreHandle` (store/handle.ts), not even by type. */
const BELOW_STORE_CLASS = ['ownership', 'lifetimes', 'factory', 'registry', 'references', 'future', 'future-wait', 'signing', 'metrics', 'cache-budget', 'size', 'handle'];

const layering = [
  ...RUNTIME_LAYERS.map((layer) => restrict([`runtime/${layer}/**/*.ts`], NO_TOOLS, ...uphillOf(layer))),
  restrict(
    BELOW_STORE_CLASS.map((file) => `runtime/store/${file}.ts`),
    NO_TOOLS,
    ...uphillOf('store'),
    ['^\\./store\\.js$', 'the modules beneath the Store class depend on StoreHandle (./handle.js), not on the class', false],
  ),
  restrict(['runtime/*.ts'], NO_TOOLS, ['^\\./', 'runtime/errors.ts is the lowest layer: it imports nothing of the runtime']),
  // The compile-time tools share src/analysis; neither imports the other, and src/analysis imports neither.
  restrict(['transformer/**/*.ts', 'cli/**/*.ts'], ['(^|/)eslint-plugin/', 'the transformer and the CLI do not import the lint plugin: shared analysis lives in src/analysis']),
  restrict(['eslint-plugin/**/*.ts'], ['(^|/)(transformer|cli)/', 'the lint plugin does not import the transformer or the CLI']),
  restrict(
    ['src/analysis/**/*.ts'],
    ['(^|/)(transformer|cli|eslint-plugin)/|(^|/)runtime/(?!errors\\.js$)', 'src/analysis knows types, not ESLint, the tools or the runtime (only its errors)'],
  ),
];

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
    // No value import cycles anywhere in what ships (type-only imports are no cycle: they vanish at run time).
    files: ['src/**/*.ts', 'runtime/**/*.ts', 'transformer/**/*.ts', 'eslint-plugin/**/*.ts', 'cli/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createNodeResolver({ extensionAlias: { '.js': ['.ts', '.js'] } })],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  ...layering,
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
