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
