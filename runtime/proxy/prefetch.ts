import { isProxy, isResolved, resolveAsync } from './proxy.js';
import type { Proxy } from '../../src/types.js';
import { collectLeaves } from './walk.js';

const isUnresolvedProxy = (value: unknown): value is Proxy<object> => isProxy(value) && !isResolved(value);

/**
 * Resolve every unresolved proxy inside `value` (at any depth of arrays, plain
 * objects, Maps and Sets) concurrently and without blocking the thread, so that
 * later synchronous use touches no store. Executors call this on task inputs;
 * concurrent reads let a network connector pipeline them. Returns `value`.
 */
export async function resolveAll<T>(value: T): Promise<T> {
  await Promise.all(collectLeaves(value, isUnresolvedProxy).map((p) => resolveAsync(p)));
  return value;
}
