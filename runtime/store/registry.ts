import type { ConnectorConfig, ReferencePolicy } from '../connectors/connector.js';
import { resolvePolicy } from '../connectors/kinds.js';
import { ConfigError, DescriptorError, InvalidArgumentError, StoreExistsError, buildFromElsewhere, describeKey } from '../errors.js';
import { factoryOf } from '../proxy/proxy.js';
import { MAX_CANONICAL_DEPTH, canonicalJson } from './signing.js';
import { CacheBudget, type CacheBudgetLimits } from './cache-budget.js';
import type { StoreBuilder, StoreConfig, StoreHandle } from './handle.js';
import { isStoreFactory } from './factory.js';
import { setBounded } from '../support/bounded-map.js';

/** Stores registered by name (by their makers), so proxies decoded in this process share one store, its cache and its connections. */
const stores = new Map<string, StoreHandle>();

/**
 * Stores built from configs (descriptors from elsewhere, task calls), by
 * identity: name plus canonical connector config. Never registered by name,
 * so a descriptor can neither shadow a store of the same name with a
 * different connector (another caller's, or this process's own) nor squat on
 * a name. Least recently used first; bounded, see `MAX_BUILT_STORES`.
 */
const built = new Map<string, StoreHandle>();
/**
 * A long-running worker meets a new identity per caller (Redis prefixes are
 * random per connector), and a flood of descriptors can name thousands: past
 * this many, the least recently used is dropped from the map and its
 * connector closed once no proxy holds the store any more.
 */
const MAX_BUILT_STORES = 64;
/**
 * How to build and recognise stores, handed over by store.ts when it loads:
 * the registry sits below the `Store` class and knows stores only as
 * `StoreHandle`s (the immer way: the upper module registers itself).
 */
let builder: StoreBuilder | undefined;

export function provideStoreBuilder(provided: StoreBuilder): void {
  builder = provided;
}

function theBuilder(): StoreBuilder {
  // Every entry that reaches the registry loads store.ts first; this guards a deep import that skips it.
  if (builder === undefined) throw new ConfigError('ts-proxystore: the store module is not loaded; import Store from the package entry first');
  return builder;
}

/**
 * What the caches of all stores built from configs may hold together: each
 * may have up to the policy's cache bounds (64 MiB by default), and there may
 * be 64 of them. Set with `configureBuiltStores` or the environment variables.
 */
export const BUILT_CACHE_BYTES_ENV = 'PROXYSTORE_BUILT_CACHE_BYTES';
export const BUILT_CACHE_OBJECTS_ENV = 'PROXYSTORE_BUILT_CACHE_OBJECTS';
const DEFAULT_BUILT_CACHE: CacheBudgetLimits = { maxBytes: 256 * 1024 * 1024, maxObjects: 4096 };
let configuredBudget: Partial<CacheBudgetLimits> = {};
const builtBudget = new CacheBudget(() => ({
  maxBytes: configuredBudget.maxBytes ?? limitFromEnv(BUILT_CACHE_BYTES_ENV) ?? DEFAULT_BUILT_CACHE.maxBytes,
  maxObjects: configuredBudget.maxObjects ?? limitFromEnv(BUILT_CACHE_OBJECTS_ENV) ?? DEFAULT_BUILT_CACHE.maxObjects,
}));

/**
 * Sets what the caches of stores built from descriptors and task configs may
 * hold together in this thread (`{}` restores the environment variables or
 * the defaults: 256 MiB and 4,096 objects). Takes effect at the next object
 * cached.
 */
export function configureBuiltStores(options: { readonly cacheBytes?: number; readonly cacheObjects?: number }): void {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', `configureBuiltStores: options must be an object, got ${describeKey(options)}`);
  for (const field of ['cacheBytes', 'cacheObjects'] as const) {
    const value = options[field];
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
      throw new InvalidArgumentError(`options.${field}`, `configureBuiltStores: ${field} must be a non-negative whole number, got ${describeKey(value)}`);
    }
  }
  configuredBudget = {
    ...(options.cacheBytes === undefined ? {} : { maxBytes: options.cacheBytes }),
    ...(options.cacheObjects === undefined ? {} : { maxObjects: options.cacheObjects }),
  };
}

