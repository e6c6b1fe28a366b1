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
  StoreClosedError,
  ConnectorError,
  ConfigError,
  DescriptorError,
  ProxyFutureError,
  ProxyFutureTimeoutError,
  ProxyFutureSetError,
  InternalError,
  ERROR_CODES,
  type ErrorCode,
} from '../runtime/errors.js';
export type * from '../runtime/connectors/connector.js';
export type { Factory, ProxyMetadata } from '../runtime/proxy/factory.js';
export { registerConnectorKind } from '../runtime/connectors/kinds.js';

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
} from '../runtime/proxy/proxy.js';

export { serialize, serializeChecked, serializeStructureChecked, deserialize, type Allocate, type Serializer, type Deserializer, type TypedArrayClass } from '../runtime/serialize/serializer.js';
export { registerClass, unregisterClass } from '../runtime/support/class-registry.js';

export {
  MemoryConnector,
  FileConnector,
  SharedMemoryConnector,
  MultiConnector,
  MultiConnectorError,
  type MemoryConnectorOptions,
  type FileConnectorOptions,
  type SharedMemoryConnectorOptions,
  type MultiPolicy,
  type MultiConnectorEntry,
  type MultiConnectorOptions,
  type MultiBuildOptions,
} from '../runtime/connectors/index.js';

export {
  Store,
  getStore,
  getOrCreateStore,
  type StoreHandle,
  type StoreOptions,
  type StoreConfig,
  type ChecksumCoverage,
  type ProxyCreateOptions,
  type ProxyFromKeyOptions,
  type Proxiable,
  type PutOptions,
  type StoreStats,
} from '../runtime/store/store.js';
export type { MetricsSnapshot, OperationMetrics } from '../runtime/store/metrics.js';
export { ProxyFuture, type FutureOptions } from '../runtime/store/future.js';
export type { WaitPolicy } from '../runtime/store/future-wait.js';
export { registerStore, unregisterStore, configureBuiltStores, builtStoreCache, BUILT_CACHE_BYTES_ENV, BUILT_CACHE_OBJECTS_ENV } from '../runtime/store/registry.js';
export type { StoreFactory, ProxyDescriptor } from '../runtime/store/factory.js';
export { encodeProxies, encodeProxiesAsync, decodeProxies, proxyReviver, type DecodeOptions } from '../runtime/store/references.js';
export { configureReferences, SECRET_ENV, type ReferenceSigningOptions } from '../runtime/store/signing.js';
export { NestingTooDeepError } from '../runtime/proxy/walk.js';
export { resolveAll } from '../runtime/proxy/prefetch.js';
export {
  autoProxy,
  autoProxyEach,
  configureAutoProxy,
  flushPending,
  DEFAULT_AUTO_PROXY_THRESHOLD,
  type AutoProxyConfig,
} from '../runtime/store/auto-proxy.js';
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
} from '../runtime/store/lifetimes.js';
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
} from '../runtime/store/ownership.js';
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
  type StoredArgs,
  type ExecutorFlags,
  type TaskOutcome,
  type Launched,
} from '../runtime/executors/executor.js';
export { sizeAtLeast } from '../runtime/store/size.js';
export * from '../runtime/executors/errors.js';
export { InvalidArgumentError, RedisUnreachableError, MissingDependencyError } from '../runtime/errors.js';
