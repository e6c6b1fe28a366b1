/**
 * Error codes: every error class of the package has its own stable code from
 * the one table (ERROR_CODES), docs/errors.md lists each, and the failures that
 * used to be raw TypeErrors, RangeErrors or bare ProxyStoreErrors now come as
 * a typed subclass with its code.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as entry from '../src/index.js';
import {
  ConfigError,
  ConnectorError,
  ERROR_CODES,
  ExecutorShutDownError,
  InvalidArgumentError,
  MemoryConnector,
  ProxyFutureSetError,
  ProxyStoreError,
  RedisUnreachableError,
  Store,
  StoreExistsError,
  getKey,
  registerStore,
  unregisterStore,
  type ErrorCode,
} from '../src/index.js';
import * as streamEntry from '../runtime/stream/index.js';
import { QueueBroker, StreamClosedError, StreamProducer } from '../runtime/stream/index.js';
import { PiscinaExecutor } from '../runtime/executors/piscina.js';
import { rejection, thrown } from '../runtime/testing/outcomes.js';
import { taskPool } from './executors/helpers.js';

const ROOT = path.join(import.meta.dirname, '..');
/** Where the package's own code lives; runtime/testing holds test support, whose failures are test failures. */
const PRODUCT_DIRS = ['runtime', 'src', 'cli', 'transformer', 'eslint-plugin'];

function productFiles(): string[] {
  return PRODUCT_DIRS.flatMap((dir) =>
    readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
      .map((file) => path.join(dir, file))
      .filter((file) => !file.startsWith(path.join('runtime', 'testing'))),
  );
}

type ErrorClass = typeof ProxyStoreError;

/** Every error class declared in the product sources, loaded from its module. */
async function declaredErrorClasses(): Promise<Map<string, ErrorClass>> {
  const classes = new Map<string, ErrorClass>();
  for (const file of productFiles()) {
    const source = readFileSync(path.join(ROOT, file), 'utf8');
    const names = [...source.matchAll(/^(export )?class (\w+) extends (\w*Error)\b/gm)];
    if (names.length === 0) continue;
    const module = (await import(pathToFileURL(path.join(ROOT, file)).href)) as Record<string, unknown>;
    for (const [, exported, name] of names) {
      expect(exported, `${name} in ${file} is exported, so callers can catch it by class`).toBe('export ');
      classes.set(name as string, module[name as string] as ErrorClass);
    }
  }
  return classes;
}

const classes = await declaredErrorClasses();

