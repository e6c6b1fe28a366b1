import type { Key } from './connectors/connector.js';

/** The message of an Error, or the thrown value as text. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A key as a string that identifies it, for maps keyed by connector keys
 * (which may be JSON objects). Object members are taken in sorted order: an
 * equal key whose members came back in another order (a JSON column, another
 * process) has the same id.
 */
export function keyId(key: Key): string {
  return typeof key === 'string' ? key : JSON.stringify(key, membersInOrder);
}

function membersInOrder(_name: string, value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const names = Object.keys(value).sort();
  const ordered: Record<string, unknown> = {};
  for (const name of names) Object.defineProperty(ordered, name, { value: (value as Record<string, unknown>)[name], enumerable: true });
  return ordered;
}

/** A key as text for messages; never throws, whatever the caller passed as a key. */
export function describeKey(key: unknown): string {
  try {
    return JSON.stringify(key) ?? String(key);
  } catch {
    return String(key);
  }
}

/**
 * The stable code of every error class this package throws, by class name; docs/errors.md
 * says when each is raised and what to do. A code is 'PS_' and the failure in upper
 * snake case. Like TypeScript's TS numbers, a code keeps its meaning for good and is
 * never reused, while class names and messages may be reworded: logs, alerts and
 * callers on the far side of a worker or job queue (where `instanceof` cannot reach)
 * match on it. Classes live in their layers; only their codes are listed here.
 */
export const ERROR_CODES = {
  ProxyStoreError: 'PS_ERROR',
  InternalError: 'PS_INTERNAL',
  InvalidArgumentError: 'PS_INVALID_ARGUMENT',
  ConfigError: 'PS_CONFIG',
  MissingDependencyError: 'PS_MISSING_DEPENDENCY',
  NonProxiableTypeError: 'PS_NON_PROXIABLE',
  NestingTooDeepError: 'PS_NESTING_TOO_DEEP',
  ProxyResolveError: 'PS_RESOLVE_FAILED',
  ProxyResolveMissingKeyError: 'PS_KEY_MISSING',
  SerializationError: 'PS_SERIALIZATION',
  DescriptorError: 'PS_DESCRIPTOR',
  ConnectorError: 'PS_CONNECTOR',
  RedisUnreachableError: 'PS_REDIS_UNREACHABLE',
  MultiConnectorError: 'PS_MULTI_CONNECTOR',
  StoreExistsError: 'PS_STORE_EXISTS',
  StoreClosedError: 'PS_STORE_CLOSED',
  OwnershipError: 'PS_OWNERSHIP',
  BorrowError: 'PS_BORROW',
  InvalidReferenceError: 'PS_INVALID_REFERENCE',
  LifetimeClosedError: 'PS_LIFETIME_CLOSED',
  LifetimeEvictionError: 'PS_LIFETIME_EVICTION',
  ProxyFutureTimeoutError: 'PS_FUTURE_TIMEOUT',
  ProxyFutureError: 'PS_FUTURE_FAILED',
  ProxyFutureSetError: 'PS_FUTURE_ALREADY_SET',
  TaskError: 'PS_TASK_FAILED',
  TaskTimeoutError: 'PS_TASK_TIMEOUT',
  WorkerCrashedError: 'PS_WORKER_CRASHED',
  NoWorkerError: 'PS_NO_WORKER',
  JobLostError: 'PS_JOB_LOST',
  ExecutorShutDownError: 'PS_EXECUTOR_SHUT_DOWN',
  StreamClosedError: 'PS_STREAM_CLOSED',
  StreamStalledError: 'PS_STREAM_STALLED',
  CliError: 'PS_CLI',
} as const;

/** One of the codes in ERROR_CODES: what `error.code` of a ProxyStoreError holds. */
export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/**
 * Every error this package throws on purpose extends ProxyStoreError, so callers
 * can tell our failures from their own with one `instanceof` check, and tell
 * one failure from another by `code`.
 */
export class ProxyStoreError extends Error {
  /** The code of this class's errors; each subclass declares its own. */
  static readonly code: ErrorCode = ERROR_CODES.ProxyStoreError;
  override name = 'ProxyStoreError';
  /** The stable code of the error's class (see ERROR_CODES), an own property so it shows in logs and inspect output. */
  readonly code: ErrorCode;

  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    // From the class actually constructed, so a subclass needs no constructor to get its code.
    this.code = new.target.code;
  }
}

/** A broken invariant of this package, not a wrong call: please report it with the message. */
export class InternalError extends ProxyStoreError {
  static override readonly code: ErrorCode = ERROR_CODES.InternalError;
  override name = 'InternalError';
}

/** Raised by a proxy (or resolve/resolveAsync) when its factory failed; the factory's error is `cause`. */
export class ProxyResolveError extends ProxyStoreError {
  static override readonly code: ErrorCode = ERROR_CODES.ProxyResolveError;
  override name = 'ProxyResolveError';
}

/** The cause of a ProxyResolveError when the store no longer holds the key. */
export class ProxyResolveMissingKeyError extends ProxyStoreError {
  static override readonly code: ErrorCode = ERROR_CODES.ProxyResolveMissingKeyError;
  override name = 'ProxyResolveMissingKeyError';
  constructor(
    readonly key: unknown,
    readonly storeName: string,
  ) {
    super(`key ${describeKey(key)} is missing from store '${storeName}'`);
  }
}

/** ES Proxies can only wrap objects and functions. */
export class NonProxiableTypeError extends ProxyStoreError {
  static override readonly code: ErrorCode = ERROR_CODES.NonProxiableTypeError;
  override name = 'NonProxiableTypeError';
  constructor(readonly valueType: string) {
    super(`a value of type ${valueType} cannot be proxied: only objects and functions can (pass skipNonProxiable to get it back as it is)`);
  }
}

