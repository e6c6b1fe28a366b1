import os from 'node:os';
import { isTagged, type CloseOptions, type Connector, type ConnectorConfig, type JsonValue, type Key, type ListedObject, type ReferencePolicy, type StartedPut, type TaggedPut, type TaggedPutOptions } from './connector.js';
import { connectorFromConfig, isMadeKey, registerConnectorKind } from './kinds.js';
import { ConfigError, ERROR_CODES, type ErrorCode, ConnectorError, DescriptorError, describeKey, messageOf } from '../errors.js';
import { rejectUnknownOptions } from './options.js';

/**
 * When a connector takes a put. Every bound is optional; a put goes to the
 * highest-priority active connector whose policy accepts it.
 *
 * Tags, two rules, both checked, as ProxyStore's `Policy.is_valid` checks
 * `subset_tags` and `superset_tags`:
 * - `tags` (subset rule): every tag of the put must be among them (or among
 *   `requiredTags`). A put without tags passes this rule everywhere. Use it to
 *   say "this connector only takes puts labelled so". A policy that lists no
 *   `tags` does not apply this rule: ProxyStore's put names its subset and
 *   superset tags apart, whereas a put here has one list, which must not be
 *   refused by a connector for carrying a tag that connector never mentions.
 * - `requiredTags` (superset rule): the put must carry all of them, and may
 *   carry more. Use it to reserve a connector for puts that ask for it.
 */
export interface MultiPolicy {
  /** Among connectors that accept a put, the highest wins; ties go to the one listed first. Default 0. */
  readonly priority?: number;
  /** Smallest put in bytes, inclusive. Default 0. */
  readonly minSize?: number;
  /** Largest put in bytes, inclusive. Default: unbounded. */
  readonly maxSize?: number;
  readonly tags?: readonly string[];
  readonly requiredTags?: readonly string[];
  /**
   * Regular expression source, or a list of them, matched case-insensitively
   * against the whole of `os.hostname()`; one match is enough. On other hosts
   * the connector is dormant: its config is kept (so `config()` carries it on)
   * but it is never built or used. Default: every host.
   */
  readonly hostPattern?: string | readonly string[];
}

/**
 * A connector in hand, or the config to build it from. Prefer configs for
 * connectors that are dormant on some hosts: a dormant config is never built,
 * whereas an instance exists already (it is only kept so close() closes it).
 */
export type MultiConnectorEntry =
  | { readonly connector: Connector; readonly policy?: MultiPolicy }
  | { readonly config: ConnectorConfig; readonly policy?: MultiPolicy };

export interface MultiConnectorOptions {
  readonly connectors: { readonly [name: string]: MultiConnectorEntry };
}

/** How configs among the entries are rebuilt: as `connectorFromConfig` does, untrusted ones checked against `policy`. */
export interface MultiBuildOptions {
  readonly trusted?: boolean;
  readonly policy?: ReferencePolicy;
}

/** A MultiConnector failure of its own (no connector accepts a put, a key it cannot route); children's errors pass through as they are. */
const MULTI_OPTIONS = ['connectors'];

export class MultiConnectorError extends ConnectorError {
  static override readonly code: ErrorCode = ERROR_CODES.MultiConnectorError;
  override name = 'MultiConnectorError';
  /** Size in bytes of the put no connector accepted. */
  readonly size: number | undefined;
  /** Tags of that put. */
  readonly tags: readonly string[] | undefined;
  /** The connectors that were considered, by name. */
  readonly candidates: readonly string[];

  constructor(
    operation: string,
    message: string,
    options: { cause?: unknown; key?: unknown; size?: number; tags?: readonly string[]; candidates?: readonly string[] } = {},
  ) {
    super('multi', operation, message, options);
    this.size = options.size;
    this.tags = options.tags;
    this.candidates = options.candidates ?? [];
  }
}

/** Keys name the connector holding the object, so reads route without any policy. */
// A type alias, not an interface, so that it counts as a JsonValue.
type MultiKey = { readonly c: string; readonly k: Key };

