/** Built-ins that use their argument's identity, which for a proxy is the proxy object, not its target. */
import type { DeclarationSite } from './declaration-site.js';

const KEYED_COLLECTIONS = new Set(['Map', 'ReadonlyMap', 'WeakMap', 'Set', 'ReadonlySet', 'WeakSet']);
const KEY_METHODS = new Set(['get', 'set', 'has', 'delete', 'add']);

/** A method of a keyed collection that looks its first argument up by identity, by owner interface and method name. */
export function isKeyMethod(owner: string | undefined, name: string): boolean {
  return KEYED_COLLECTIONS.has(owner ?? '') && KEY_METHODS.has(name);
}

/** `map.get(key)`, `set.add(value)` and the like: the first argument is looked up by identity. */
export function isKeyedCollectionKey(site: DeclarationSite): boolean {
  return site.origin === 'lib' && isKeyMethod(site.owner, site.name);
}

/** `Object.is(a, b)`. */
export function isObjectIs(site: DeclarationSite): boolean {
  return site.origin === 'lib' && site.owner === 'ObjectConstructor' && site.name === 'is';
}
