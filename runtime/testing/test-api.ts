/**
 * vitest, for the conformance suites, loaded when this entry loads if it is
 * installed. The Redis launcher and temp dirs of `ts-proxystore/testing` work
 * without it; a suite used without it throws a MissingDependencyError that
 * names the package, not a bare ERR_MODULE_NOT_FOUND while the entry links.
 */
import type * as Vitest from 'vitest';
import { MissingDependencyError } from '../errors.js';
import { importOptional } from '../support/optional-dependency.js';

const vitest = await importOptional<typeof Vitest>('vitest');

/** vitest's test API, for `user`, the function of this entry that needs it. */
export function testApi(user: string): typeof Vitest {
  return vitest ?? missingForTesting('vitest', user);
}

/** The error for a test library `user` (a function of this entry) needs and that is not installed. */
export function missingForTesting(dependency: string, user: string): never {
  throw new MissingDependencyError(dependency, `ts-proxystore/testing (${user})`);
}
