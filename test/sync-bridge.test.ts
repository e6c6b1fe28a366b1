import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectorConfig } from '../runtime/connectors/connector.js';
import { FileConnector } from '../runtime/connectors/file.js';
import { ConnectorError } from '../runtime/errors.js';
import { acquireSyncBridge, type SyncBridge, type SyncBridgeOptions } from '../runtime/connectors/sync-bridge/bridge.js';
import { expectBytes, payload } from '../runtime/testing/connector-conformance.js';
import { thrown } from '../runtime/testing/outcomes.js';

// Bridge workers run the build in dist/ (npm test builds first); so do these kinds, registered there.
const distRuntime = path.resolve(import.meta.dirname, '../dist/runtime');
const fileModule = new URL('../runtime/connectors/file.js', import.meta.url);

/** Test-only connector kinds for the worker, written as plain JS because workers cannot load TypeScript. */
const KINDS = `
import { threadId } from 'node:worker_threads';
import { registerConnectorKind } from ${JSON.stringify(pathToFileURL(path.join(distRuntime, 'connectors', 'kinds.js')).href)};
const text = (value) => new TextEncoder().encode(String(value));
const cached = new Uint8Array([7, 7, 7]);
const kind = (name, get) => registerConnectorKind({
  kind: name,
  fromOptions: (options) => ({ kind: name, get: (key) => get(key, options), close: async () => {}, config: () => ({ kind: name, options }) }),
});
kind('test-slow', async (key) => { await new Promise((resolve) => setTimeout(resolve, Number(key))); return text(key); });
kind('test-hang', () => new Promise(() => {}));
kind('test-crash', async () => process.exit(3));
kind('test-failing', async (key) => { throw new Error('no luck with ' + key); });
kind('test-cached', async () => cached);
kind('test-options', async (key, options) => text(JSON.stringify(options)));
kind('test-thread', async () => text(threadId));
`;

let scratch: string;
let kindsModule: URL;
let files: FileConnector;
beforeAll(async () => {
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'sync-bridge-test-'));
  kindsModule = pathToFileURL(path.join(scratch, 'kinds.mjs'));
  await fs.writeFile(kindsModule, KINDS);
  files = new FileConnector({ directory: path.join(scratch, 'objects') });
});
afterAll(async () => {
  await files?.close({ clear: true });
  await fs.rm(scratch, { recursive: true, force: true });
});

const held: SyncBridge[] = [];
function bridge(config: ConnectorConfig, options: Partial<SyncBridgeOptions> = {}): SyncBridge {
  const acquired = acquireSyncBridge(config, { modules: [kindsModule], timeoutMs: 10_000, ...options });
  held.push(acquired);
  return acquired;
}
afterEach(async () => {
  await Promise.all(held.splice(0).map((acquired) => acquired.release()));
});

const decode = (bytes: Uint8Array | undefined): string => new TextDecoder().decode(bytes);