interface Policy {
  readonly priority: number;
  readonly minSize: number;
  readonly maxSize: number;
  readonly tags: readonly string[];
  readonly requiredTags: readonly string[];
  readonly hostPattern: string | readonly string[] | undefined;
}

interface Route {
  readonly name: string;
  readonly policy: Policy;
  /** Undefined while dormant. */
  readonly connector: Connector | undefined;
  /** A dormant entry's is kept as it came, to be passed on unchanged. */
  readonly config: () => ConnectorConfig;
  /** Instances handed in are closed with us even when dormant; dormant configs were never built. */
  readonly owned: Connector | undefined;
}

/**
 * Routes each put to one of several named connectors by size, tags and host,
 * and every other operation by the connector name inside the key.
 *
 * Small objects in memory, everything else in files:
 *
 * ```ts
 * const multi = new MultiConnector({
 *   connectors: {
 *     small: { connector: new MemoryConnector(), policy: { maxSize: 64 * 1024, priority: 1 } },
 *     big: { config: { kind: 'file', options: { directory: '/tmp/objects' } } },
 *   },
 * });
 * const store = new Store('mixed', multi);
 * await store.put(new Float64Array(1e6)); // 8 MB: too big for 'small', lands in 'big'
 * await store.put({ id: 1 });             // fits both; 'small' has the higher priority
 * await multi.putWith(bytes, { tags: ['gpu'] }); // tags: see MultiPolicy and TaggedPut
 * ```
 *
 * Keys look like `{ c: 'big', k: <the file connector's key> }`. `config()`
 * nests each child's config (dormant ones included), and a connector rebuilt
 * from it builds its children with the same trust and policy, so a descriptor
 * from elsewhere cannot smuggle in a kind its receiver does not allow.
 */
export class MultiConnector implements Connector, TaggedPut {
  readonly kind = 'multi';
  readonly #routes: readonly Route[];
  readonly #byName: ReadonlyMap<string, Route>;
  readonly #hostname = os.hostname();
  #closed = false;

