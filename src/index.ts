/// <reference types="node" preserve="true" />
/**
 * ts-proxystore: pass-by-proxy for TypeScript.
 * Store/Connector/Serializer are separate layers; proxies resolve lazily and transparently.
 */
export type { Proxy, ProxyOr, ProxyBrand, Encoded, Unproxied, ProxiedPart, ProxiesOf, TypeArgumentRequired, TypedArray } from './types.js';
export type { OwnedProxy, RefProxy, RefMutProxy, ReadonlyView, OwnershipTag, OwnershipKind } from './ownership.js';

export {
  ProxyStoreError,
  ProxyResolveError,
  ProxyResolveMissingKeyError,
  NonProxiableTypeError,
  SerializationError,
  StoreExistsError,
  StoreNotFoundError,
  StoreClosedError,
  ConnectorError,
  ConfigError,
  DescriptorError,
  ProxyFutureError,
  ProxyFutureTimeoutError,
  describeKey,
} from '../runtime/errors.js';
export type * from '../runtime/connector.js';
export type { Factory, ProxyMetadata } from '../runtime/factory.js';
export { registerConnectorKind, connectorFromConfig } from '../runtime/connector-kinds.js';

export {
  proxy,
  isProxy,
  isResolved,
  resolve,
  resolveAsync,
  extract,
  getFactory,
  getKey,
  getMetadata,
  type ProxyOptions,
} from '../runtime/proxy.js';

export { serialize, serializeChecked, deserialize, type Allocate, type Serializer, type Deserializer, type TypedArrayClass } from '../runtime/serialize.js';
export { registerClass, unregisterClass } from '../runtime/class-registry.js';

export * from '../runtime/connectors/index.js';

export {
  Store,
  type StoreOptions,
  type StoreConfig,
  type ChecksumCoverage,
  type ProxyCreateOptions,
  type ProxyFromKeyOptions,
  type Proxiable,
  type PutOptions,
  type StoreStats,
} from '../runtime/store.js';
export type { MetricsSnapshot, OperationMetrics } from '../runtime/metrics.js';
export { ProxyFuture, type FutureOptions } from '../runtime/future.js';
export type { WaitPolicy } from '../runtime/future-wait.js';
export { registerStore, getStore, unregisterStore, getOrCreateStore, configureBuiltStores, builtStoreCache, BUILT_CACHE_BYTES_ENV, BUILT_CACHE_OBJECTS_ENV } from '../runtime/registry.js';
export { isStoreFactory, type StoreFactory, type ProxyDescriptor } from '../runtime/store-factory.js';
export { encodeProxies, encodeProxiesAsync, decodeProxies, proxyReviver, type DecodeOptions } from '../runtime/references.js';
export { configureReferences, SECRET_ENV, type ReferenceSigningOptions } from '../runtime/signing.js';
export { NestingTooDeepError } from '../runtime/walk.js';
export { resolveAll } from '../runtime/prefetch.js';
export {
  autoProxy,
  autoProxyEach,
  configureAutoProxy,
  flushPending,
  DEFAULT_AUTO_PROXY_THRESHOLD,
  type AutoProxyConfig,
} from '../runtime/auto-proxy.js';
export {
  ContextLifetime,
  LeaseLifetime,
  StaticLifetime,
  LifetimeClosedError,
  LifetimeEvictionError,
  type Lifetime,
  type ContextLifetimeOptions,
  type LeaseLifetimeOptions,
  type StaticLifetimeOptions,
  type EvictionFailure,
} from '../runtime/lifetimes.js';
export {
  borrow,
  mutBorrow,
  release,
  clone,
  intoOwned,
  update,
  dispose,
  endTaskBorrows,
  OwnershipError,
  BorrowError,
  InvalidReferenceError,
  type OwnedProxyOptions,
  type OwnershipDescriptor,
} from '../runtime/ownership.js';
export {
  StoreExecutor,
  type StoreExecutorOptions,
  type ShouldProxy,
  type StoreTaskResult,
} from '../runtime/executors/store-executor.js';
export {
  BaseExecutor,
  type Executor,
  type AnyTasks,
  type TaskTable,
  type TaskFunction,
  type TaskName,
  type TaskArgs,
  type TaskResult,
  type RunOptions,
  type ResultRequest,
  type TaskOutcome,
  type Launched,
} from '../runtime/executors/executor.js';
export { sizeAtLeast } from '../runtime/executors/size.js';
export * from '../runtime/executors/errors.js';
export { InvalidArgumentError, RedisUnreachableError, MissingDependencyError } from '../runtime/errors.js';
