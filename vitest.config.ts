import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Until the package exports its connector conformance suite (issue 16), the name points at the suite in test/ (as in tsconfig.json).
  resolve: { alias: { 'ts-proxystore/testing': new URL('./test/connectors/conformance.ts', import.meta.url).pathname } },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json', checker: 'node_modules/typescript/bin/tsc' },
  },
});
