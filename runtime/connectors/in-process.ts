/** Pieces shared by the connectors whose objects live in this process (memory, shared memory). */
import { ConfigError } from '../errors.js';

/** Runs synchronous work behind the async interface so that its errors become rejections, as callers expect. */
export function settle<T>(work: () => T): Promise<T> {
  return new Promise((resolve) => resolve(work()));
}

/** The `space` option: connectors naming the same space share objects. */
export function spaceOption(space: unknown, connector: string): string | undefined {
  if (space === undefined) return undefined;
  if (typeof space === 'string' && space !== '') return space;
  throw new ConfigError(`${connector} connector: option 'space' must be a non-empty string, got ${JSON.stringify(space)}`);
}