  constructor(options: MultiConnectorOptions, build: MultiBuildOptions = {}) {
    rejectUnknownOptions('multi', options, MULTI_OPTIONS);
    const entries = Object.entries(entriesOption(options));
    if (entries.length === 0) throw new ConfigError('multi connector: give at least one connector');
    const trusted = build.trusted ?? true;
    const routes: Route[] = [];
    try {
      for (const [name, entry] of entries) routes.push(this.#route(name, entry, trusted, build.policy));
    } catch (error) {
      // Connectors built from configs so far would stay open (a connection, say) with nobody to close them; those handed in stay the caller's.
      const handedIn = new Set(entries.map(([, entry]) => (entry as { connector?: Connector } | null)?.connector));
      void Promise.allSettled(routes.flatMap(({ owned }) => (owned === undefined || handedIn.has(owned) ? [] : [owned.close()])));
      throw error;
    }
    this.#routes = routes;
    this.#byName = new Map(routes.map((route) => [route.name, route]));
  }

  /** Names of the connectors in use on this host; the others are dormant. */
  get active(): string[] {
    return this.#routes.filter((route) => route.connector !== undefined).map((route) => route.name);
  }

  put(data: Uint8Array): Promise<Key> {
    return this.putWith(data, {});
  }

  putBatch(data: readonly Uint8Array[]): Promise<Key[]> {
    return this.putBatchWith(data, {});
  }

  /** Routes by size like `put`; only possible when the chosen connector can start a write itself. */
  startPut(data: Uint8Array): StartedPut {
    const route = this.#choose('startPut', data.byteLength, []);
    const connector = route.connector as Connector;
    if (connector.startPut === undefined) {
      throw new MultiConnectorError('startPut', `connector '${route.name}' (${connector.kind}) cannot start a write synchronously`, { size: data.byteLength, candidates: [route.name] });
    }
    const started = connector.startPut(data);
    return { key: wrapKey(route, started.key), written: started.written, readable: started.readable === true };
  }

  async putWith(data: Uint8Array, options: TaggedPutOptions): Promise<Key> {
    const tags = tagsOption(options);
    const route = this.#choose('put', data.byteLength, tags);
    const connector = route.connector as Connector;
    return wrapKey(route, await (isTagged(connector) ? connector.putWith(data, { tags }) : connector.put(data)));
  }

  /** Items bound for the same connector go to it as one putBatch; if any batch fails, the others' objects are evicted again. */
  async putBatchWith(data: readonly Uint8Array[], options: TaggedPutOptions): Promise<Key[]> {
    const tags = tagsOption(options);
    const groups = group(data, (bytes) => this.#choose('putBatch', bytes.byteLength, tags));
    const settled = await Promise.allSettled(
      [...groups].map(async ([route, items]) => {
        const connector = route.connector as Connector;
        const bytes = items.map(({ item }) => item);
        const keys = await (isTagged(connector) ? connector.putBatchWith(bytes, { tags }) : connector.putBatch(bytes));
        return { route, items, keys };
      }),
    );
    const failed = settled.find((result) => result.status === 'rejected');
    if (failed !== undefined) {
      const stored = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
      // Best effort: the batch's own failure is what the caller needs to see.
      await Promise.allSettled(stored.flatMap(({ route, keys }) => keys.map((key) => (route.connector as Connector).evict(key))));
      throw failed.reason;
    }
    const out = new Array<Key>(data.length);
    for (const result of settled) {
      if (result.status !== 'fulfilled') continue;
      const { route, items, keys } = result.value;
      items.forEach(({ index }, i) => (out[index] = wrapKey(route, keys[i] as Key)));
    }
    return out;
  }

  get(key: Key): Promise<Uint8Array | undefined> {
    return this.#call('get', key, (connector, inner) => connector.get(inner));
  }

  getSync(key: Key): Uint8Array | undefined {
    const { route, inner } = this.#resolve('getSync', key);
    const connector = route.connector as Connector;
    if (connector.getSync === undefined) {
      throw new MultiConnectorError('getSync', `connector '${route.name}' (${connector.kind}) cannot read synchronously: resolve with resolveAsync`, { key });
    }
    return connector.getSync(inner);
  }

  /** One getBatch per connector involved, run in parallel; every key is checked before any is read. */
  async getBatch(keys: readonly Key[]): Promise<(Uint8Array | undefined)[]> {
    const groups = group(
      keys.map((key) => this.#resolve('getBatch', key)),
      ({ route }) => route,
    );
    const out = new Array<Uint8Array | undefined>(keys.length);
    await Promise.all(
      [...groups].map(async ([route, items]) => {
        const data = await (route.connector as Connector).getBatch(items.map(({ item }) => item.inner));
        items.forEach(({ index }, i) => (out[index] = data[i]));
      }),
    );
    return out;
  }

  exists(key: Key): Promise<boolean> {
    return this.#call('exists', key, (connector, inner) => connector.exists(inner));
  }

  /**
   * A key in the child of highest priority that can defer keys and takes an
   * object of no particular size or tags (the future's value is not known
   * yet, so it cannot be routed by size).
   */
  newKey(): Key {
    this.#assertOpen('newKey');
    let best: Route | undefined;
    for (const route of this.#routes) {
      const { connector } = route;
      if (connector?.newKey === undefined || connector.set === undefined || !accepts(route.policy, 0, [])) continue;
      if (best === undefined || route.policy.priority > best.policy.priority) best = route;
    }
    if (best === undefined) throw new MultiConnectorError('newKey', 'no active connector can name an object before it is written (memory, file and Redis connectors can) with a policy open to any size and no required tags');
    return wrapKey(best, (best.connector as Connector & { newKey(): Key }).newKey());
  }

  set(key: Key, data: Uint8Array): Promise<void> {
    return this.#call('set', key, (connector, inner) => {
      if (connector.set === undefined) throw new MultiConnectorError('set', `connector '${(key as MultiKey).c}' (${connector.kind}) cannot overwrite keys`, { key });
      return connector.set(inner, data);
    });
  }

  /** As the key's connector says (shared memory sets only its futures' keys). */
  canSet(key: Key): boolean {
    const { route, inner } = this.#resolve('canSet', key);
    const connector = route.connector as Connector;
    return connector.set !== undefined && (connector.canSet?.(inner) ?? true);
  }

  /** The key's connector's wait, where it has one; false (poll) elsewhere. */
  whenWritten(key: Key, timeoutMs: number): Promise<boolean> {
    return this.#call('whenWritten', key, (connector, inner) => connector.whenWritten?.(inner, timeoutMs) ?? Promise.resolve(false));
  }

  whenWrittenSync(key: Key, timeoutMs: number): boolean {
    const { route, inner } = this.#resolve('whenWrittenSync', key);
    return (route.connector as Connector).whenWrittenSync?.(inner, timeoutMs) ?? false;
  }

  evict(key: Key): Promise<void> {
    return this.#call('evict', key, (connector, inner) => connector.evict(inner));
  }

  /**
   * What every active child holds, keys wrapped as this connector's; a child
   * that cannot list (shared memory, say) fails the listing rather than be
   * silently left out of the totals.
   */
  async *list(): AsyncGenerator<ListedObject> {
    this.#assertOpen('list');
    for (const route of this.#routes) {
      const { connector } = route;
      if (connector === undefined) continue;
      if (connector.list === undefined) throw new MultiConnectorError('list', `connector '${route.name}' (${connector.kind}) cannot list what it holds`);
      for await (const listed of connector.list()) yield { ...listed, key: wrapKey(route, listed.key) };
    }
  }

  config(): ConnectorConfig {
    const connectors: Record<string, JsonValue> = {};
    for (const route of this.#routes) {
      const config = route.config();
      connectors[route.name] = { config: { kind: config.kind, options: config.options }, policy: policyJson(route.policy) };
    }
    return { kind: this.kind, options: { connectors } };
  }

  /** Closes every child it holds, passing `clear` on; all are tried even when one fails. */
  async close(options: CloseOptions = {}): Promise<void> {
    this.#closed = true;
    const routes = this.#routes.filter((route) => route.owned !== undefined);
    const results = await Promise.allSettled(routes.map((route) => (route.owned as Connector).close(options)));
    const failures: string[] = [];
    let cause: unknown;
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') return;
      const reason: unknown = result.reason;
      cause ??= reason;
      failures.push(`'${routes[i]?.name ?? '?'}': ${messageOf(reason)}`);
    });
    if (failures.length > 0) throw new MultiConnectorError('close', failures.join('; '), { cause });
  }

  #route(name: string, entry: MultiConnectorEntry, trusted: boolean, referencePolicy: ReferencePolicy | undefined): Route {
    const where = `multi connector entry '${name}'`;
    if (typeof entry !== 'object' || entry === null) throw new ConfigError(`${where}: must be an object with 'connector' or 'config'`);
    const policy = policyOption(entry.policy, where, trusted);
    const active = policy.hostPattern === undefined || patternsOf(policy.hostPattern).some((pattern) => hostRegExp(pattern).test(this.#hostname));
    if ('connector' in entry) {
      const given = entry.connector;
      if (typeof given !== 'object' || given === null || typeof given.put !== 'function') throw new ConfigError(`${where}: 'connector' must implement the Connector interface`);
      const kept = active ? undefined : given.config();
      return { name, policy, connector: active ? given : undefined, config: () => kept ?? given.config(), owned: given };
    }
    if (!('config' in entry)) throw new ConfigError(`${where}: must have 'connector' or 'config'`);
    const config = configShape(entry.config, where);
    if (!active) return { name, policy, connector: undefined, config: () => config, owned: undefined };
    const connector = connectorFromConfig(config, { trusted, ...(referencePolicy === undefined ? {} : { policy: referencePolicy }) });
    return { name, policy, connector, config: () => connector.config(), owned: connector };
  }

  #choose(operation: string, size: number, tags: readonly string[]): Route {
    this.#assertOpen(operation);
    let best: Route | undefined;
    for (const route of this.#routes) {
      if (route.connector === undefined || !accepts(route.policy, size, tags)) continue;
      if (best === undefined || route.policy.priority > best.policy.priority) best = route;
    }
    if (best !== undefined) return best;
    const candidates = this.#routes.map((route) => describeRoute(route, this.#hostname)).join('; ');
    throw new MultiConnectorError(operation, `no connector accepts ${size} bytes with tags ${JSON.stringify(tags)} (candidates: ${candidates})`, {
      size,
      tags,
      candidates: this.#routes.map((route) => route.name),
    });
  }

  #resolve(operation: string, key: Key): { route: Route; inner: Key } {
    this.#assertOpen(operation);
    if (!isMultiKey(key)) throw new MultiConnectorError(operation, 'not a key of a multi connector: keys look like { c: <connector name>, k: <its key> }', { key });
    const route = this.#byName.get(key.c);
    if (route === undefined) {
      throw new MultiConnectorError(operation, `no connector named '${key.c}' here (connectors: ${[...this.#byName.keys()].join(', ')})`, { key });
    }
    if (route.connector === undefined) {
      throw new MultiConnectorError(
        operation,
        `connector '${key.c}' is dormant on host '${this.#hostname}' (its hostPattern is ${JSON.stringify(route.policy.hostPattern)}), so its objects cannot be reached from here`,
        { key },
      );
    }
    return { route, inner: key.k };
  }

  async #call<R>(operation: string, key: Key, call: (connector: Connector, inner: Key) => Promise<R>): Promise<R> {
    const { route, inner } = this.#resolve(operation, key);
    return call(route.connector as Connector, inner);
  }

  #assertOpen(operation: string): void {
    if (this.#closed) throw new MultiConnectorError(operation, `connector over ${this.#routes.map((route) => `'${route.name}'`).join(', ')} is closed`);
  }
}

