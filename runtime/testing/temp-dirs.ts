import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface TempDirs {
  /** A new empty directory under the system's temporary directory. */
  readonly make: () => Promise<string>;
  /** Removes every directory made so far, with its contents. */
  readonly removeAll: () => Promise<void>;
}

/** Temporary directories named `prefix…`, made on demand and removed together. */
export function tempDirs(prefix: string): TempDirs {
  const made: string[] = [];
  return {
    make: async () => {
      const directory = await mkdtemp(path.join(os.tmpdir(), prefix));
      made.push(directory);
      return directory;
    },
    removeAll: async () => {
      await Promise.all(made.splice(0).map((directory) => rm(directory, { recursive: true, force: true })));
    },
  };
}
