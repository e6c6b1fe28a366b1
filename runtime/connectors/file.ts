import { randomUUID } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { open, readdir, rename, rmdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { CloseOptions, Connector, ConnectorConfig, Key, ListedObject, StartedPut } from './connector.js';
import { registerConnectorKind } from './kinds.js';
import { ConfigError, ConnectorError, DescriptorError, messageOf } from '../errors.js';
import { rejectUnknownOptions } from './options.js';
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
/** In-progress writes: `.<uuid>.tmp`, renamed to `<uuid>` once complete. */
const TEMP_NAME = /^\.[0-9a-f-]{36}\.tmp$/;
/**
 * A temp file nobody has written to for this long belongs to a writer that
 * died mid-write (a live one keeps touching it); clearing removes it.
 */
const STALE_TEMP_MS = 60_000;
/**
 * Bytes per read or write call: one call with a length beyond 2^31 - 1 aborts
 * Node (a native assertion), so objects above 2 GiB move in chunks.
 */
const IO_CHUNK = 1 << 30;

/**
 * Stores each object as one file in a directory, so any process that can see
 * the directory (same machine, or a shared filesystem) can read it.
 *
 * Writes go to a temp file that is renamed into place: an object's file either
 * does not exist yet or is complete. There is no fsync; objects are meant to be
 * transient and a crash may lose them. `get` returns a fresh Uint8Array per call.
 */
const FILE_OPTIONS = ['directory'];

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
  /** Temp files of this instance that a failed write could not remove; clearing tries again. */
  readonly #leftovers = new Set<string>();
  readonly #scratch = new ScratchPool();
  #closed = false;

  constructor(options: FileConnectorOptions) {
    rejectUnknownOptions('file', options, FILE_OPTIONS);
    this.directory = path.resolve(directoryOption(options.directory));
    let created: string | undefined;
    try {
      created = makeDirectories(this.directory);
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

  newKey(): Key {
    this.#assertOpen('newKey');
    return randomUUID();
  }

  /** Temp file then rename, as every write: a reader sees the old object or the new one whole. */
  async set(key: Key, data: Uint8Array): Promise<void> {
    await this.#write('set', data, this.#name('set', key));
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
      return readWholeSync(this.#file(name));
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

  /** Every object file in the directory, whoever wrote it; temp files of writes in progress are not objects. */
  async *list(): AsyncGenerator<ListedObject> {
    this.#assertOpen('list');
    let names: string[];
    try {
      names = await readdir(this.directory);
    } catch (cause) {
      if (isMissing(cause)) return;
      throw this.#failure('list', cause);
    }
    for (const name of names) {
      if (!KEY_NAME.test(name)) continue;
      try {
        const info = await stat(this.#file(name));
        if (info.isFile()) yield { key: name, bytes: info.size, modifiedMs: info.mtimeMs };
      } catch (cause) {
        // Evicted between the listing and the stat: it is simply no longer held.
        if (!isMissing(cause)) throw this.#failure('list', cause, name);
      }
    }
  }

  /**
   * Idempotent; `clear` is honoured by whichever call asks for it. Clearing
   * deletes the files this instance wrote, then the directories its
   * constructor created, innermost first, stopping at the first that is not empty.
   */
  async close(options: CloseOptions = {}): Promise<void> {
    this.#closed = true;
    await Promise.allSettled(this.#writing);
    this.#scratch.clear();
    if (options.clear !== true) return;
    try {
      await Promise.all([...this.#stored].map((name) => removeFile(this.#file(name))));
      this.#stored.clear();
      await this.#removeTemps();
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
      await this.#writeTemp(temp, data);
      await rename(temp, this.#file(name));
    } catch (cause) {
      // The write's error is the one to report; a temp file we cannot remove now is retried by close({ clear: true }).
      await unlink(temp).catch((error: unknown) => {
        if (!isMissing(error)) this.#leftovers.add(temp);
      });
      throw this.#failure(operation, cause);
    }
    this.#stored.add(name);
    this.#scratch.giveBack(data);
    return name;
  }

  /** Writes the temp file; a directory deleted under the connector is made again, once per write. */
  async #writeTemp(temp: string, data: Uint8Array): Promise<void> {
    try {
      await writeWhole(temp, data);
    } catch (cause) {
      if (!isMissing(cause)) throw cause;
      makeDirectories(this.directory);
      await writeWhole(temp, data);
    }
  }

  /** This instance's leftover temp files, and those of writers that died mid-write (untouched for STALE_TEMP_MS). */
  async #removeTemps(): Promise<void> {
    await Promise.all([...this.#leftovers].map((temp) => removeFile(temp)));
    this.#leftovers.clear();
    let names: string[];
    try {
      names = await readdir(this.directory);
    } catch (cause) {
      if (isMissing(cause)) return;
      throw cause;
    }
    const now = Date.now();
    await Promise.all(
      names
        .filter((name) => TEMP_NAME.test(name))
        .map(async (name) => {
          const file = this.#file(name);
          const info = await stat(file).catch(() => undefined);
          if (info !== undefined && now - info.mtimeMs >= STALE_TEMP_MS) await removeFile(file);
        }),
    );
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
      written += (await handle.write(data, written, Math.min(data.byteLength - written, IO_CHUNK), written)).bytesWritten;
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
      const { bytesRead } = await handle.read(bytes, filled, Math.min(size - filled, IO_CHUNK), filled);
      // Objects are never rewritten in place, so a short file means someone else truncated it.
      if (bytesRead === 0) throw new Error(`file shrank while being read (${filled} of ${size} bytes)`);
      filled += bytesRead;
    }
    return bytes;
  } finally {
    await handle.close();
  }
}

/** `readWhole` for `getSync`; readFileSync refuses files above 2 GiB. */
function readWholeSync(file: string): Uint8Array {
  const fd = openSync(file, 'r');
  try {
    const { size } = fstatSync(fd);
    const bytes = new Uint8Array(size);
    for (let filled = 0; filled < size; ) {
      const bytesRead = readSync(fd, bytes, filled, Math.min(size - filled, IO_CHUNK), filled);
      if (bytesRead === 0) throw new Error(`file shrank while being read (${filled} of ${size} bytes)`);
      filled += bytesRead;
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}

/**
 * mkdir -p, returning the outermost directory it created (as mkdirSync's
 * recursive mode does). Bounded by the path's depth: Node's recursive mode
 * loops for ever where mkdir keeps failing with ENOENT (e.g. under /proc).
 */
function makeDirectories(directory: string): string | undefined {
  const missing: string[] = [];
  for (let dir = directory; ; dir = path.dirname(dir)) {
    try {
      if (statSync(dir).isDirectory()) break;
      throw Object.assign(new Error(`'${dir}' exists and is not a directory`), { code: 'ENOTDIR' });
    } catch (cause) {
      if (!isMissing(cause)) throw cause;
    }
    missing.push(dir);
    if (path.dirname(dir) === dir) break;
  }
  for (const dir of missing.toReversed()) {
    try {
      mkdirSync(dir);
    } catch (cause) {
      // Another process made it meanwhile: just as good.
      if (errorCode(cause) !== 'EEXIST') throw cause;
    }
  }
  return missing.at(-1);
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
    options: FILE_OPTIONS,
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
