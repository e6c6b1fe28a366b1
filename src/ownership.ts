/**
 * Ownership types for proxies whose stored object has a lifetime: one owner that
 * evicts it, and borrows that lend it out (shared read-only or exclusive mutable).
 * The kinds are mutually exclusive at the type level, so turning one into another
 * has to go through the memory-management functions (still to come), which keep
 * the borrow counts right.
 */
import type { AnyFunction, Primitive, Proxy, ProxyBrand, TypedArray } from './types.js';

declare const ownership: unique symbol;

/** The kinds of ownership proxy: an owner, a shared borrow, an exclusive borrow. */
export type OwnershipKind = 'owned' | 'ref' | 'ref-mut';

/** Which kind of ownership a proxy carries; a literal so the kinds never mix. */
export interface OwnershipTag<out K extends OwnershipKind> {
  readonly [ownership]: K;
}

/** The proxy that owns its stored object: disposing it (`using`, `await using`) evicts the object. */
export type OwnedProxy<T> = Proxy<T> & OwnershipTag<'owned'> & Disposable & AsyncDisposable;

/** A shared borrow: reads only, through a deeply read-only view of `T`; disposing it ends the borrow. */
export type RefProxy<T> = Proxy<ReadonlyView<T>> & OwnershipTag<'ref'> & Disposable;

/** An exclusive borrow: reads and writes `T` while the owner waits; disposing it ends the borrow. */
export type RefMutProxy<T> = Proxy<T> & OwnershipTag<'ref-mut'> & Disposable;

type TypedArrayMutator = 'set' | 'fill' | 'sort' | 'reverse' | 'copyWithin';
type DateMutator = Extract<keyof Date, `set${string}`>;

/**
 * `T` as a borrower may see it: properties `readonly` at every depth, arrays and
 * tuples `readonly`, Maps and Sets as `ReadonlyMap`/`ReadonlySet`, typed arrays
 * and Dates without their mutating methods.
 *
 * Limits: TypeScript lets a `{ readonly a: number }` be assigned to a
 * `{ a: number }`, so a view of a plain object still type-checks where a mutable
 * `T` is expected (a planned lint rule reports that); and methods of user classes are
 * kept as they are, since nothing says which of them mutate.
 */
export type ReadonlyView<T> = unknown extends T
  ? T
  : T extends Primitive | AnyFunction
    ? T
    : T extends ProxyBrand<infer U>
      ? Proxy<ReadonlyView<U>>
      : T extends Promise<infer U>
        ? Promise<ReadonlyView<U>>
        : T extends ReadonlyMap<infer K, infer V>
          ? ReadonlyMap<ReadonlyView<K>, ReadonlyView<V>>
          : T extends ReadonlySet<infer V>
            ? ReadonlySet<ReadonlyView<V>>
            : T extends TypedArray
              ? Readonly<Omit<T, TypedArrayMutator>>
              : T extends Date
                ? Readonly<Omit<T, DateMutator>>
                : { readonly [K in keyof T]: ReadonlyView<T[K]> };
