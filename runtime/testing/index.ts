/**
 * `ts-proxystore/testing`: what a third-party connector or serializer needs
 * to prove itself as the built-in ones do: the conformance suites every
 * built-in runs, and a real `redis-server` on a free loopback port for
 * connectors that need one. The suites run on vitest (and the serializer
 * suite on fast-check): add them to your dev dependencies.
 */
export { describeConnector, payload, expectBytes, type ConnectorSetup } from './connector-conformance.js';
export { describeSerializer, expectSafeDecode, expectSafeMutations, type SerializerPair, type SerializerSuiteOptions } from './serializer-conformance.js';
export { startRedisServer, freePort, type RedisServer, type RedisServerOptions } from './redis-server.js';
export { tempDirs, type TempDirs } from './temp-dirs.js';
