import { ERROR_CODES, ProxyStoreError, type ErrorCode } from '../errors.js';
import { isProxy } from './proxy.js';

/**
 * Deep walks over the containers that structured clone and JSON understand
 * (arrays, plain objects, Maps, Sets). They never descend into proxies (that
 * would resolve them) nor into binary data. They read own properties only and
 * build copies without prototype setters, so an own `__proto__` key (which
 * JSON.parse makes) stays a plain property. Nesting is bounded, so hostile
 * input gets a typed error instead of a stack overflow.
 */

/** Deeper than any data a task passes; shallow enough for the stack of a worker thread. */
export const MAX_NESTING = 2_000;

/** A value nests containers deeper than MAX_NESTING levels. */
export class NestingTooDeepError extends ProxyStoreError {
  static override readonly code: ErrorCode = ERROR_CODES.NestingTooDeepError;
  override name = 'NestingTooDeepError';
  constructor() {
    super(`value nests arrays, objects, Maps or Sets more than ${MAX_NESTING} levels deep: flatten it, or store it as one object`);
  }
}

/** Every leaf inside `root`, each once, cycles included. */
export function collectLeaves<L>(root: unknown, isLeaf: (v: unknown) => v is L): L[] {
  if (isLeaf(root)) return [root];
  if (isFlat(root, isLeaf)) {
    // A task's argument list, most often: no container to search, so no bookkeeping of visited ones.
    const found = new Set<L>();
    for (const item of root) if (isLeaf(item)) found.add(item);
    return [...found];
  }
  const leaves = new Set<L>();
  markContainers(root, isLeaf, (leaf) => leaves.add(leaf));
  return [...leaves];
}

/**
 * For each container reachable from `root`, whether a leaf sits somewhere inside it.
 * `onLeaf` sees every leaf found on the way.
 */
function markContainers<L>(root: unknown, isLeaf: (v: unknown) => v is L, onLeaf?: (leaf: L) => void): Map<object, boolean> {
  const holds = new Map<object, boolean>();
  const visit = (value: unknown, depth: number): boolean => {
    if (isLeaf(value)) {
      onLeaf?.(value);
      return true;
    }
    if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || isProxy(value)) return false;
    const known = holds.get(value);
    if (known !== undefined) return known;
    if (depth > MAX_NESTING) throw new NestingTooDeepError();
    holds.set(value, false); // a cycle back to a container in progress adds nothing
    let found = false;
    for (const child of childrenOf(value)) if (visit(child, depth + 1)) found = true;
    holds.set(value, found);
    return found;
  };
  visit(root, 0);
  return holds;
}

/**
 * An array whose items are leaves or values the walks do not descend into
 * (primitives, binary data, proxies, other objects than containers): the
 * walks' answers for it need no record of visited containers.
 */
function isFlat<L>(value: unknown, isLeaf: (v: unknown) => v is L): value is readonly unknown[] {
  if (!Array.isArray(value)) return false;
  for (const item of value as unknown[]) {
    if (typeof item === 'object' && item !== null && !isLeaf(item) && !ArrayBuffer.isView(item) && !isProxy(item) && isWalked(item)) return false;
  }
  return true;
}

/** Containers the walks descend into (see childrenOf). */
function isWalked(value: object): boolean {
  return Array.isArray(value) || value instanceof Map || value instanceof Set || isPlainObject(value);
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Copy-on-write deep map: leaves matching `isLeaf` are replaced; containers are copied
 * only when something inside them changes, so large untouched data is never walked twice
 * or cloned. Cycles map to the copy of the container they point at.
 */
export function mapLeaves<L extends object>(root: unknown, isLeaf: (v: unknown) => v is L, replace: (leaf: L) => unknown): unknown {
  if (isLeaf(root)) return replace(root);
  if (isFlat(root, isLeaf)) {
    if (!root.some((item) => isLeaf(item))) return root;
    const copy: unknown[] = [];
    for (const item of root) copy.push(isLeaf(item) ? replace(item) : item);
    return copy;
  }
  const holds = markContainers(root, isLeaf);
  const copies = new Map<object, unknown>();
  const map = (value: unknown): unknown => {
    if (isLeaf(value)) return replace(value);
    if (typeof value !== 'object' || value === null || holds.get(value) !== true) return value;
    const done = copies.get(value);
    if (done !== undefined) return done;
    if (Array.isArray(value)) {
      const copy: unknown[] = [];
      copies.set(value, copy);
      for (const item of value) copy.push(map(item));
      return copy;
    }
    if (value instanceof Map) {
      const copy = new Map<unknown, unknown>();
      copies.set(value, copy);
      for (const [k, v] of value) copy.set(map(k), map(v));
      return copy;
    }
    if (value instanceof Set) {
      const copy = new Set<unknown>();
      copies.set(value, copy);
      for (const item of value) copy.add(map(item));
      return copy;
    }
    const copy: Record<string, unknown> = Object.create(Object.getPrototypeOf(value) as object | null) as Record<string, unknown>;
    copies.set(value, copy);
    // Defined, not assigned: assigning an own '__proto__' key would set the copy's prototype.
    for (const [k, v] of Object.entries(value)) Object.defineProperty(copy, k, { value: map(v), writable: true, enumerable: true, configurable: true });
    return copy;
  };
  return isLeaf(root) || holds.get(root as object) === true ? map(root) : root;
}

/** The values a walk descends into: only containers that structured clone and JSON also understand. */
function childrenOf(value: object): Iterable<unknown> {
  if (Array.isArray(value)) return value as unknown[];
  if (value instanceof Map) return [...(value as Map<unknown, unknown>).keys(), ...(value as Map<unknown, unknown>).values()];
  if (value instanceof Set) return value;
  if (isPlainObject(value)) return Object.values(value);
  return [];
}
