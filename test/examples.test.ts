/**
 * A new user's walk-through, from the packed tarball: a fresh project
 * installs the package next to its usual neighbours (piscina, bullmq with its
 * ioredis 5, eslint, typescript-eslint), takes the README's tsconfig.json and
 * quick start and the executor code of docs/concepts/executors.md verbatim,
 * compiles them with `tsc`, runs them on this Node (a BullMQ worker in a
 * process of its own, against a real redis-server), and lints the project
 * with docs/lint.md's eslint.config.js.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markedBlock } from './helpers/doc-blocks.js';
import { bin, pack, packageJson, project, repoRoot, runIn, type Packed } from './helpers/packed.js';
import { startRedisServer, type RedisServer } from '../runtime/testing/redis-server.js';

const dev = packageJson.devDependencies;
const readme = (marker: 'example' | 'file', name: string): string => markedBlock('README.md', marker, name).code;
const executorsPage = (name: string): string => markedBlock('docs/concepts/executors.md', 'example', name).code;

let packed: Packed;
let app: string;
let server: RedisServer;

beforeAll(async () => {
  packed = pack('examples-test-');
  server = await startRedisServer();
  app = await project(
    packed,
    'app',
    [`typescript@${dev.typescript}`, `@types/node@${dev['@types/node']}`, `piscina@${dev.piscina}`, `bullmq@${dev.bullmq}`, 'ioredis@5', `eslint@${dev.eslint}`, `typescript-eslint@${dev['typescript-eslint']}`],
    {
      'tsconfig.json': readme('file', 'tsconfig.json'),
      'eslint.config.js': markedBlock('docs/lint.md', 'file', 'eslint.config.js').code,
      'src/main.ts': readme('example', 'examples/quick-start/main.ts'),
      'src/worker.ts': readme('example', 'examples/quick-start/worker.ts'),
      'src/tasks.ts': executorsPage('examples/executors/tasks.ts'),
      'src/piscina.ts': executorsPage('examples/executors/piscina.ts'),
      // Linked from the executors page rather than shown: the same caller over BullMQ.
      'src/bullmq.ts': fs.readFileSync(path.join(repoRoot, 'examples/executors/bullmq.ts'), 'utf8'),
    },
  );
  const built = await runIn(app, process.execPath, [bin(app, 'tsc')]);
  if (built.code !== 0) throw new Error(`tsc with the README's tsconfig.json failed:\n${built.stdout}${built.stderr}`);
}, 300_000);

afterAll(async () => {
  await server?.stop();
  packed?.remove();
});

describe('the README and the docs, verbatim, in a fresh project', () => {
  it('installs next to bullmq with its ioredis 5', () => {
    const ioredis = JSON.parse(fs.readFileSync(path.join(app, 'node_modules', 'ioredis', 'package.json'), 'utf8')) as { version: string };
    expect(ioredis.version).toMatch(/^5\./);
  });

  it('the quick start runs: the worker reads the weights, main waits for its reply, and the process ends', async () => {
    const ran = await runIn(app, process.execPath, ['dist/main.js'], { timeoutMs: 60_000 });
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toBe('8000000 true\nsum from the worker: 4000000\n');
  });

  it('the piscina executor example runs, an 8 MB input and result travelling by proxy', async () => {
    const ran = await runIn(app, process.execPath, ['dist/piscina.js'], { timeoutMs: 60_000 });
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toBe('sum: 1000000\ndoubled: true 2\n');
  });

  it('the BullMQ example runs against a worker started with ts-proxystore-worker in its own process', async () => {
    const redis = `redis://127.0.0.1:${server.port}`;
    const worker = spawn(bin(app, 'ts-proxystore-worker'), ['--queue', 'example', '--tasks', 'dist/tasks.js', '--redis', redis], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await readyLine(worker);
      const ran = await runIn(app, process.execPath, ['dist/bullmq.js'], { env: { REDIS_URL: redis }, timeoutMs: 60_000 });
      expect(ran.code, ran.stderr).toBe(0);
      expect(ran.stdout).toBe('sum: 1000000\ndoubled: true 2\n');
    } finally {
      worker.kill('SIGTERM');
      await once(worker, 'exit');
    }
  });

  it("docs/lint.md's eslint.config.js lints the project cleanly with npx eslint .", async () => {
    expect(fs.existsSync(path.join(app, 'dist', 'main.js'))).toBe(true);
    const ran = await runIn(app, process.execPath, [bin(app, 'eslint'), '.'], { timeoutMs: 120_000 });
    expect(ran.code, `${ran.stdout}${ran.stderr}`).toBe(0);
  }, 180_000);

  it('a TypeScript 6 consumer whose types default to [] compiles against every entry point with skipLibCheck false', async () => {
    // The unplugin entry is left out: unplugin's own declarations import every bundler it supports.
    const entries = Object.keys(packageJson.exports).filter((e) => e !== './package.json' && e !== './unplugin');
    const specifiers = entries.map((e) => (e === '.' ? packageJson.name : `${packageJson.name}/${e.slice(2)}`));
    fs.writeFileSync(path.join(app, 'entries.ts'), `${specifiers.map((s, i) => `import type * as entry${i} from '${s}';`).join('\n')}\nexport type Entries = [${specifiers.map((_, i) => `typeof entry${i}`).join(', ')}];\n`);
    fs.writeFileSync(
      path.join(app, 'tsconfig.entries.json'),
      JSON.stringify({ compilerOptions: { target: 'es2022', module: 'nodenext', strict: true, skipLibCheck: false, noEmit: true }, files: ['entries.ts'] }),
    );
    try {
      const ran = await runIn(app, process.execPath, [bin(app, 'tsc'), '-p', 'tsconfig.entries.json']);
      expect(`${ran.stdout}${ran.code === 0 ? '' : ran.stderr}`).toBe('');
    } finally {
      fs.rmSync(path.join(app, 'entries.ts'));
      fs.rmSync(path.join(app, 'tsconfig.entries.json'));
    }
  }, 180_000);

  it('and reports misuse of a proxy, so the plugin is active', async () => {
    fs.writeFileSync(path.join(app, 'src', 'misuse.ts'), "import { Store, MemoryConnector } from 'ts-proxystore';\nconst value = { a: 1 };\nconst p = await new Store('s', new MemoryConnector()).proxy(value);\nconsole.log(p === value);\n");
    try {
      const ran = await runIn(app, process.execPath, [bin(app, 'eslint'), 'src/misuse.ts'], { timeoutMs: 120_000 });
      expect(ran.code).toBe(1);
      expect(ran.stdout).toContain('ts-proxystore/no-proxy-identity');
    } finally {
      fs.rmSync(path.join(app, 'src', 'misuse.ts'));
    }
  }, 180_000);
});

/** Resolves on the worker's "ready" line; rejects if it exits or stays silent for 30 s. */
async function readyLine(worker: ChildProcess): Promise<void> {
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ts-proxystore-worker not ready after 30 s:\n${output}`)), 30_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    worker.stdout?.on('data', onData);
    worker.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    worker.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`ts-proxystore-worker exited with ${String(code)}:\n${output}`));
    });
  });
}
