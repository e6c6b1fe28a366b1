/** Built-ins that use their argument's identity, which for a proxy is the proxy object, not its target. */
import type { DeclarationSite } from './declaration-site.js';

const KEYED_COLLECTIONS = new Set(['Map', 'ReadonlyMap', 'WeakMap', 'Set', 'ReadonlySet', 'WeakSet']);
const KEY_METHODS = new Set(['get', 'set', 'has', 'delete', 'add']);

/** `map.get(key)`, `set.add(value)` and the like: the first argument is looked up by identity. */
export function isKeyedCollectionKey(site: DeclarationSite): boolean {
  return site.origin === 'lib' && KEYED_COLLECTIONS.has(site.owner ?? '') && KEY_METHODS.has(site.name);
}

/** `Object.is(a, b)`. */
export function isObjectIs(site: DeclarationSite): boolean {
  return site.origin === 'lib' && site.owner === 'ObjectConstructor' && site.name === 'is';
}