/** What the caches of built stores hold together, and their budget. */
export function builtStoreCache(): { readonly bytes: number; readonly objects: number; readonly maxBytes: number; readonly maxObjects: number } {
  return { ...builtBudget.usage(), ...builtBudget.limits() };
}

function limitFromEnv(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new ConfigError(`${name} must be a non-negative whole number, got ${JSON.stringify(text)}`);
  return value;
}

const retired = new FinalizationRegistry<StoreHandle['connector']>((connector) => {
  connector.close().catch(() => undefined);
});

/**
 * Registers `store` under its name. A name already registered, even to this
 * very store, is a StoreExistsError unless `allowExisting` (as ProxyStore's
 * `exist_ok`), which replaces the registered one.
 */
export function registerStore(store: StoreHandle, options: { allowExisting?: boolean } = {}): void {
  if (!theBuilder().isStore(store)) throw new InvalidArgumentError('store', `registerStore: store must be a Store, got ${typeof store === 'object' && store !== null ? Object.prototype.toString.call(store) : typeof store}`);
  if (stores.has(store.name) && options.allowExisting !== true) throw new StoreExistsError(store.name);
  stores.set(store.name, store);
}

/** The store registered under `name`, or the store a proxy reads from (store.ts's `getStore` gives it its class). */
export function findStore(nameOrProxy: string | object): StoreHandle | undefined {
  if (typeof nameOrProxy === 'string') return stores.get(nameOrProxy);
  const factory = factoryOf(nameOrProxy);
  return isStoreFactory(factory) ? factory.store : undefined;
}

/** Remove `name`; with `store`, only if that very store is the one registered. */
export function unregisterStore(name: string, store?: StoreHandle): void {
  if (store === undefined || stores.get(name) === store) stores.delete(name);
}

/**
 * What identifies a store across processes: its name and where its objects
 * live (the connector config). Cache sizes and metrics are the local process's
 * business and do not count.
 */
export function storeIdentity(config: Pick<StoreConfig, 'name' | 'connector'>): string {
  return canonicalConfigJson([config.name, config.connector]);
}

/**
 * Canonical JSON of configs met before, by their plain JSON: every task call
 * and reply names its stores, and sorting every level of a config again each
 * time cost more than the rest of reading it. For JSON data (see isJsonData)
 * the canonical form is a function of JSON.stringify's output, so the memo
 * answers exactly what canonicalJson would; anything else is computed. As
 * many entries as built stores are kept, each at most a config's bound, then
 * the memo starts over.
 */
const canonicalByJson = new Map<string, string>();

function canonicalConfigJson(value: unknown): string {
  if (!isJsonData(value, 0)) return canonicalJson(value);
  const json = JSON.stringify(value);
  const known = canonicalByJson.get(json);
  if (known !== undefined) return known;
  const canonical = canonicalJson(value);
  if (json.length > MAX_CONNECTOR_JSON) return canonical;
  return setBounded(canonicalByJson, MAX_BUILT_STORES, json, canonical);
}

/**
 * Strings, numbers, booleans, null, and arrays (without holes) and plain
 * objects of them, no deeper than canonical JSON allows: values that
 * JSON.stringify and canonicalJson both write field for field, with no
 * `toJSON`, `undefined` or hole that one of them would treat otherwise.
 */
function isJsonData(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return true;
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (depth >= MAX_CANONICAL_DEPTH) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  if (Array.isArray(value)) {
    if (proto !== Array.prototype) return false;
    for (let i = 0; i < value.length; i++) if (!Object.hasOwn(value, i) || !isJsonData(value[i], depth + 1)) return false;
    return true;
  }
  if (proto !== Object.prototype && proto !== null) return false;
  const items = Object.values(value);
  // A symbol key or a non-enumerable field, which JSON leaves out, would make two different values one JSON.
  if (Reflect.ownKeys(value).length !== items.length) return false;
  for (const item of items) if (!isJsonData(item, depth + 1)) return false;
  return true;
}

/**
 * The store `config` describes: the registered store of that name when its
 * identity matches, else one built from `config` earlier, else a new one
 * (kept by identity, not registered by name). Configs from elsewhere pass
 * `trusted: false` so their connector is checked against `policy`.
 * (store.ts's `getOrCreateStore` gives the result its class.)
 */
