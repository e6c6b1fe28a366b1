import type { Key } from './connectors/connector.js';

/** A key as text for messages; never throws, whatever the caller passed as a key. */
/** The message of an Error, or the thrown value as text. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A key as a string that identifies it, for maps keyed by connector keys (which may be JSON objects). */
export function keyId(key: Key): string {
  return typeof key === 'string' ? key : JSON.stringify(key);
}

export function describeKey(key: unknown): string {
  try {
    return JSON.stringify(key) ?? String(key);
  } catch {
    return String(key);
  }
}

/**
 * Every error this package throws on purpose extends ProxyStoreError, so callers
 * can tell our failures from their own with one `instanceof` check.
 */
export class ProxyStoreError extends Error {
  override name = 'ProxyStoreError';
}

/** Raised by a proxy (or resolve/resolveAsync) when its factory failed; the factory's error is `cause`. */
export class ProxyResolveError extends ProxyStoreError {
  override name = 'ProxyResolveError';
}

/** The cause of a ProxyResolveError when the store no longer holds the key. */
export class ProxyResolveMissingKeyError extends ProxyStoreError {
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
  override name = 'NonProxiableTypeError';
  constructor(readonly valueType: string) {
    super(`a value of type ${valueType} cannot be proxied: only objects and functions can (pass skipNonProxiable to get it back as it is)`);
  }
}

/** Bytes that are not a valid encoding, or a value the serializer cannot encode. */
export class SerializationError extends ProxyStoreError {
  override name = 'SerializationError';
}

export class StoreExistsError extends ProxyStoreError {
  override name = 'StoreExistsError';
  constructor(readonly storeName: string) {
    super(`a store named '${storeName}' is already registered (pass { exist_ok: true } / allowExisting to reuse it)`);
  }
}

export class StoreNotFoundError extends ProxyStoreError {
  override name = 'StoreNotFoundError';
  constructor(readonly storeName: string) {
    super(`no store named '${storeName}' is registered`);
  }
}

export class StoreClosedError extends ProxyStoreError {
  override name = 'StoreClosedError';
  constructor(readonly storeName: string, readonly operation: string) {
    super(`store '${storeName}' is closed (attempted ${operation})`);
  }
}

/** A connector operation failed; names the connector, the operation and the key when there is one. */
export class ConnectorError extends ProxyStoreError {
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
  override name = 'ConfigError';
}

/** A reference descriptor that is malformed or that the receiver's policy does not allow. */
export class DescriptorError extends ProxyStoreError {
  override name = 'DescriptorError';
}

/** A future's value was not set within its timeout: whoever should set it has not (yet), or failed without saying. */
export class ProxyFutureTimeoutError extends ProxyStoreError {
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
  override name = 'ProxyFutureError';
  constructor(
    readonly key: unknown,
    readonly remoteName: string,
    readonly remoteMessage: string,
  ) {
    super(`future ${describeKey(key)} failed in its producer: ${remoteName}: ${remoteMessage}`);
  }
}

/** A call got an argument it cannot use (wrong type, out of range); `argument` names it. */
export class InvalidArgumentError extends ProxyStoreError {
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
  override name = 'RedisUnreachableError';
  constructor(
    /** 'host:port', as the message gives it. */
    readonly address: string,
    operation: string,
    reason: string,
    options?: { cause?: unknown; key?: unknown },
  ) {
    super(`redis ${address}`, operation, `Redis at ${address} unreachable (${reason}): check that redis-server runs there and this host can reach it`, options);
  }
}

/** An optional dependency a module needs is not installed; `dependency` names the npm package to add. */
export class MissingDependencyError extends ProxyStoreError {
  override name = 'MissingDependencyError';
  constructor(
    readonly dependency: string,
    entry: string,
    options?: { cause?: unknown },
  ) {
    super(`${entry} needs the package '${dependency}', which is not installed: npm install ${dependency}`, options);
  }
}
