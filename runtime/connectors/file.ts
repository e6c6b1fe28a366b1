import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { open, rename, rmdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { CloseOptions, Connector, ConnectorConfig, Key, StartedPut } from '../connector.js';
import { registerConnectorKind } from '../connector-kinds.js';
import { ConfigError, ConnectorError, DescriptorError, messageOf } from '../errors.js';
import { ScratchPool } from './scratch.js';

export interface FileConnectorOptions {
  /** Where objects go, one file each; created (with missing parents) if absent. */
  readonly directory: string;
}

/**
 * Keys are plain file names from a portable character set. No separators or
 * NUL, so a key cannot leave the directory; no leading '.', which rules out
 * '.', '..' and our in-progress temp files, so a reader can never open a
 * half-written object.
 */
const KEY_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}$/;

/**
 * Stores each object as one file in a directory, so any process that can see
 * the directory (same machine, or a shared filesystem) can read it.
 *
 * Writes go to a temp file that is renamed into place: an object's file either
 * does not exist yet or is complete. There is no fsync; objects are meant to be
 * transient and a crash may lose them. `get` returns a fresh Uint8Array per call.
 */
export class FileConnector implements Connector {
  readonly kind = 'file';
  /** Absolute, so that config() names the same place whatever the receiver's working directory. */
  readonly directory: string;
  /** How many directories, counting up from `directory`, the constructor created; clear may remove those, and only those. */
  readonly #createdLevels: number;
  /** close({ clear }) deletes exactly these, so unrelated files and other instances' objects survive. */
  readonly #stored = new Set<string>();
  /** Puts in flight, awaited by close so that an object landing during a clear is cleared too. */
  readonly #writing = new Set<Promise<string>>();
  readonly #scratch = new ScratchPool();
  #closed = false;

  constructor(options: FileConnectorOptions) {
    this.directory = path.resolve(directoryOption(options.directory));
    let created: string | undefined;
    try {
      created = mkdirSync(this.directory, { recursive: true });
    } catch (cause) {
      throw this.#failure('open', cause);
    }
    this.#createdLevels = created === undefined ? 0 : path.relative(created, this.directory).split(path.sep).filter(Boolean).length + 1;
  }

  async put(data: Uint8Array): Promise<Key> {
    return this.#write('put', data);
  }

