/**
 * `ts-proxystore/connectors`: the built-in connectors, and what a connector
 * author needs: the Connector interface and its capabilities, registering a
 * kind so configs naming it can be rebuilt, and rebuilding one from a config.
 * The conformance suite that proves a connector is in `ts-proxystore/testing`.
 */
// Importing a connector's module registers its kind, so configs naming it can be rebuilt.
export { MemoryConnector, type MemoryConnectorOptions } from './memory.js';
export { FileConnector, type FileConnectorOptions } from './file.js';
export { SharedMemoryConnector, type SharedMemoryConnectorOptions } from './shared-memory/connector.js';
export {
  MultiConnector,
  MultiConnectorError,
  type MultiPolicy,
  type MultiConnectorEntry,
  type MultiConnectorOptions,
  type MultiBuildOptions,
} from './multi.js';
export type * from './connector.js';
export { isTagged } from './connector.js';
export { registerConnectorKind, connectorFromConfig } from './kinds.js';
export { rejectUnknownOptions } from './options.js';
export { ConnectorError, ConfigError, DescriptorError } from '../errors.js';