function wrapKey(route: Route, key: Key): MultiKey {
  return { c: route.name, k: key };
}

function isMultiKey(key: Key): key is MultiKey {
  return typeof key === 'object' && key !== null && !Array.isArray(key) && typeof (key as { c?: unknown }).c === 'string' && Object.hasOwn(key, 'k');
}

/** Items grouped by where they go, keeping each item's position for reassembly. */
function group<T, R>(items: readonly T[], target: (item: T) => R): Map<R, { item: T; index: number }[]> {
  const groups = new Map<R, { item: T; index: number }[]>();
  items.forEach((item, index) => {
    const to = target(item);
    let list = groups.get(to);
    if (list === undefined) groups.set(to, (list = []));
    list.push({ item, index });
  });
  return groups;
}

function accepts(policy: Policy, size: number, tags: readonly string[]): boolean {
  return (
    size >= policy.minSize &&
    size <= policy.maxSize &&
    (policy.tags.length === 0 || tags.every((tag) => policy.tags.includes(tag) || policy.requiredTags.includes(tag))) &&
    policy.requiredTags.every((tag) => tags.includes(tag))
  );
}

function describeRoute(route: Route, hostname: string): string {
  const { policy } = route;
  const parts = [`priority ${policy.priority}`, `size ${policy.minSize}..${policy.maxSize === Infinity ? '∞' : policy.maxSize}`, `tags ${JSON.stringify(policy.tags)}`];
  if (policy.requiredTags.length > 0) parts.push(`requiredTags ${JSON.stringify(policy.requiredTags)}`);
  if (route.connector === undefined) parts.push(`dormant: hostPattern ${JSON.stringify(policy.hostPattern)} does not match '${hostname}'`);
  return `'${route.name}' (${parts.join(', ')})`;
}

