/**
 * `ts-proxystore store <ls|stats|get|evict|clear> --config <json or file>`:
 * look into a store from a shell. The config is what `store.config()` gives
 * (or just a connector's `{ kind, options }`), so the store a program uses can
 * be inspected from outside it. It is the operator's own config, so it is
 * trusted as given (the descriptor policy is for configs from elsewhere).
 */
import { existsSync, readFileSync } from 'node:fs';
import { inspect, parseArgs } from 'node:util';
import type { ConnectorConfig, Key, ListedObject } from '../connectors/connector.js';
import { connectorFromConfig } from '../connectors/kinds.js';
// The built-in kinds register themselves on import (Redis and peer load on demand).
import '../connectors/index.js';
import { ConfigError, InvalidArgumentError, ProxyStoreError, describeKey, messageOf } from '../errors.js';
import { metadataOf } from '../proxy/proxy.js';
import { Store, type StoreConfig } from '../store/store.js';

export const STORE_USAGE = `usage: ts-proxystore store <command> --config <json | file> [options]

commands:
  ls               every object the store's connector holds: key, bytes, age
  stats            how many objects and bytes, by connector
  get <key>        one object's type, size and a short preview
  evict <key>      delete one object
  clear --yes      delete every object the connector holds under this config

options:
  --config <c>     a store config (what store.config() returns) or a connector
                   config ({ "kind": ..., "options": ... }), as JSON or a file
  --json           machine-readable output (ls, stats, get)
  --yes            confirm 'clear'

keys are given as printed by 'ls' (a plain string, or JSON for object keys).`;

