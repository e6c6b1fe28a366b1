/**
 * The third-party connector that docs/connectors/writing-a-connector.md walks
 * through passes the conformance suite the built-in connectors pass: this runs
 * the example's own test file (examples/custom-connector), as the page shows it.
 */
import { vi } from 'vitest';

// The example imports the package by its name, which Node resolves to the build; the suite checks
// against the sources (their kind registry, their error classes), so the name is pointed at them.
vi.mock('ts-proxystore', () => import('../../src/index.js'));

await import('../../examples/custom-connector/map-connector.test.js');
