import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  // The example connector's test imports the suite by the package's name, as a connector author does; here that
  // name means the sources, like the 'ts-proxystore' its connector imports (mocked to src/ in that test), so both share one kind registry.
  resolve: { alias: { 'ts-proxystore/testing': new URL('./runtime/testing/index.ts', import.meta.url).pathname } },
  test: {
    include: ['test/**/*.test.ts'],
    // Fixture projects carry their own tests (run by node --test inside them), not ours.
    exclude: [...configDefaults.exclude, 'test/**/fixtures/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Worker threads started from the sources (the sync bridge's) run the build's JavaScript: see test/helpers/compiled-modules.mjs.
    execArgv: ['--import', new URL('./test/helpers/register-compiled-modules.mjs', import.meta.url).pathname],
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json', checker: 'node_modules/typescript/bin/tsc' },
  },
});
