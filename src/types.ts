/**
 * Type machinery for proxies. A `Proxy<T>` is usable wherever `T`'s members are
 * read, and carries a brand that tools (transformer, lint rules, isProxy) find
 * by symbol.
 */
declare const proxyBrand: unique symbol;

/** The brand carried by every `Proxy<T>`; never present at run time. */
export interface ProxyBrand<out T> {
  readonly [proxyBrand]: T;
}

/**
 * A transparent, lazily resolved reference to a `T` held in a store.
 *
 * An intersection rather than a mapped type: every member of `T` keeps its exact
 * declaration (overloads, generic methods, call/construct and index signatures,
 * `readonly`, private members of classes), and the alias survives instantiation,
 * so editors print `Proxy<Foo>`.
 */
export type Proxy<T> = T & ProxyBrand<T>;

/** A parameter that accepts the value itself or a proxy of it. */
export type ProxyOr<T> = T | Proxy<T>;

declare const encodedBrand: unique symbol;

/**
 * A value whose proxies were replaced by reference descriptors (`encodeProxies`):
 * safe for structuredClone/postMessage/JSON. `decodeProxies` gives the `T` back.
 */
export interface Encoded<out T> {
  readonly [encodedBrand]: T;
}

/** `T` with its fields assignable, for building a message or a record field by field. */
export type Writable<T> = { -readonly [K in keyof T]: T[K] };

/** Values that are never proxied, so type searches stop at them. */
export type Primitive = string | number | bigint | boolean | symbol | null | undefined;
// `any` in a parameter position is what lets every function type match.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFunction = (...args: any[]) => unknown;
type IsAny<T> = 0 extends 1 & T ? true : false;

/** Predecessors, so that searches through object types stop at a fixed depth. */
type Shallower = [never, 0, 1, 2, 3, 4, 5, 6, 7];
type SearchDepth = 7;

/**
 * Whether a proxy occurs in `T` within `D` levels of arrays, tuples, objects,
 * Promises, Maps and Sets. Bounded because the search is eager: an unbounded one
 * would not terminate on recursive types (`interface Node { next: Node }`).
 */
type HasProxy<T, D extends number = SearchDepth> = [D] extends [never]
  ? false
  : IsAny<T> extends true
    ? false
    : T extends ProxyBrand<unknown>
      ? true
      : T extends Primitive | AnyFunction
        ? false
        : T extends object
          ? true extends HasProxy<ChildrenOf<T>, Shallower[D]>
            ? true
            : false
          : false;

type ChildrenOf<T extends object> =
  T extends Promise<infer U>
    ? U
    : T extends ReadonlyMap<infer K, infer V>
      ? K | V
      : T extends ReadonlySet<infer V>
        ? V
        : T extends readonly unknown[]
          ? T[number]
          : T[keyof T];

/**
 * `T` with every proxy replaced by its target's type, through arrays, tuples,
 * plain objects, Promises, Maps and Sets: the type of `extract`'s result and of a
 * task's result. Types without a proxy in them come back unchanged (class
 * instances keep their private members and their name).
 *
 * The run time does not unwrap nested proxies: a proxy inside an extracted
 * target is still a proxy. That is sound, since a `Proxy<X>` is an `X`.
 * Proxies nested deeper than the search depth are left as they are.
 */
export type Unproxied<T> =
  IsAny<T> extends true
    ? T
    : T extends ProxyBrand<infer U>
      ? Unproxied<U>
      : HasProxy<T> extends true
        ? UnproxiedContainer<T>
        : T;

type UnproxiedContainer<T> =
  T extends Promise<infer U>
    ? Promise<Unproxied<U>>
    : T extends Map<infer K, infer V>
      ? Map<Unproxied<K>, Unproxied<V>>
      : T extends ReadonlyMap<infer K, infer V>
        ? ReadonlyMap<Unproxied<K>, Unproxied<V>>
        : T extends Set<infer V>
          ? Set<Unproxied<V>>
          : T extends ReadonlySet<infer V>
            ? ReadonlySet<Unproxied<V>>
            : { [K in keyof T]: Unproxied<T[K]> };

/**
 * What `isProxy` narrows each member of a union to: proxies stay as they are,
 * other objects become proxies of themselves, primitives drop out.
 */
export type ProxiedPart<T> =
  unknown extends T ? Proxy<unknown> : T extends ProxyBrand<unknown> ? T : T extends object ? Proxy<T> : never;

/** One proxy per element, keeping tuples as tuples. */
export type ProxiesOf<T extends readonly unknown[]> = { -readonly [K in keyof T]: Proxy<T[K]> };

/**
 * `P` once the caller has stated `T`; otherwise a string literal type whose text,
 * shown in the compiler error, tells the caller what to write. For functions whose
 * arguments say nothing about `T`, where leaving it out must not mean `unknown`.
 */
export type TypeArgumentRequired<T, P> = [T] extends [never] ? 'state the type of the stored object: proxyFromKey<Foo>(key)' : P;

/** The built-in typed arrays. */
export type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;
