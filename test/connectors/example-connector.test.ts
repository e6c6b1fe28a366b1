/**
 * The connector that docs/connectors/writing-a-connector.md walks through
 * (examples/custom-connector) passes the conformance suite the built-in
 * connectors pass, as the page says it does.
 */
import { vi } from 'vitest';
import { MapConnector } from '../../examples/custom-connector/map-connector.js';
import { describeConnector } from './conformance.js';

// The example imports the package by its name, which Node resolves to the build; the suite checks
// against the sources (their kind registry, their error classes), so the name is pointed at them.
vi.mock('ts-proxystore', () => import('../../src/index.js'));

describeConnector('example-map', { make: () => Promise.resolve(new MapConnector()), sync: true, sharedThroughConfig: true });