describe('error codes', () => {
  it('finds the error classes of every layer', () => {
    for (const name of ['ProxyStoreError', 'ConnectorError', 'MultiConnectorError', 'BorrowError', 'TaskError', 'StreamClosedError', 'CliError']) {
      expect(classes.has(name), name).toBe(true);
    }
  });

  it('gives every error class its own code from ERROR_CODES, and ERROR_CODES no stale entry', () => {
    for (const [name, cls] of classes) {
      expect(cls === ProxyStoreError || cls.prototype instanceof ProxyStoreError, `${name} extends ProxyStoreError`).toBe(true);
      expect(Object.hasOwn(cls, 'code'), `${name} declares its own static code`).toBe(true);
      expect(cls.code, name).toBe(ERROR_CODES[name as keyof typeof ERROR_CODES]);
    }
    expect(Object.keys(ERROR_CODES).sort()).toEqual([...classes.keys()].sort());
    const codes = Object.values(ERROR_CODES);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code).toMatch(/^PS_[A-Z]+(_[A-Z]+)*$/);
  });

  it('lists each code with its class in docs/errors.md', () => {
    const page = readFileSync(path.join(ROOT, 'docs', 'errors.md'), 'utf8');
    const rows = [...page.matchAll(/^\| `(PS_\w+)` \| `(\w+)` \| [^|]+ \| [^|]+ \|$/gm)].map(([, code, name]) => [name, code]);
    expect(Object.fromEntries(rows)).toEqual(ERROR_CODES);
    expect(rows).toHaveLength(Object.keys(ERROR_CODES).length);
  });

  it('exports every class where docs/errors.md says: the main entry, streams from ts-proxystore/stream, CliError nowhere', () => {
    for (const [name, cls] of classes) {
      if (name === 'CliError') continue;
      const from = name.startsWith('Stream') ? (streamEntry as Record<string, unknown>) : (entry as Record<string, unknown>);
      expect(from[name], name).toBe(cls);
    }
  });

  it('sets the code of the class constructed as an own property, subclasses of subclasses included', () => {
    const unreachable = new RedisUnreachableError('127.0.0.1:1', 'get', 'refused');
    expect(unreachable).toBeInstanceOf(ConnectorError);
    expect(unreachable.code).toBe('PS_REDIS_UNREACHABLE');
    expect(Object.hasOwn(unreachable, 'code')).toBe(true);
    expect(new ProxyStoreError('base').code).toBe('PS_ERROR');
    expect(new ConfigError('bad').code).toBe('PS_CONFIG');
    // A user's subclass without a code of its own reports its parent's.
    class MyConnectorError extends ConnectorError {}
    expect(new MyConnectorError('mine', 'get', 'broke').code).toBe('PS_CONNECTOR');
    const code: ErrorCode = unreachable.code;
    expect(JSON.parse(JSON.stringify({ code }))).toEqual({ code: 'PS_REDIS_UNREACHABLE' });
  });

  it('leaves no raw TypeError, RangeError or bare ProxyStoreError throw in the product sources', () => {
    const raw = productFiles().flatMap((file) =>
      readFileSync(path.join(ROOT, file), 'utf8')
        .split('\n')
        .flatMap((line, i) => (/\bnew (TypeError|RangeError|ProxyStoreError)\(/.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(raw).toEqual([]);
  });
});

describe('failures that were untyped', () => {
  it('a value that is not a proxy, and a bad allocate length, are InvalidArgumentErrors', async () => {
    const notProxy = thrown(() => getKey({}));
    expect(notProxy).toBeInstanceOf(InvalidArgumentError);
    expect(notProxy).toMatchObject({ code: 'PS_INVALID_ARGUMENT', argument: 'p', message: 'getKey() expects a proxy made by proxy(), got a value of type object that is not one' });
    const store = new Store(`errors-${crypto.randomUUID()}`, new MemoryConnector());
    try {
      expect(thrown(() => store.allocate(Float64Array, -1))).toMatchObject({ code: 'PS_INVALID_ARGUMENT', argument: 'length' });
    } finally {
      await store.close();
    }
  });

  it('a future set twice is a ProxyFutureSetError', async () => {
    const store = new Store(`errors-${crypto.randomUUID()}`, new MemoryConnector());
    try {
      const future = store.future<{ v: number }>();
      await future.setResult({ v: 1 });
      const error = await rejection(future.setError(new Error('late')));
      expect(error).toBeInstanceOf(ProxyFutureSetError);
      expect(error).toMatchObject({ code: 'PS_FUTURE_ALREADY_SET', key: future.key, storeName: store.name });
      expect((error as Error).message).toMatch(/is already set: setError can be called once$/);
    } finally {
      await store.close({ clear: true });
    }
  });

  it('a send after close is a StreamClosedError', async () => {
    const store = new Store(`errors-${crypto.randomUUID()}`, new MemoryConnector());
    const broker = new QueueBroker();
    try {
      const producer = new StreamProducer<{ frames: { n: number } }>(broker.publisher(), { stores: store });
      await producer.close();
      const error = await rejection(producer.send('frames', { n: 1 }));
      expect(error).toBeInstanceOf(StreamClosedError);
      expect(error).toMatchObject({ code: 'PS_STREAM_CLOSED', message: "StreamProducer: closed, cannot send to topic 'frames'" });
    } finally {
      await store.close({ clear: true });
    }
  });

  it('a task started after shutdown is an ExecutorShutDownError', async () => {
    const pool = taskPool('executor-tasks.mjs', 1);
    try {
      const executor = new PiscinaExecutor(pool);
      await executor.shutdown();
      const error = thrown(() => executor.launch('echo', [1]));
      expect(error).toBeInstanceOf(ExecutorShutDownError);
      expect(error).toMatchObject({ code: 'PS_EXECUTOR_SHUT_DOWN', message: "executor is shut down: cannot start task 'echo'" });
    } finally {
      await pool.close();
    }
  });

  it('a name registered twice is a StoreExistsError that names the option of this package, not a Python one', async () => {
    const name = `errors-${crypto.randomUUID()}`;
    const first = new Store(name, new MemoryConnector(), { register: true });
    const second = new Store(name, new MemoryConnector());
    try {
      const error = thrown(() => registerStore(second));
      expect(error).toBeInstanceOf(StoreExistsError);
      expect(error).toMatchObject({ code: 'PS_STORE_EXISTS', message: `a store named '${name}' is already registered: unregister it first, or pass { allowExisting: true } to registerStore to replace it` });
    } finally {
      unregisterStore(name);
      await first.close();
      await second.close();
    }
  });
});