function patternsOf(hostPattern: string | readonly string[]): readonly string[] {
  return typeof hostPattern === 'string' ? [hostPattern] : hostPattern;
}

function hostRegExp(pattern: string): RegExp {
  // Host names are case-insensitive; the whole name must match, as with Python's re.fullmatch.
  return new RegExp(`^(?:${pattern})$`, 'i');
}

function policyJson(policy: Policy): { [field: string]: JsonValue } {
  return {
    priority: policy.priority,
    minSize: policy.minSize,
    // JSON has no Infinity: an absent maxSize is unbounded.
    ...(policy.maxSize === Infinity ? {} : { maxSize: policy.maxSize }),
    tags: [...policy.tags],
    requiredTags: [...policy.requiredTags],
    ...(policy.hostPattern === undefined ? {} : { hostPattern: typeof policy.hostPattern === 'string' ? policy.hostPattern : [...policy.hostPattern] }),
  };
}

function entriesOption(options: MultiConnectorOptions): MultiConnectorOptions['connectors'] {
  const connectors = (options as Partial<MultiConnectorOptions> | undefined)?.connectors;
  if (typeof connectors !== 'object' || connectors === null || Array.isArray(connectors)) {
    throw new ConfigError("multi connector: option 'connectors' must be an object mapping names to { connector | config, policy }");
  }
  return connectors;
}