export function storeFromConfig(config: StoreConfig, options: { trusted?: boolean; policy?: ReferencePolicy } = {}): StoreHandle {
  const trusted = options.trusted ?? true;
  const policy = resolvePolicy(options.policy);
  if (!trusted) {
    // A descriptor's config was checked under this policy a moment ago (decodeProxies); others (a task call's results store) get a descriptor's checks.
    if (checkedConfigs.get(config) !== policy) config = checkStoreConfig(config, policy, failFromElsewhere);
  } else if (typeof config !== 'object' || config === null || typeof config.name !== 'string') {
    throw new ConfigError(`getOrCreateStore: config must be a store's config(), got ${describeKey(config)}`);
  }
  const identity = identityOf(config);
  const named = stores.get(config.name);
  if (named !== undefined && !named.closed && identityOfStore(named) === identity) return named;
  // A store built under one policy must not serve a decode under a stricter one, so the policy is part of the key.
  const key = `${trusted ? 'trusted' : policyKey(policy)}\n${identity}`;
  const known = built.get(key);
  built.delete(key);
  if (known !== undefined && !known.closed) {
    built.set(key, known);
    return known;
  }
  const build = (): StoreHandle => theBuilder().fromConfig(config, { trusted, policy, register: false, cacheBudget: builtBudget });
  const store = trusted ? build() : buildFromElsewhere('store config', build);
  built.set(key, store);
  for (const [oldest, old] of built) {
    if (built.size <= MAX_BUILT_STORES) break;
    built.delete(oldest);
    retired.register(old, old.connector);
  }
  return store;
}

/**
 * A store config that came as JSON text (a task call's: see task-wire.ts),
 * checked as `checkStoreConfig` checks an object from elsewhere. A text
 * checked before under `policy` is found by the text itself, so a worker
 * meeting its caller's store with every call neither parses nor compares it again.
 */
export function checkStoreConfigText(text: string, policy: Required<ReferencePolicy>): StoreConfig {
  if (text.length > MAX_CONFIG_TEXT) failFromElsewhere(`store config text is longer than ${MAX_CONFIG_TEXT} characters`);
  // A text fresh from a message has no hash yet: comparing it with the last one or two costs less than hashing it for the memo.
  const recent = ofPolicy(recentTextsByPolicy, policy, emptyList);
  for (const [known, checked] of recent) if (known === text) return checked;
  let checked = memoOf(policy).get(text);
  if (checked === undefined) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return failFromElsewhere('store config text is not JSON');
    }
    checked = checkStoreConfig(value, policy, failFromElsewhere);
  }
  remember(recent, [text, checked]);
  return checked;
}

/** The config texts that passed last under each policy, newest first, with what they passed as. */
const recentTextsByPolicy = new WeakMap<object, [string, StoreConfig][]>();

function failFromElsewhere(what: string): never {
  throw new DescriptorError(`invalid store config from elsewhere: ${what}`);
}

const policyKeys = new WeakMap<object, string>();

/** One resolved policy object serves a whole decode, so its canonical form is computed once. */
function policyKey(policy: Required<ReferencePolicy>): string {
  let key = policyKeys.get(policy);
  if (key === undefined) policyKeys.set(policy, (key = canonicalJson(policy)));
  return key;
}

/** How many stores built from configs this process keeps (for tests of the bound). */
export function builtStoreCount(): number {
  return built.size;
}

const STORE_FIELDS = new Set(['name', 'connector', 'cacheSize', 'cacheBytes', 'metrics', 'populateTarget', 'serializer', 'checksum']);
const MAX_NAME_LENGTH = 256;
const MAX_CONNECTOR_JSON = 16 * 1024;
/** What a task call's store config may weigh as text: a connector config at its longest, and room for the store's own fields. */
const MAX_CONFIG_TEXT = MAX_CONNECTOR_JSON + 2048;

/**
 * Check a store config from elsewhere field by field (own fields only, nothing
 * unknown, cache bounds from `policy`) and rebuild it from those fields.
 * `fail` says how a bad field is reported.
 */