/** Bytes that are not a valid encoding, or a value the serializer cannot encode. */
export class SerializationError extends ProxyStoreError {
  static override readonly code: ErrorCode = ERROR_CODES.SerializationError;
  override name = 'SerializationError';
}

export class StoreExistsError extends ProxyStoreError {
  static override readonly code: ErrorCode = ERROR_CODES.StoreExistsError;
  override name = 'StoreExistsError';
  constructor(readonly storeName: string) {
    super(`a store named '${storeName}' is already registered: unregister it first, or pass { allowExisting: true } to registerStore to replace it`);
  }
}

export class StoreClosedError extends ProxyStoreError {
  static override readonly code: ErrorCode = ERROR_CODES.StoreClosedError;
  override name = 'StoreClosedError';
  constructor(readonly storeName: string, readonly operation: string) {
    super(`store '${storeName}' is closed (attempted ${operation})`);
  }
}

/** A connector operation failed; names the connector, the operation and the key when there is one. */
export class ConnectorError extends ProxyStoreError {
  static override readonly code: ErrorCode = ERROR_CODES.ConnectorError;
  override name = 'ConnectorError';
  constructor(
    readonly connector: string,
    readonly operation: string,
    /** What went wrong, without the connector, operation and key the message adds. */
    readonly reason: string,
    options?: { cause?: unknown; key?: unknown },
  ) {
    super(
      `${connector}: ${operation}${options?.key === undefined ? '' : ` of key ${describeKey(options.key)}`} failed: ${reason}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.key = options?.key;
  }
  readonly key: unknown;
}

/** Options that a connector, store or descriptor was given but cannot accept. */
export class ConfigError extends ProxyStoreError {
  static override readonly code: ErrorCode = ERROR_CODES.ConfigError;
  override name = 'ConfigError';
}

/** A reference descriptor that is malformed or that the receiver's policy does not allow. */
export class DescriptorError extends ProxyStoreError {
  static override readonly code: ErrorCode = ERROR_CODES.DescriptorError;
  override name = 'DescriptorError';
}

/**
 * Runs `build` on `what` from elsewhere (a descriptor, job data): options it
 * cannot accept are the sender's doing, a DescriptorError, not a ConfigError
 * (whose advice, "fix the options", is for the receiver's own code).
 */
export function buildFromElsewhere<T>(what: string, build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (error instanceof ConfigError) throw new DescriptorError(`${what} from elsewhere refused: ${error.message}`, { cause: error });
    throw error;
  }
}

/** A future's value was not set within its timeout: whoever should set it has not (yet), or failed without saying. */
export class ProxyFutureTimeoutError extends ProxyStoreError {
  static override readonly code: ErrorCode = ERROR_CODES.ProxyFutureTimeoutError;
  override name = 'ProxyFutureTimeoutError';
  constructor(
    readonly key: unknown,
    readonly storeName: string,
    readonly timeoutMs: number,
    hint = '',
  ) {
    super(`future ${describeKey(key)} of store '${storeName}' was not set within ${timeoutMs} ms${hint}`);
  }
}

/** The producer of a future failed and said so with `setError`: its error's name and message come along. */
export class ProxyFutureError extends ProxyStoreError {
  static override readonly code: ErrorCode = ERROR_CODES.ProxyFutureError;
  override name = 'ProxyFutureError';
  constructor(
    readonly key: unknown,
    readonly remoteName: string,
    readonly remoteMessage: string,
  ) {
    super(`future ${describeKey(key)} failed in its producer: ${remoteName}: ${remoteMessage}`);
  }
}

/** `set` or `setError` called on a future that already has its value (or error): a future is written once. */
export class ProxyFutureSetError extends ProxyStoreError {
  static override readonly code: ErrorCode = ERROR_CODES.ProxyFutureSetError;
  override name = 'ProxyFutureSetError';
  constructor(
    readonly key: unknown,
    readonly storeName: string,
    operation: string,
  ) {
    super(`future ${describeKey(key)} of store '${storeName}' is already set: ${operation} can be called once`);
  }
}

/** A call got an argument it cannot use (wrong type, out of range); `argument` names it. */
export class InvalidArgumentError extends ProxyStoreError {
  static override readonly code: ErrorCode = ERROR_CODES.InvalidArgumentError;
  override name = 'InvalidArgumentError';
  constructor(
    readonly argument: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The Redis server a connector or executor talks to cannot be reached (refused,
 * down, or not answering); raised once the connection's own bounds ran out.
 */
export class RedisUnreachableError extends ConnectorError {
  static override readonly code: ErrorCode = ERROR_CODES.RedisUnreachableError;
  override name = 'RedisUnreachableError';
  constructor(
    /** 'host:port', as the message gives it. */
    readonly address: string,
    operation: string,
    /** Why, as the connection said it (the message wraps it in advice). */
    readonly detail: string,
    options?: { cause?: unknown; key?: unknown },
  ) {
    super(`redis ${address}`, operation, `Redis at ${address} unreachable (${detail}): check that redis-server runs there and this host can reach it`, options);
  }
}

/** An optional dependency a module needs is not installed; `dependency` names the npm package to add. */
export class MissingDependencyError extends ProxyStoreError {
  static override readonly code: ErrorCode = ERROR_CODES.MissingDependencyError;
  override name = 'MissingDependencyError';
  constructor(
    readonly dependency: string,
    entry: string,
    options?: { cause?: unknown },
  ) {
    super(`${entry} needs the package '${dependency}', which is not installed: npm install ${dependency}`, options);
  }
}
