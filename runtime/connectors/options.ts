/** Checks shared by connector constructors. */
import { ConfigError } from '../errors.js';

/**
 * Refuses options a connector does not know. A misspelt option (`directroy`,
 * `commandTimeout`) would otherwise be dropped without a word and its default
 * used, which shows up much later as data in the wrong place or a wrong bound.
 */
export function rejectUnknownOptions(connector: string, options: object | undefined, known: readonly string[]): void {
  if (options === undefined || options === null) return;
  const unknown = Object.keys(options).filter((option) => !known.includes(option));
  if (unknown.length === 0) return;
  const names = unknown.map((option) => `'${option}'`).join(', ');
  throw new ConfigError(`${connector} connector: unknown option${unknown.length > 1 ? 's' : ''} ${names} (known: ${known.join(', ')})`);
}