export function checkStoreConfig(value: unknown, policy: Required<ReferencePolicy>, fail: (what: string) => never): StoreConfig {
  // Every call and reply naming a store brings its config again: once it passed under this policy, an equal config finds the result.
  const recent = ofPolicy(recentByPolicy, policy, emptyList);
  for (const checked of recent) if (sameJsonData(value, checked, 0)) return checked;
  const json = isJsonData(value, 0) ? JSON.stringify(value) : undefined;
  const memo = json === undefined || json.length > MAX_CONNECTOR_JSON ? undefined : memoOf(policy);
  const known = json === undefined ? undefined : memo?.get(json);
  if (known !== undefined) {
    remember(recent, known);
    return known;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('store config missing');
  const s = ownFields(value, STORE_FIELDS, 'store', fail);
  if (typeof s.name !== 'string' || s.name === '' || s.name.length > MAX_NAME_LENGTH) fail(`store.name must be a non-empty string of at most ${MAX_NAME_LENGTH} characters`);
  const name = s.name;
  const connector = s.connector as ConnectorConfig | undefined;
  if (typeof connector !== 'object' || connector === null || Array.isArray(connector) || typeof connector.kind !== 'string') {
    fail(`store '${name}': connector config missing`);
  }
  let connectorJson: string;
  try {
    connectorJson = canonicalConfigJson(connector);
  } catch {
    return fail(`store '${name}': connector config nests too deep`);
  }
  if (connectorJson.length > MAX_CONNECTOR_JSON) fail(`store '${name}': connector config is longer than ${MAX_CONNECTOR_JSON} characters`);
  // The cache is the receiver's memory: its policy bounds it for every config from elsewhere, signed or not (lru-cache allocates cacheSize slots up front).
  if (!Number.isSafeInteger(s.cacheSize) || (s.cacheSize as number) < 0 || (s.cacheSize as number) > policy.maxCacheSize) {
    fail(`store '${name}': cacheSize must be an integer from 0 to ${policy.maxCacheSize} (policy.maxCacheSize), got ${describeKey(s.cacheSize)}`);
  }
  if (s.cacheBytes !== undefined && (!Number.isSafeInteger(s.cacheBytes) || (s.cacheBytes as number) < 0 || (s.cacheBytes as number) > policy.maxCacheBytes)) {
    fail(`store '${name}': cacheBytes must be a whole number of bytes from 0 to ${policy.maxCacheBytes} (policy.maxCacheBytes), got ${describeKey(s.cacheBytes)}`);
  }
  if (typeof s.metrics !== 'boolean') fail(`store '${name}': metrics must be a boolean`);
  if (typeof s.populateTarget !== 'boolean') fail(`store '${name}': populateTarget must be a boolean`);
  if (s.serializer !== 'default' && s.serializer !== 'custom') fail(`store '${name}': serializer must be 'default' or 'custom'`);
  if (s.checksum !== undefined && s.checksum !== 'structure' && s.checksum !== 'all') fail(`store '${name}': checksum must be 'structure' or 'all'`);
  const checked: StoreConfig = Object.freeze({
    name,
    // A remembered config owns its connector config: whoever holds the message it came in cannot change it afterwards.
    connector: memo === undefined ? connector : deepFreeze(JSON.parse(JSON.stringify(connector)) as ConnectorConfig),
    cacheSize: s.cacheSize as number,
    ...(s.cacheBytes === undefined ? {} : { cacheBytes: s.cacheBytes as number }),
    metrics: s.metrics,
    populateTarget: s.populateTarget,
    serializer: s.serializer,
    ...(s.checksum === undefined ? {} : { checksum: s.checksum }),
  });
  checkedConfigs.set(checked, policy);
  if (memo !== undefined && json !== undefined) {
    setBounded(memo, MAX_BUILT_STORES, json, checked);
    rememberedIdentities.set(checked, undefined);
    remember(recent, checked);
  }
  return checked;
}

/**
 * The configs that passed last under each policy, newest first: a worker meets
 * the same one or two with every call (the inputs' store, the results'), and
 * comparing a config with them field by field costs a fraction of writing its
 * JSON to look it up. Each is remembered (deeply frozen JSON data, equal field
 * for field to the config it was checked from), so an equal config passes as it did.
 */
const recentByPolicy = new WeakMap<object, StoreConfig[]>();
const RECENT_CONFIGS = 4;

/** `item` first in `recent`, which keeps the last RECENT_CONFIGS. */
function remember<T>(recent: T[], item: T): void {
  const at = recent.indexOf(item);
  if (at === 0) return;
  if (at > 0) recent.splice(at, 1);
  recent.unshift(item);
  if (recent.length > RECENT_CONFIGS) recent.pop();
}

/** Made once per policy; a function of its own, so that a lookup on every call makes no closure. */
function emptyList<T>(): T[] {
  return [];
}

/** What `map` keeps for `policy`, made on first ask. */
function ofPolicy<V>(map: WeakMap<object, V>, policy: Required<ReferencePolicy>, make: NoInfer<() => V>): V {
  let value = map.get(policy);
  if (value === undefined) map.set(policy, (value = make()));
  return value;
}

/**
 * Whether `value` is JSON data equal to `known` (JSON data itself): the same
 * own fields (and no other, symbols included) in any order, plain objects and
 * arrays only, equal primitives. Reads only what `known` names, so a hostile
 * value costs no more than `known` is big; what passes is `known`, never `value`.
 */
function sameJsonData(value: unknown, known: unknown, depth: number): boolean {
  if (typeof known !== 'object' || known === null) return value === known;
  if (typeof value !== 'object' || value === null || depth >= MAX_CANONICAL_DEPTH) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  if (Array.isArray(known)) {
    if (!Array.isArray(value) || proto !== Array.prototype || value.length !== known.length) return false;
    for (let i = 0; i < known.length; i++) if (!Object.hasOwn(value, i) || !sameJsonData(value[i], known[i], depth + 1)) return false;
    return true;
  }
  if (Array.isArray(value) || (proto !== Object.prototype && proto !== null)) return false;
  const names = Object.keys(known);
  if (Reflect.ownKeys(value).length !== names.length) return false;
  for (const name of names) if (!Object.hasOwn(value, name) || !sameJsonData((value as Record<string, unknown>)[name], (known as Record<string, unknown>)[name], depth + 1)) return false;
  return true;
}

/** Checked configs by their JSON, per policy (its cache bounds decide what passes); as many as built stores, then it starts over. */
const checkedByJson = new WeakMap<object, Map<string, StoreConfig>>();

function memoOf(policy: Required<ReferencePolicy>): Map<string, StoreConfig> {
  return ofPolicy(checkedByJson, policy, () => new Map<string, StoreConfig>());
}

/**
 * Registered stores' identities, computed once: a store's name and connector
 * are fixed for its life, and its connector's config says where its objects
 * live, which does not move. Every reply naming the caller's own store is
 * compared with it.
 */
const storeIdentities = new WeakMap<StoreHandle, string>();

function identityOfStore(store: StoreHandle): string {
  let identity = storeIdentities.get(store);
  if (identity === undefined) storeIdentities.set(store, (identity = storeIdentity(store.config())));
  return identity;
}

/** Remembered (deeply frozen) checked configs, with their identity once asked for: nothing can change it. */
const rememberedIdentities = new WeakMap<StoreConfig, string | undefined>();

function identityOf(config: StoreConfig): string {
  if (!rememberedIdentities.has(config)) return storeIdentity(config);
  let identity = rememberedIdentities.get(config);
  if (identity === undefined) rememberedIdentities.set(config, (identity = storeIdentity(config)));
  return identity;
}

/** Freezes `value` and everything it holds. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

/**
 * Configs checkStoreConfig made (frozen, known only to this package), with
 * the policy they passed under: a descriptor's config is checked while
 * decoding, then handed to getOrCreateStore, which need not check it again.
 */
const checkedConfigs = new WeakMap<object, Required<ReferencePolicy>>();

/** The own fields of `value` by name, refusing any outside `allowed`; inherited properties never count. */
export function ownFields(value: object, allowed: ReadonlySet<string>, where: string, fail: (what: string) => never): Record<string, unknown> {
  // The enumerable names and two counts, which V8 answers from the object's shape for what JSON and structured clone make:
  // a third of Reflect.ownKeys' cost, and every reply's metadata comes here. Hidden or symbol keys take Reflect.ownKeys.
  const names = Object.keys(value);
  const hidden = Object.getOwnPropertyNames(value).length !== names.length || Object.getOwnPropertySymbols(value).length > 0;
  const fields: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const name of hidden ? Reflect.ownKeys(value) : names) {
    if (typeof name !== 'string' || !allowed.has(name)) fail(`${where} has an unknown field ${describeKey(String(name))}`);
    fields[name] = (value as Record<string, unknown>)[name];
  }
  return fields;
}