interface Output {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

const standard: Output = { out: (line) => process.stdout.write(`${line}\n`), err: (line) => process.stderr.write(`${line}\n`) };

/** Runs one command; resolves to the exit code (0 done, 1 failed, 2 bad usage). */
export async function storeCommand(argv: readonly string[], io: Output = standard): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { config: { type: 'string' }, json: { type: 'boolean' }, yes: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    io.err(`${messageOf(error)}\n\n${STORE_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, keyText, ...rest] = positionals;
  if (values.help === true || command === undefined) {
    (values.help === true ? io.out : io.err)(STORE_USAGE);
    return values.help === true ? 0 : 2;
  }
  const needsKey = command === 'get' || command === 'evict';
  if (!['ls', 'stats', 'get', 'evict', 'clear'].includes(command) || rest.length > 0 || needsKey !== (keyText !== undefined)) {
    io.err(`ts-proxystore store: ${needsKey && keyText === undefined ? `'${command}' needs a key` : `unknown command or extra arguments: ${positionals.join(' ')}`}\n\n${STORE_USAGE}`);
    return 2;
  }
  if (values.config === undefined) {
    io.err(`ts-proxystore store: --config is required\n\n${STORE_USAGE}`);
    return 2;
  }
  if (command === 'clear' && values.yes !== true) {
    io.err("ts-proxystore store: 'clear' deletes every object under this config; add --yes to confirm");
    return 2;
  }

  let store: Store | undefined;
  try {
    store = openStore(readConfig(values.config));
    const json = values.json === true;
    switch (command) {
      case 'ls':
        await list(store, json, io);
        break;
      case 'stats':
        await stats(store, json, io);
        break;
      case 'get':
        await show(store, parseKey(keyText as string), json, io);
        break;
      case 'evict': {
        const key = parseKey(keyText as string);
        // A mistyped key is said, as `get` says it, rather than reported evicted.
        if (!(await store.exists(key))) throw new InvalidArgumentError('key', `no object under key ${describeKey(key)}`);
        await store.evict(key);
        io.out(`evicted ${keyText as string}`);
        break;
      }
      case 'clear':
        io.out(`cleared ${await clear(store)} objects`);
        break;
    }
    return 0;
  } catch (error) {
    io.err(`ts-proxystore store ${command}: ${error instanceof ProxyStoreError ? error.message : messageOf(error)}`);
    return 1;
  } finally {
    await store?.close().catch(() => undefined);
  }
}

function readConfig(text: string): unknown {
  const source = text.trimStart().startsWith('{') ? text : readFileSync(text, 'utf8');
  try {
    return JSON.parse(source);
  } catch (error) {
    throw new ConfigError(`--config is neither JSON nor a file of JSON: ${messageOf(error)}`);
  }
}

function openStore(config: unknown): Store {
  if (typeof config !== 'object' || config === null) throw new ConfigError('--config must be a JSON object');
  // A file connector makes its directory: looking into a mistyped one would make it, and report it empty.
  const connector = ('connector' in config ? config.connector : config) as Partial<ConnectorConfig> | null;
  const directory = connector?.kind === 'file' ? (connector.options as { directory?: unknown } | undefined)?.directory : undefined;
  if (typeof directory === 'string' && !existsSync(directory)) throw new ConfigError(`no directory ${directory}: the file store's directory must exist`);
  if ('connector' in config) return Store.fromConfig(config as StoreConfig, { trusted: true });
  if ('kind' in config) return new Store('inspected', connectorFromConfig(config as ConnectorConfig, { trusted: true }));
  throw new ConfigError("--config must be a store config (with 'connector') or a connector config (with 'kind')");
}

/** Keys print as plain strings when they are strings; others as JSON, which is also how they are read back. */
function keyText(key: Key): string {
  return typeof key === 'string' ? key : JSON.stringify(key);
}

function parseKey(text: string): Key {
  if (!/^[[{"]/.test(text)) return text;
  try {
    return JSON.parse(text) as Key;
  } catch {
    return text;
  }
}

async function list(store: Store, json: boolean, io: Output): Promise<void> {
  const now = Date.now();
  const rows: ListedObject[] = [];
  for await (const listed of store.list()) rows.push(listed);
  if (json) {
    io.out(JSON.stringify(rows));
    return;
  }
  io.out(['bytes'.padStart(14), 'age'.padStart(10), ' key'].join(''));
  for (const row of rows) {
    const age = row.modifiedMs === undefined ? '-' : formatAge(now - row.modifiedMs);
    io.out([String(row.bytes).padStart(14), age.padStart(10), ` ${keyText(row.key)}`].join(''));
  }
  io.out(`${rows.length} objects, ${rows.reduce((sum, row) => sum + row.bytes, 0)} bytes`);
}

async function stats(store: Store, json: boolean, io: Output): Promise<void> {
  let objects = 0;
  let bytes = 0;
  let largest = 0;
  let oldestMs: number | undefined;
  for await (const listed of store.list()) {
    objects += 1;
    bytes += listed.bytes;
    largest = Math.max(largest, listed.bytes);
    if (listed.modifiedMs !== undefined) oldestMs = Math.min(oldestMs ?? Infinity, listed.modifiedMs);
  }
  const figures = { store: store.name, connector: store.connector.kind, objects, bytes, largest, ...(oldestMs === undefined ? {} : { oldestAgeMs: Date.now() - oldestMs }) };
  if (json) io.out(JSON.stringify(figures));
  else {
    io.out(`store ${store.name} (${store.connector.kind} connector)`);
    io.out(`objects  ${objects}`);
    io.out(`bytes    ${bytes}`);
    io.out(`largest  ${largest}`);
    if (figures.oldestAgeMs !== undefined) io.out(`oldest   ${formatAge(figures.oldestAgeMs)}`);
  }
}

async function show(store: Store, key: Key, json: boolean, io: Output): Promise<void> {
  const bytes = await store.connector.get(key);
  if (bytes === undefined) throw new InvalidArgumentError('key', `no object under key ${describeKey(key)}`);
  const value = store.deserialize(bytes, key);
  const type = typeof value === 'object' && value !== null ? (metadataOf(value).typeName ?? 'Object') : typeof value;
  if (json) {
    io.out(JSON.stringify({ key, type, bytes: bytes.byteLength }));
    return;
  }
  io.out(`key    ${keyText(key)}`);
  io.out(`type   ${type}`);
  io.out(`bytes  ${bytes.byteLength}`);
  io.out(inspect(value, { depth: 2, maxArrayLength: 10, maxStringLength: 200, breakLength: 100 }));
}

async function clear(store: Store): Promise<number> {
  const keys: Key[] = [];
  for await (const listed of store.list()) keys.push(listed.key);
  for (const key of keys) await store.evict(key);
  return keys.length;
}

function formatAge(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${(s / 60).toFixed(0)}m`;
  if (s < 86_400) return `${(s / 3600).toFixed(1)}h`;
  return `${(s / 86_400).toFixed(1)}d`;
}
