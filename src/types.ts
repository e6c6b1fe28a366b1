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

/** A transparent, lazily resolved reference to a `T` held in a store. */
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
