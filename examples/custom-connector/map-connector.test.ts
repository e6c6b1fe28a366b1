// The conformance suite the built-in connectors pass, run against MapConnector (under vitest).
import { describeConnector } from 'ts-proxystore/testing';
import { MapConnector } from './map-connector.js';

describeConnector('example-map', {
  make: () => Promise.resolve(new MapConnector()), // a fresh space each time: connectors made apart share nothing
  sync: true, // it offers getSync
  sharedThroughConfig: true, // a copy rebuilt from config() in this process reaches the same objects
});
