export type { Proxy, ProxyOr, ProxyBrand } from './types.js';
export * from '../runtime/errors.js';
export type * from '../runtime/connector.js';
export type { Factory, ProxyMetadata } from '../runtime/factory.js';
export { registerConnectorKind, connectorFromConfig } from '../runtime/connector-kinds.js';
