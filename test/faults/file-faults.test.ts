/**
 * File store faults: objects above 2 GiB (one read call that long aborts
 * Node), temp files of writers that died mid-write, a directory that cannot
 * be made.
 */
import { open, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectorError, FileConnector } from '../../src/index.js';
import { tempDirs } from '../../runtime/testing/temp-dirs.js';

const dirs = tempDirs('file-faults-');
afterEach(() => dirs.removeAll());

/** A key's file made sparse, `size` bytes long, with a marker byte at each end: no disk blocks for the rest. */
async function sparseObject(directory: string, key: string, size: number): Promise<void> {
  const handle = await open(path.join(directory, key), 'w');
  try {
    await handle.write(Uint8Array.of(7), 0, 1, 0);
    await handle.write(Uint8Array.of(9), 0, 1, size - 1);
  } finally {
    await handle.close();
  }
}

describe('FileConnector faults', () => {
  it('reads an object above 2 GiB in chunks', async () => {
    const directory = await dirs.make();
    const connector = new FileConnector({ directory });
    const size = 2 ** 31 + 4_096;
    await sparseObject(directory, 'huge', size);
    const bytes = await connector.get('huge');
    expect(bytes?.byteLength).toBe(size);
    expect([bytes?.[0], bytes?.[size - 2], bytes?.[size - 1]]).toEqual([7, 0, 9]);
    await connector.close({ clear: true });
  }, 60_000);

  it('removes the temp file of a writer that died mid-write when clearing, and keeps a live one', async () => {
    const directory = await dirs.make();
    const connector = new FileConnector({ directory });
    const key = await connector.put(new Uint8Array(16));
    const dead = path.join(directory, `.${crypto.randomUUID()}.tmp`);
    const live = path.join(directory, `.${crypto.randomUUID()}.tmp`);
    await writeFile(dead, new Uint8Array(100));
    await writeFile(live, new Uint8Array(100));
    const longAgo = new Date(Date.now() - 10 * 60_000);
    await utimes(dead, longAgo, longAgo);
    await connector.close({ clear: true });
    const left = await readdir(directory);
    expect(left).not.toContain(key);
    expect(left).not.toContain(path.basename(dead));
    expect(left).toContain(path.basename(live));
  });

  it('fails at once with a ConnectorError for a directory that cannot be made, instead of retrying for ever', () => {
    const started = performance.now();
    expect(() => new FileConnector({ directory: '/proc/ts-proxystore/objects' })).toThrow(ConnectorError);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('makes a deleted directory again on the next put, nested levels included', async () => {
    const root = await dirs.make();
    const directory = path.join(root, 'a', 'b');
    const connector = new FileConnector({ directory });
    await rm(path.join(root, 'a'), { recursive: true });
    const key = await connector.put(Uint8Array.of(1, 2, 3));
    expect(await connector.get(key)).toEqual(Uint8Array.of(1, 2, 3));
    await connector.close({ clear: true });
  });
});
