/**
 * Readers in this thread of each stored object, counted by store and key, for
 * the library's own readers that know when they are done (a task's inputs, a
 * stream's items). Readers of one object share what its store read for it
 * (its cache entry; memory the connector lends, such as a shared-memory slot
 * or a peer read's buffer, all released by key), so its views are released
 * when the last of them is done, and not at all when one of them may keep
 * what it read.
 */
import type { Key } from '../connectors/connector.js';
import { keyId } from '../errors.js';
import type { Store } from './store.js';

interface Readers {
  count: number;
  /** A reader may keep arrays it read past its return: the views stay for the garbage collector. */
  keep: boolean;
}

const readers = new WeakMap<Store, Map<string, Readers>>();

/** A reader counted by `borrowViews`, for `returnViews` to find again without looking the proxy up. */
export interface Borrow {
  readonly store: Store;
  readonly key: Key;
  readonly id: string;
}

/**
 * One more reader of the object at `at` (a store and key, as `locate` finds
 * them for a store proxy; nothing is counted for undefined); `keep` when it
 * may hold on to what it reads.
 */
export function borrowViews(at: { readonly store: Store; readonly key: Key } | undefined, options: { readonly keep?: boolean } = {}): Borrow | undefined {
  if (at === undefined) return undefined;
  const borrow = { store: at.store, key: at.key, id: keyId(at.key) };
  let byKey = readers.get(at.store);
  if (byKey === undefined) readers.set(at.store, (byKey = new Map<string, Readers>()));
  const known = byKey.get(borrow.id);
  if (known === undefined) {
    byKey.set(borrow.id, { count: 1, keep: options.keep === true });
  } else {
    known.count += 1;
    known.keep ||= options.keep === true;
  }
  return borrow;
}

/** That reader is done: the last one's leaving releases the object's views (`releaseViews`), so its store may recycle the memory, unless a reader may keep them. */
export function returnViews(borrow: Borrow | undefined): void {
  if (borrow === undefined) return;
  const byKey = readers.get(borrow.store);
  const known = byKey?.get(borrow.id);
  if (byKey === undefined || known === undefined) return;
  if (--known.count > 0) return;
  byKey.delete(borrow.id);
  if (!known.keep) borrow.store.releaseViews(borrow.key);
}
