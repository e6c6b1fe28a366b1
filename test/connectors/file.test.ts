import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Connector, ConnectorConfig, Key } from '../../runtime/connectors/connector.js';
import { connectorFromConfig, resolvePolicy } from '../../runtime/connectors/kinds.js';
import { FileConnector } from '../../runtime/connectors/index.js';
import { ConfigError, ConnectorError, DescriptorError } from '../../runtime/errors.js';
import { Store } from '../../runtime/store/store.js';
import { describeConnector, expectBytes, payload } from '../../runtime/testing/connector-conformance.js';
import { rejection } from '../../runtime/testing/outcomes.js';
import { tempDirs } from '../../runtime/testing/temp-dirs.js';

const { make: tempDir, removeAll: removeTemps } = tempDirs('ts-proxystore-file-');

describeConnector('file', {
  make: async () => new FileConnector({ directory: await mkdtemp(path.join(os.tmpdir(), 'ts-proxystore-file-')) }),
  cleanup: (connector) => rm((connector as FileConnector).directory, { recursive: true, force: true }),
  sync: true,
  sharedThroughConfig: true,
});

describe('FileConnector', () => {
  const opened: Connector[] = [];
  function file(directory: string): FileConnector {
    const connector = new FileConnector({ directory });
    opened.push(connector);
    return connector;
  }
  afterEach(async () => {
    for (const connector of opened.splice(0)) await connector.close({ clear: true });
    await removeTemps();
  });

  it('is a built-in kind once imported', () => {
    expect(resolvePolicy().kinds).toContain('file');
  });

  it('writes one file per object, named by its key, holding exactly the bytes', async () => {
    const directory = await tempDir();
    const connector = file(directory);
    const data = [payload(10, 1), payload(70_000, 2)];
    const keys = await connector.putBatch(data);
    expect((await readdir(directory)).sort()).toEqual([...keys].sort());
    for (const [i, key] of keys.entries()) expectBytes(await readFile(path.join(directory, key as string)), data[i]!);
  });

  it('stores a copy: changing the caller’s bytes after put changes nothing', async () => {
    const connector = file(await tempDir());
    const data = payload(1000, 3);
    const key = await connector.put(data);
    data.fill(0);
    expectBytes(await connector.get(key), payload(1000, 3));
  });

  it('lets a store serialize into scratch memory that later puts reuse, leaving every stored object intact', async () => {
    const connector = file(await tempDir());
    const scratch = vi.spyOn(connector, 'scratch');
    const store = new Store(`file-${crypto.randomUUID()}`, connector, { cacheSize: 0 });
    const arrays = [1, 2, 3].map((k) => new Float64Array(100_000).fill(k));
    const keys: Key[] = [];
    for (const array of arrays) keys.push(await store.put(array));
    const lent = scratch.mock.results.map((result) => (result.value as Uint8Array).buffer);
    expect(lent).toHaveLength(3);
    expect(lent[1]).toBe(lent[0]);
    expect(lent[2]).toBe(lent[0]);
    for (const [i, key] of keys.entries()) expect(await store.get(key)).toEqual(arrays[i]);
  });

  it('hands out plain Uint8Arrays, not Buffers, from get and getSync', async () => {
    const connector = file(await tempDir());
    const key = await connector.put(payload(100, 4));
    expect(Object.getPrototypeOf(await connector.get(key))).toBe(Uint8Array.prototype);
    expect(Object.getPrototypeOf(connector.getSync(key))).toBe(Uint8Array.prototype);
  });

  describe('keys that could leave the directory', () => {
    const bad: unknown[] = ['../victim', '..', '.', '/etc/passwd', 'a/b', 'a\\b', 'x\0y', '', '.hidden', 42, null, true, { path: 'x' }, ['x']];

    async function setup(): Promise<{ connector: FileConnector; victim: string; good: Key }> {
      const root = await tempDir();
      const victim = path.join(root, 'victim');
      await writeFile(victim, 'keep me');
      const connector = file(path.join(root, 'store'));
      return { connector, victim, good: await connector.put(payload(5, 5)) };
    }

    function expectRefusal(error: unknown, operation: string, key: unknown): void {
      expect(error, `${operation} ${JSON.stringify(key)}`).toBeInstanceOf(ConnectorError);
      expect(error).toMatchObject({ connector: 'file', operation, key });
      expect((error as Error).message).toContain(`${operation} of key ${JSON.stringify(key)}`);
    }

    it('are refused by get, exists, evict and getSync with a ConnectorError naming operation and key', async () => {
      const { connector, victim } = await setup();
      for (const key of bad as Key[]) {
        expectRefusal(await rejection(connector.get(key)), 'get', key);
        expectRefusal(await rejection(connector.exists(key)), 'exists', key);
        expectRefusal(await rejection(connector.evict(key)), 'evict', key);
        let syncError: unknown;
        try {
          connector.getSync(key);
        } catch (error) {
          syncError = error;
        }
        expectRefusal(syncError, 'getSync', key);
      }
      expect(await readFile(victim, 'utf8')).toBe('keep me');
    });

    it('are refused by getBatch even among good keys', async () => {
      const { connector, good } = await setup();
      for (const key of bad as Key[]) expectRefusal(await rejection(connector.getBatch([good, key])), 'getBatch', key);
    });
  });

  it('never shows a reader a partially written object', async () => {
    const directory = await tempDir();
    const connector = file(directory);
    const data = payload(64 << 20, 6);
    let settled = false;
    const put = connector.put(data).finally(() => (settled = true));
    const seen = new Map<string, number>();
    let sawTemp = false;
    while (!settled) {
      for (const name of await readdir(directory)) {
        if (name.startsWith('.')) sawTemp = true;
        else seen.set(name, (await stat(path.join(directory, name))).size);
      }
      await nextTurn();
    }
    const key = await put;
    expect(sawTemp).toBe(true);
    for (const size of seen.values()) expect(size).toBe(data.byteLength);
    expect(await readdir(directory)).toEqual([key]);
  });

  describe('close({ clear: true })', () => {
    it('deletes only the files it wrote and keeps a directory it did not create', async () => {
      const directory = await tempDir();
      await writeFile(path.join(directory, 'unrelated'), 'mine');
      const connector = file(directory);
      const sibling = connectorFromConfig(connector.config());
      opened.push(sibling);
      const theirs = await sibling.put(payload(10, 7));
      await connector.putBatch([payload(10, 8), payload(10, 9)]);
      await connector.put(payload(0, 0));
      await connector.close({ clear: true });
      expect((await readdir(directory)).sort()).toEqual([theirs, 'unrelated'].sort());
      expect(await readFile(path.join(directory, 'unrelated'), 'utf8')).toBe('mine');
    });

    it('keeps an empty directory it did not create', async () => {
      const directory = await tempDir();
      const connector = file(directory);
      await connector.put(payload(10, 10));
      await connector.close({ clear: true });
      expect(await readdir(directory)).toEqual([]);
    });

    it('removes the directories it created once they are empty, and nothing above them', async () => {
      const root = await tempDir();
      const connector = file(path.join(root, 'a', 'b', 'c'));
      await connector.put(payload(10, 11));
      await connector.close({ clear: true });
      expect(await readdir(root)).toEqual([]);
    });

    it('keeps a directory it created while something else lives in it', async () => {
      const root = await tempDir();
      const directory = path.join(root, 'a', 'b');
      const connector = file(directory);
      await connector.put(payload(10, 12));
      await writeFile(path.join(directory, 'unrelated'), 'mine');
      await connector.close({ clear: true });
      expect(await readdir(directory)).toEqual(['unrelated']);
    });

    it('also clears an object whose put was still in flight', async () => {
      const directory = await tempDir();
      const connector = file(directory);
      const put = connector.put(payload(16 << 20, 13));
      await connector.close({ clear: true });
      await put;
      expect(await readdir(directory)).toEqual([]);
    });

    it('is not what close() does: without clear the files stay', async () => {
      const directory = await tempDir();
      const connector = file(directory);
      const key = await connector.put(payload(10, 14));
      await connector.close();
      expect(await readdir(directory)).toEqual([key]);
    });
  });

  it('creates a missing directory and describes itself by its absolute path', async () => {
    const root = await tempDir();
    const relative = path.relative(process.cwd(), path.join(root, 'made', 'here'));
    const connector = file(relative);
    expect(path.isAbsolute(connector.directory)).toBe(true);
    expect(connector.config()).toEqual({ kind: 'file', options: { directory: path.join(root, 'made', 'here') } });
    expect((await stat(connector.directory)).isDirectory()).toBe(true);
  });

  it('refuses a directory option that is not a non-empty path string, naming the option', () => {
    const invalid: ConnectorConfig['options'][] = [{}, { directory: '' }, { directory: 42 }, { directory: null }, { directory: ['/tmp'] }, { directory: 'a\0b' }];
    for (const options of invalid) {
      expect(() => connectorFromConfig({ kind: 'file', options })).toThrow(ConfigError);
      expect(() => connectorFromConfig({ kind: 'file', options })).toThrow(/option 'directory'/);
    }
    expect(() => new FileConnector({ directory: '' })).toThrow(ConfigError);
  });

  it('wraps I/O failures in a ConnectorError naming the operation and key, with the fs error as cause', async () => {
    const directory = await tempDir();
    const connector = file(directory);
    await mkdir(path.join(directory, 'not-a-file'));
    const getError = await rejection(connector.get('not-a-file'));
    expect(getError).toBeInstanceOf(ConnectorError);
    expect(getError).toMatchObject({ operation: 'get', key: 'not-a-file', cause: { code: 'EISDIR' } });
    expect(() => connector.getSync('not-a-file')).toThrow(/getSync of key "not-a-file" failed/);
    expect(await connector.exists('not-a-file')).toBe(false);
    await rm(directory, { recursive: true });
    // A directory deleted under the connector (a temp-dir cleaner, say) is made again by the next put.
    const key = await connector.put(payload(10, 15));
    expectBytes(await connector.get(key), payload(10, 15));
  });

  describe('configs from elsewhere (untrusted)', () => {
    function untrusted(directory: string, fileRoots?: string[]): Connector {
      const connector = connectorFromConfig({ kind: 'file', options: { directory } }, { trusted: false, policy: fileRoots && { fileRoots } });
      opened.push(connector);
      return connector;
    }

    it('accepts a directory inside the OS temp dir by default, and a root itself', async () => {
      const root = await tempDir();
      const data = payload(10, 16);
      const key = await file(root).put(data);
      expectBytes(await untrusted(root).get(key), data);
      // A receiver never creates a directory a descriptor names: the store that wrote there made it.
      expect(() => untrusted(path.join(root, 'sub'), [root])).toThrow(/does not exist here/);
      await expect(stat(path.join(root, 'sub'))).rejects.toThrow(/ENOENT/);
      await mkdir(path.join(root, 'sub'));
      expect(untrusted(path.join(root, 'sub'), [root]).config().options.directory).toBe(path.join(root, 'sub'));
      expect(untrusted(root, [root]).kind).toBe('file');
    });

    it('refuses a relative directory', async () => {
      const root = await tempDir();
      const relative = path.relative(process.cwd(), root);
      expect(() => untrusted(relative, [root])).toThrow(DescriptorError);
      expect(() => untrusted(relative, [root])).toThrow(/absolute/);
    });

    it('refuses a directory outside every root, naming it and the roots, without creating it', async () => {
      const root = await tempDir();
      const allowed = path.join(root, 'allowed');
      await mkdir(allowed);
      for (const directory of [path.join(root, 'other'), `${allowed}-evil`, path.join(allowed, '..', 'escaped'), '/']) {
        expect(() => untrusted(directory, [allowed])).toThrow(DescriptorError);
        expect(() => untrusted(directory, [allowed])).toThrow(`'${directory}' is outside the allowed roots (allowed roots: ${allowed})`);
      }
      expect(await readdir(root)).toEqual(['allowed']);
    });

    it('follows symlinks, so a link inside a root cannot lead outside it', async () => {
      const root = await tempDir();
      const [allowed, outside] = [path.join(root, 'allowed'), path.join(root, 'outside')];
      await Promise.all([mkdir(allowed), mkdir(outside)]);
      await symlink(outside, path.join(allowed, 'link'));
      expect(() => untrusted(path.join(allowed, 'link'), [allowed])).toThrow(DescriptorError);
      expect(() => untrusted(path.join(allowed, 'link', 'not', 'yet'), [allowed])).toThrow(DescriptorError);
      expect(existsSync(path.join(outside, 'not'))).toBe(false);
    });

    it('is not checked for trusted configs', async () => {
      const root = await tempDir();
      const connector = connectorFromConfig({ kind: 'file', options: { directory: root } }, { trusted: true, policy: { fileRoots: [] } });
      opened.push(connector);
      expect(connector.kind).toBe('file');
    });
  });
});