function configShape(config: unknown, where: string): ConnectorConfig {
  const candidate = config as Partial<ConnectorConfig> | null;
  if (typeof candidate !== 'object' || candidate === null || typeof candidate.kind !== 'string' || typeof candidate.options !== 'object' || candidate.options === null) {
    throw new ConfigError(`${where}: 'config' must be { kind: string, options: object }`);
  }
  return { kind: candidate.kind, options: candidate.options };
}

function policyOption(value: unknown, where: string, trusted: boolean): Policy {
  if (value === undefined) return { priority: 0, minSize: 0, maxSize: Infinity, tags: [], requiredTags: [], hostPattern: undefined };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(`${where}: 'policy' must be an object`);
  const policy = value as { [field in keyof MultiPolicy]?: unknown };
  const fail = (field: string, expected: string, got: unknown): never => {
    throw new ConfigError(`${where}: policy.${field} must be ${expected}, got ${describeKey(got)}`);
  };
  const number = (field: 'priority' | 'minSize' | 'maxSize', fallback: number, min: number): number => {
    const given = policy[field];
    if (given === undefined) return fallback;
    if (typeof given !== 'number' || Number.isNaN(given) || given < min || (given === Infinity && field !== 'maxSize')) fail(field, `a number >= ${min}`, given);
    return given as number;
  };
  const strings = (field: 'tags' | 'requiredTags'): readonly string[] => {
    const given = policy[field] ?? [];
    if (!Array.isArray(given) || !given.every((tag) => typeof tag === 'string')) fail(field, 'an array of strings', given);
    return [...(given as string[])];
  };
  const priority = number('priority', 0, -Infinity);
  const minSize = number('minSize', 0, 0);
  const maxSize = number('maxSize', Infinity, minSize);
  const hostPattern = policy.hostPattern;
  if (hostPattern !== undefined) {
    const isPatternList = Array.isArray(hostPattern) && hostPattern.length > 0 && hostPattern.every((pattern) => typeof pattern === 'string');
    if (typeof hostPattern !== 'string' && !isPatternList) return fail('hostPattern', 'a regular expression source string or a non-empty list of them', hostPattern);
    const patterns = patternsOf(hostPattern);
    // Each pattern from elsewhere is bounded below; so must be how many run.
    if (!trusted && patterns.length > MAX_UNTRUSTED_PATTERNS) throw new DescriptorError(`${where}: policy.hostPattern from elsewhere is refused: more than ${MAX_UNTRUSTED_PATTERNS} patterns`);
    for (const pattern of patterns) {
      if (!trusted) assertTameHostPattern(pattern, where);
      try {
        hostRegExp(pattern);
      } catch (cause) {
        throw new ConfigError(`${where}: policy.hostPattern is not a valid regular expression (${JSON.stringify(pattern)}): ${(cause as Error).message}`, { cause });
      }
    }
  }
  const known: readonly string[] = ['priority', 'minSize', 'maxSize', 'tags', 'requiredTags', 'hostPattern'];
  const unknown = Object.keys(policy).find((field) => !known.includes(field));
  if (unknown !== undefined) throw new ConfigError(`${where}: unknown policy field '${unknown}' (known: ${known.join(', ')})`);
  const kept = typeof hostPattern === 'string' || hostPattern === undefined ? hostPattern : [...hostPattern];
  return { priority, minSize, maxSize, tags: strings('tags'), requiredTags: strings('requiredTags'), hostPattern: kept };
}