describe('sync bridge', () => {
  it('returns what the connector’s async get returns, byte for byte, and undefined for missing keys', async () => {
    const data = payload(5 << 20, 1);
    const key = await files.put(data);
    const reader = bridge(files.config(), { modules: [fileModule], ownedBytes: true });
    expectBytes(reader.get(key), data);
    expectBytes(reader.get(key), data);
    await files.evict(key);
    expect(reader.get(key)).toBeUndefined();
  });

  it('reports the connector’s failures as ConnectorErrors naming the connector, operation and key', () => {
    const error = thrown(() => bridge({ kind: 'test-failing', options: {} }, { name: 'flaky store' }).get('k1'));
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ connector: 'flaky store', operation: 'getSync', key: 'k1' });
    expect((error as Error).message).toBe('flaky store: getSync of key "k1" failed: no luck with k1');

    const refused = thrown(() => bridge(files.config(), { modules: [fileModule] }).get('../escape'));
    expect(refused).toBeInstanceOf(ConnectorError);
    expect((refused as Error).message).toContain('not a key of a file connector');
  });

  it('reports a kind the worker cannot build, and a module that does not exist', () => {
    const unknown = thrown(() => bridge({ kind: 'never-registered', options: {} }).get('k'));
    expect(unknown).toBeInstanceOf(ConnectorError);
    expect((unknown as Error).message).toContain("unknown connector kind 'never-registered'");

    const missing = thrown(() => bridge({ kind: 'test-slow', options: {} }, { modules: [pathToFileURL(path.join(scratch, 'absent.js'))] }).get('k'));
    expect(missing).toBeInstanceOf(ConnectorError);
    expect((missing as Error).message).toContain('absent.js');
  });

  it('gives up after timeoutMs with a ConnectorError instead of blocking forever', () => {
    const error = thrown(() => bridge({ kind: 'test-hang', options: {} }, { timeoutMs: 300 }).get('k'));
    expect(error).toBeInstanceOf(ConnectorError);
    expect((error as Error).message).toContain('no answer from the sync bridge worker within 300 ms');
  });

  it('drops the late answer to a read that timed out, so the next read gets its own', () => {
    const config = { kind: 'test-slow', options: {} };
    const impatient = bridge(config, { timeoutMs: 100 });
    const patient = bridge(config);
    expect(() => impatient.get('400')).toThrow(ConnectorError);
    // Same config, so the same worker: the answer for '400' arrives while this read waits.
    expect(decode(patient.get('600'))).toBe('600');
    expect(decode(patient.get('0'))).toBe('0');
  });

  it('reports a worker that died during the read, and every read after it', async () => {
    const reader = bridge({ kind: 'test-crash', options: {} }, { timeoutMs: 60_000 });
    const error = thrown(() => reader.get('k'));
    expect(error).toBeInstanceOf(ConnectorError);
    expect((error as Error).message).toContain('sync bridge worker exited');
    // Once the event loop has seen the exit, reads fail without asking the worker.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(() => reader.get('k')).toThrow(/sync bridge worker exited \(code 3\)/);
  });

  it('copies bytes the connector keeps for itself unless told it owns them', () => {
    const reader = bridge({ kind: 'test-cached', options: {} });
    expect([...(reader.get('a') ?? [])]).toEqual([7, 7, 7]);
    expect([...(reader.get('b') ?? [])]).toEqual([7, 7, 7]);
  });

  it('merges localOptions into the config inside the worker only', () => {
    const config = { kind: 'test-options', options: { shared: 1 } };
    const reader = bridge(config, { localOptions: { secret: 's3cret' } });
    expect(JSON.parse(decode(reader.get('k')))).toEqual({ shared: 1, secret: 's3cret' });
    expect(config.options).toEqual({ shared: 1 });
  });

  it('shares one worker per config, until the last holder releases it', async () => {
    const config = { kind: 'test-thread', options: {} };
    const [a, b] = [bridge(config), bridge(config)];
    const other = bridge({ kind: 'test-thread', options: { other: true } });
    const thread = decode(a.get('k'));
    expect(decode(b.get('k'))).toBe(thread);
    expect(decode(other.get('k'))).not.toBe(thread);

    await a.release();
    await a.release();
    expect(() => a.get('k')).toThrow(/released/);
    expect(decode(b.get('k'))).toBe(thread);
    await b.release();
    expect(decode(bridge(config).get('k'))).not.toBe(thread);
  });

  it('never keeps the process alive, even when not released', async () => {
    const script = `
      const { acquireSyncBridge } = await import(${JSON.stringify(pathToFileURL(path.join(distRuntime, 'connectors', 'sync-bridge', 'bridge.js')).href)});
      const reader = acquireSyncBridge({ kind: 'test-slow', options: {} }, { modules: [new URL(${JSON.stringify(kindsModule.href)})], timeoutMs: 10000 });
      console.log(new TextDecoder().decode(reader.get('5')));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 });
    expect(stdout.trim()).toBe('5');
  });

  it('starts under V8 and process-wide flags (--max-old-space-size, --expose-gc), which a worker refuses in a list, with and without --input-type', async () => {
    const script = `
      const { acquireSyncBridge } = await import(${JSON.stringify(pathToFileURL(path.join(distRuntime, 'connectors', 'sync-bridge', 'bridge.js')).href)});
      const reader = acquireSyncBridge({ kind: 'test-slow', options: {} }, { modules: [new URL(${JSON.stringify(kindsModule.href)})], timeoutMs: 10000 });
      console.log(new TextDecoder().decode(reader.get('7')));
    `;
    const flags = ['--max-old-space-size=512', '--expose-gc', '--stack-size=900'];
    const evaluated = await promisify(execFile)(process.execPath, [...flags, '--input-type=module', '-e', script], { timeout: 20_000 });
    expect(evaluated.stdout.trim()).toBe('7');
    const file = path.join(os.tmpdir(), `bridge-flags-${crypto.randomUUID()}.mjs`);
    await fs.writeFile(file, script);
    try {
      const run = await promisify(execFile)(process.execPath, [...flags, file], { timeout: 20_000 });
      expect(run.stdout.trim()).toBe('7');
    } finally {
      await fs.rm(file, { force: true });
    }
  });
});
