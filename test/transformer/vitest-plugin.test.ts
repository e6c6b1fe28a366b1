/**
 * The transform under vitest, as documented: the project's vitest.config.ts
 * adds the unplugin's Vite plugin, and a test of the project sees its large
 * argument arrive as a proxy. Without the plugin the same test fails, so the
 * transform is what makes the difference.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { copyFixture, removeCopies, run } from './helpers/compilers.js';
import { REPO, stagePackage } from './helpers/stage.js';

const TIMEOUT_MS = 300_000;
const VITEST = path.join(REPO, 'node_modules/vitest/vitest.mjs');

afterAll(removeCopies);

describe('vitest with proxystore.vite()', () => {
  it(
    'runs the project’s tests on the transformed code',
    async () => {
      const project = copyFixture(await stagePackage(), 'vitest-app', 'vitest');
      const result = await run(VITEST, ['run', '--reporter=verbose'], { cwd: project, env: { NO_COLOR: '1' } });
      expect(result.stdout).toContain('hands over a proxy for the large argument only');
      expect(result.code, result.stdout + result.stderr).toBe(0);
    },
    TIMEOUT_MS,
  );

  it(
    'the same test fails without the plugin',
    async () => {
      const project = copyFixture(await stagePackage(), 'vitest-app', 'vitest-plain');
      fs.writeFileSync(path.join(project, 'vitest.config.ts'), "import { defineConfig } from 'vitest/config';\nexport default defineConfig({ test: { include: ['src/**/*.spec.ts'] } });\n");
      const result = await run(VITEST, ['run'], { cwd: project, env: { NO_COLOR: '1' } });
      expect(result.code).not.toBe(0);
      expect(result.stdout + result.stderr).toContain('expected [ false, false ] to deeply equal [ true, false ]');
    },
    TIMEOUT_MS,
  );
});