const MAX_UNTRUSTED_PATTERN = 256;
const MAX_UNTRUSTED_ENTRIES = 16;
const MAX_UNTRUSTED_QUANTIFIERS = 4;
const MAX_UNTRUSTED_PATTERNS = 16;

/**
 * A pattern from a descriptor made elsewhere runs here, against our host name,
 * and a backtracking engine can take exponential time on a crafted pattern.
 * Refusing backreferences and repeated groups rules out the exponential
 * cases; capping the quantifiers bounds the polynomial ones (k quantifiers on
 * a host name of n characters backtrack at most about n^(k+1) steps). Refuses
 * conservatively: an escaped ')' before a quantifier also counts as a group.
 */
function assertTameHostPattern(pattern: string, where: string): void {
  const refuse = (why: string): never => {
    throw new DescriptorError(`${where}: policy.hostPattern from elsewhere is refused: ${why}`);
  };
  if (pattern.length > MAX_UNTRUSTED_PATTERN) refuse(`longer than ${MAX_UNTRUSTED_PATTERN} characters`);
  let quantifiers = 0;
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] as string;
    if (char === '\\') {
      if (/[1-9k]/.test(pattern[i + 1] ?? '')) refuse('backreferences are not allowed');
      i++;
    } else if (char === '[') {
      for (i++; i < pattern.length && pattern[i] !== ']'; i++) if (pattern[i] === '\\') i++;
    } else if (char === '*' || char === '+' || (char === '?' && pattern[i - 1] !== '(') || (char === '{' && /^\{\d+(,\d*)?\}/.test(pattern.slice(i)))) {
      // An optional group only doubles the ways to match, and counts against the cap below.
      if (pattern[i - 1] === ')' && char !== '?') refuse('repeated groups are not allowed');
      if (++quantifiers > MAX_UNTRUSTED_QUANTIFIERS) refuse(`more than ${MAX_UNTRUSTED_QUANTIFIERS} quantifiers`);
    }
  }
}

function tagsOption(options: TaggedPutOptions): readonly string[] {
  const tags = options.tags ?? [];
  if (!Array.isArray(tags) || !tags.every((tag) => typeof tag === 'string')) throw new ConfigError(`multi connector: put tags must be an array of strings, got ${describeKey(tags)}`);
  return tags;
}

registerConnectorKind(
  {
    kind: 'multi',
    options: MULTI_OPTIONS,
    fromOptions(options, { trusted, policy }) {
      const connectors = options.connectors;
      if (typeof connectors !== 'object' || connectors === null || Array.isArray(connectors)) {
        throw new ConfigError("multi connector: option 'connectors' must be an object mapping names to { config, policy }");
      }
      // Every active entry is built, so a descriptor from elsewhere could otherwise make the receiver build thousands.
      if (!trusted && Object.keys(connectors).length > MAX_UNTRUSTED_ENTRIES) {
        throw new DescriptorError(`multi connector config from elsewhere may have at most ${MAX_UNTRUSTED_ENTRIES} connectors, got ${Object.keys(connectors).length}`);
      }
      const entries: Record<string, MultiConnectorEntry> = {};
      for (const [name, entry] of Object.entries(connectors)) {
        const where = `multi connector entry '${name}'`;
        if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new ConfigError(`${where}: must be { config, policy }`);
        const { config, policy } = entry as { config?: JsonValue; policy?: JsonValue };
        // Only configs travel: a config naming a live instance cannot exist.
        entries[name] = { config: configShape(config, where), ...(policy === undefined ? {} : { policy: policy as MultiPolicy }) };
      }
      return new MultiConnector({ connectors: entries }, { trusted, policy });
    },
    /** A key routed to an entry is made there: that entry's kind decides. */
    isMadeKey(key, options) {
      if (!isMultiKey(key)) return false;
      const entries = options.connectors as unknown as { readonly [name: string]: { readonly config: ConnectorConfig } };
      return Object.hasOwn(entries, key.c) && isMadeKey((entries[key.c] as { config: ConnectorConfig }).config, key.k);
    },
  },
  { builtin: true },
);