  /**
   * The name is chosen here and the file written in the background: the
   * temp-file-then-rename write means no reader sees the key before it is complete.
   */
  startPut(data: Uint8Array): StartedPut {
    this.#assertOpen('startPut');
    const name = randomUUID();
    return { key: name, written: this.#write('startPut', data, name).then(() => undefined) };
  }

  async putBatch(data: readonly Uint8Array[]): Promise<Key[]> {
    this.#assertOpen('putBatch');
    return Promise.all(data.map((bytes) => this.#write('putBatch', bytes)));
  }

  /** Memory to serialize a put into; once the file is written it serves a later put. */
  scratch(size: number): Uint8Array {
    this.#assertOpen('scratch');
    return this.#scratch.take(size);
  }

  async get(key: Key): Promise<Uint8Array | undefined> {
    return this.#read('get', this.#name('get', key));
  }

  getSync(key: Key): Uint8Array | undefined {
    const name = this.#name('getSync', key);
    try {
      const bytes = readFileSync(this.#file(name));
      // A plain view, so callers never get a Buffer (whose slice() does not copy).
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (cause) {
      if (isMissing(cause)) return undefined;
      throw this.#failure('getSync', cause, name);
    }
  }

  async getBatch(keys: readonly Key[]): Promise<(Uint8Array | undefined)[]> {
    this.#assertOpen('getBatch');
    // Every key is checked before any file is touched.
    const names = keys.map((key) => this.#name('getBatch', key));
    return Promise.all(names.map((name) => this.#read('getBatch', name)));
  }

  async exists(key: Key): Promise<boolean> {
    const name = this.#name('exists', key);
    try {
      return (await stat(this.#file(name))).isFile();
    } catch (cause) {
      if (isMissing(cause)) return false;
      throw this.#failure('exists', cause, name);
    }
  }

  async evict(key: Key): Promise<void> {
    const name = this.#name('evict', key);
    try {
      await removeFile(this.#file(name));
    } catch (cause) {
      throw this.#failure('evict', cause, name);
    }
    this.#stored.delete(name);
  }

  config(): ConnectorConfig {
    return { kind: this.kind, options: { directory: this.directory } };
  }

  /**
   * Idempotent; `clear` is honoured by whichever call asks for it. Clearing
   * deletes the files this instance wrote, then the directories its
   * constructor created, innermost first, stopping at the first that is not empty.
   */
  async close(options: CloseOptions = {}): Promise<void> {
    this.#closed = true;
    await Promise.allSettled(this.#writing);
    if (options.clear !== true) return;
    try {
      await Promise.all([...this.#stored].map((name) => removeFile(this.#file(name))));
      this.#stored.clear();
      let directory = this.directory;
      for (let level = 0; level < this.#createdLevels; level++, directory = path.dirname(directory)) {
        if (!(await removeEmptyDirectory(directory))) break;
      }
    } catch (cause) {
      throw this.#failure('close', cause);
    }
  }

  async #write(operation: string, data: Uint8Array, name: string = randomUUID()): Promise<string> {
    this.#assertOpen(operation);
    const writing = this.#writeFile(operation, data, name);
    this.#writing.add(writing);
    try {
      return await writing;
    } finally {
      this.#writing.delete(writing);
    }
  }

  async #writeFile(operation: string, data: Uint8Array, name: string): Promise<string> {
    const temp = this.#file(`.${name}.tmp`);
    try {
      await writeWhole(temp, data);
      await rename(temp, this.#file(name));
    } catch (cause) {
      // The write's error is the one to report; a temp file we cannot remove changes nothing for the caller.
      await unlink(temp).catch(() => undefined);
      throw this.#failure(operation, cause);
    }
    this.#stored.add(name);
    this.#scratch.giveBack(data);
    return name;
  }

  async #read(operation: string, name: string): Promise<Uint8Array | undefined> {
    try {
      return await readWhole(this.#file(name));
    } catch (cause) {
      if (isMissing(cause)) return undefined;
      throw this.#failure(operation, cause, name);
    }
  }

  #name(operation: string, key: Key): string {
    this.#assertOpen(operation);
    if (typeof key === 'string' && KEY_NAME.test(key)) return key;
    throw new ConnectorError(this.kind, operation, `not a key of a file connector: keys are plain file names, which cannot leave '${this.directory}'`, {
      key,
    });
  }

  #file(name: string): string {
    return path.join(this.directory, name);
  }

  #assertOpen(operation: string): void {
    if (this.#closed) throw new ConnectorError(this.kind, operation, `connector for '${this.directory}' is closed`);
  }

  #failure(operation: string, cause: unknown, key?: string): ConnectorError {
    const reason = messageOf(cause);
    return new ConnectorError(this.kind, operation, `in '${this.directory}': ${reason}`, { cause, key });
  }
}

/** One write call in the common case: a single-pass loop over the caller's bytes, without the 512 KiB chunking of fs.writeFile. */
async function writeWhole(file: string, data: Uint8Array): Promise<void> {
  const handle = await open(file, 'wx');
  try {
    for (let written = 0; written < data.byteLength; ) {
      written += (await handle.write(data, written, data.byteLength - written, written)).bytesWritten;
    }
  } finally {
    await handle.close();
  }
}

/** One read call in the common case, straight into a buffer of the file's size (fs.readFile reads in 512 KiB chunks). */
async function readWhole(file: string): Promise<Uint8Array> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const bytes = new Uint8Array(size);
    for (let filled = 0; filled < size; ) {
      const { bytesRead } = await handle.read(bytes, filled, size - filled, filled);
      // Objects are never rewritten in place, so a short file means someone else truncated it.
      if (bytesRead === 0) throw new Error(`file shrank while being read (${filled} of ${size} bytes)`);
      filled += bytesRead;
    }
    return bytes;
  } finally {
    await handle.close();
  }
}

async function removeFile(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (cause) {
    if (!isMissing(cause)) throw cause;
  }
}

/** False when the directory still holds something; rmdir decides emptiness atomically, so no file appearing meanwhile is lost. */
async function removeEmptyDirectory(directory: string): Promise<boolean> {
  try {
    await rmdir(directory);
  } catch (cause) {
    const code = errorCode(cause);
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
    if (code !== 'ENOENT') throw cause;
  }
  return true;
}

function errorCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
}

function isMissing(error: unknown): boolean {
  return errorCode(error) === 'ENOENT';
}

function directoryOption(directory: unknown): string {
  if (typeof directory === 'string' && directory !== '' && !directory.includes('\0')) return directory;
  throw new ConfigError(`file connector: option 'directory' must be a non-empty path string, got ${JSON.stringify(directory)}`);
}

/**
 * A directory named by a descriptor made elsewhere must lie inside an allowed
 * root, so a sender cannot make this process write or delete files anywhere
 * else. The check follows symlinks as far as the path exists, so a link inside
 * a root cannot lead a directory (existing or about to be created) outside it.
 */
function assertAllowedDirectory(directory: string, roots: readonly string[]): void {
  const allowed = `allowed roots: ${roots.join(', ') || 'none'}`;
  if (!path.isAbsolute(directory)) {
    throw new DescriptorError(`file connector directory '${directory}' from elsewhere must be an absolute path (${allowed})`);
  }
  const real = realpathOfExisting(path.resolve(directory));
  if (!roots.some((root) => isWithin(real, realpathOfExisting(path.resolve(root))))) {
    throw new DescriptorError(`file connector directory '${directory}' is outside the allowed roots (${allowed})`);
  }
}

/**
 * The store that wrote objects there made the directory, so a reference to
 * them never needs the receiver to create one; refusing a missing one keeps a
 * flood of descriptors from making a directory each.
 */
function assertExistingDirectory(directory: string): void {
  let isDirectory = false;
  try {
    isDirectory = statSync(directory).isDirectory();
  } catch {
    // Missing or unreadable: refused below either way.
  }
  if (!isDirectory) throw new DescriptorError(`file connector directory '${directory}' from elsewhere does not exist here (a receiver never creates one)`);
}

/** Names the connector gives objects: `randomUUID()`. */
const MADE_KEY = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** realpath of the longest existing prefix, with the rest appended unchanged. */
function realpathOfExisting(target: string): string {
  try {
    return realpathSync.native(target);
  } catch {
    const parent = path.dirname(target);
    return parent === target ? target : path.join(realpathOfExisting(parent), path.basename(target));
  }
}

function isWithin(target: string, root: string): boolean {
  const relative = path.relative(root, target);
  return relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative);
}

registerConnectorKind(
  {
    kind: 'file',
    fromOptions(options, { trusted, policy }) {
      const directory = directoryOption(options.directory);
      if (!trusted) {
        assertAllowedDirectory(directory, policy.fileRoots);
        assertExistingDirectory(directory);
      }
      return new FileConnector({ directory });
    },
    isMadeKey: (key) => typeof key === 'string' && MADE_KEY.test(key),
  },
  { builtin: true },
);
