import { createRequire } from 'node:module';
import os from 'node:os';
import type { Connector, ConnectorConfig, ConnectorKind, Key, ReferencePolicy } from './connector.js';
import { ConfigError, DescriptorError, buildFromElsewhere, messageOf } from '../errors.js';
import { rejectUnknownOptions } from './options.js';

const kinds = new Map<string, ConnectorKind>();
const builtinKinds = new Set<string>();
/** Where each built-in kind lives, so an error can say what to import when it is not loaded yet. */
const BUILTIN_MODULES: Readonly<Record<string, string>> = {
  memory: 'ts-proxystore',
  file: 'ts-proxystore',
  'shared-memory': 'ts-proxystore',
  multi: 'ts-proxystore',
  redis: 'ts-proxystore/connectors/redis',
  peer: 'ts-proxystore/connectors/peer',
};
/**
 * Built-in kinds whose module the main entry does not import (it would pull in
 * an optional peer dependency, or a server nobody asked for), loaded the first time a config names them, so
 * that a process importing only 'ts-proxystore' can decode any built-in
 * reference. Paths are relative to this module in the build.
 */
const ON_DEMAND_MODULES: Readonly<Record<string, { readonly module: string; readonly needs: string }>> = {
  redis: { module: './redis.js', needs: 'ioredis' },
  peer: { module: './peer.js', needs: 'ts-proxystore' },
};
/** Node >= 20.19 can require() an ES module synchronously, which decoding (a synchronous call) needs. */
const requireModule = createRequire(import.meta.url);

/** Make a connector kind rebuildable from its config. Built-in kinds are the ones untrusted descriptors may use by default. */
export function registerConnectorKind(kind: ConnectorKind, options: { builtin?: boolean } = {}): void {
  kinds.set(kind.kind, kind);
  if (options.builtin === true) builtinKinds.add(kind.kind);
}

export function isConnectorKindRegistered(kind: string): boolean {
  return kinds.has(kind);
}

const LOOPBACK = ['127.0.0.1', 'localhost', '::1'];
const DEFAULT_REDIS_PREFIXES = ['proxystore:'];
const DEFAULT_MAX_CACHE_SIZE = 1024;
/** A store's own default budget: what senders that never set one send, and what up to 64 built stores may each hold. */
const DEFAULT_MAX_CACHE_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_REFERENCE_AGE_MS = 24 * 60 * 60 * 1000;
/** setTimeout cannot wait longer than this; a bound above it would fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

/** `policy` with every default filled in; a malformed policy is a ConfigError naming the field. */
export function resolvePolicy(policy?: ReferencePolicy): Required<ReferencePolicy> {
  if (policy === undefined) return defaultPolicy();
  if (typeof policy !== 'object' || policy === null) throw new ConfigError(`reference policy must be an object, got ${String(policy)}`);
  if (resolvedPolicies.has(policy)) return policy as Required<ReferencePolicy>;
  const resolved: Required<ReferencePolicy> = {
    kinds: strings(policy, 'kinds') ?? [...new Set([...Object.keys(BUILTIN_MODULES), ...builtinKinds])],
    fileRoots: strings(policy, 'fileRoots') ?? [os.tmpdir()],
    hosts: strings(policy, 'hosts') ?? LOOPBACK,
    credentialServers: strings(policy, 'credentialServers') ?? [],
    redisPrefixes: strings(policy, 'redisPrefixes') ?? DEFAULT_REDIS_PREFIXES,
    maxCacheSize: bound(policy, 'maxCacheSize', DEFAULT_MAX_CACHE_SIZE, Number.MAX_SAFE_INTEGER),
    maxCacheBytes: bound(policy, 'maxCacheBytes', DEFAULT_MAX_CACHE_BYTES, Number.MAX_SAFE_INTEGER),
    maxTimeoutMs: bound(policy, 'maxTimeoutMs', DEFAULT_MAX_TIMEOUT_MS, MAX_TIMER_MS),
    maxReferenceAgeMs: bound(policy, 'maxReferenceAgeMs', DEFAULT_MAX_REFERENCE_AGE_MS, Number.MAX_SAFE_INTEGER),
  };
  resolvedPolicies.add(resolved);
  return resolved;
}

/** Policies resolvePolicy made, so that passing one on (decode, store, connector) does not check and copy it again. */
const resolvedPolicies = new WeakSet<object>();

/** The environment variables os.tmpdir() reads on this platform: the default file root changes only when one of them does. */
const TEMP_DIR_VARIABLES = process.platform === 'win32' ? ['TEMP', 'TMP', 'SystemRoot', 'windir'] : ['TMPDIR', 'TMP', 'TEMP'];
let lastDefault: { readonly env: string; readonly builtins: number; readonly policy: Required<ReferencePolicy>; checkedAt: number } | undefined;

/** How long the default policy is used without looking at the temp dir's variables again. */
const DEFAULT_RECHECK_MS = 1;

/**
 * The default policy, made again only when what it is made of changed (the
 * temp dir, built-in kinds registered since): every task call and reply asks
 * for it, and one object also lets the caches keyed by policy (built stores,
 * checked configs) hit. os.tmpdir() costs far more than reading the
 * variables it depends on, and reading them (0.15–0.2 µs each, measured here)
 * more than the clock: they are looked at again at most once a millisecond.
 */
function defaultPolicy(): Required<ReferencePolicy> {
  const now = performance.now();
  if (lastDefault !== undefined && lastDefault.builtins === builtinKinds.size && now - lastDefault.checkedAt < DEFAULT_RECHECK_MS) return lastDefault.policy;
  const env = TEMP_DIR_VARIABLES.map((name) => process.env[name] ?? '').join('\0');
  if (lastDefault?.env !== env || lastDefault.builtins !== builtinKinds.size) lastDefault = { env, builtins: builtinKinds.size, policy: resolvePolicy({}), checkedAt: now };
  else lastDefault.checkedAt = now;
  return lastDefault.policy;
}

/** A list field of the policy; a lone string is refused rather than matched by substring. */
function strings(policy: ReferencePolicy, field: 'kinds' | 'fileRoots' | 'hosts' | 'credentialServers' | 'redisPrefixes'): readonly string[] | undefined {
  const value: unknown = policy[field];
  if (value === undefined) return undefined;
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value;
  throw new ConfigError(`reference policy: '${field}' must be an array of strings, got ${JSON.stringify(value)}`);
}

function bound(policy: ReferencePolicy, field: 'maxCacheSize' | 'maxCacheBytes' | 'maxTimeoutMs' | 'maxReferenceAgeMs', fallback: number, max: number): number {
  const value: unknown = policy[field];
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max) return value;
  throw new ConfigError(`reference policy: '${field}' must be an integer from 0 to ${max}, got ${JSON.stringify(value)}`);
}

/**
 * Rebuild a connector from its config. Trusted configs (from this process's own
 * stores, or signed descriptors) may name any registered kind; untrusted ones
 * only the policy's kinds, and each kind checks their options against the policy.
 */
export function connectorFromConfig(
  config: ConnectorConfig,
  { trusted = true, policy }: { trusted?: boolean; policy?: ReferencePolicy } = {},
): Connector {
  const resolved = resolvePolicy(policy);
  const kind = kindOf(config, trusted, resolved);
  if (kind.options !== undefined) checkOptionNames(kind.kind, config.options, kind.options, trusted);
  const build = (): Connector => kind.fromOptions(config.options, { trusted, policy: resolved });
  return trusted ? build() : buildFromElsewhere(`${kind.kind} connector config`, build);
}

/** An unknown option is the caller's mistake in a config of its own, and a refused descriptor in one from elsewhere. */
function checkOptionNames(kind: string, options: ConnectorConfig['options'], known: readonly string[], trusted: boolean): void {
  try {
    rejectUnknownOptions(kind, options, known);
  } catch (error) {
    if (trusted) throw error;
    throw new DescriptorError(`connector config from elsewhere: ${messageOf(error)}`, { cause: error });
  }
}

/**
 * Whether `key` is shaped like a key a connector of `config` makes (see
 * `ConnectorKind.isMadeKey`); `config` must have passed connectorFromConfig.
 */
export function isMadeKey(config: ConnectorConfig, key: Key): boolean {
  const kind = kinds.get(config.kind) ?? loadBuiltin(config.kind);
  return kind?.isMadeKey === undefined || kind.isMadeKey(key, config.options);
}

/** The registered kind `config` names, loading a built-in one on first use; checks the kind against the policy first. */
function kindOf(config: ConnectorConfig, trusted: boolean, policy: Required<ReferencePolicy>): ConnectorKind {
  if (typeof config !== 'object' || config === null || typeof config.kind !== 'string') {
    throw new ConfigError(`connector config must be an object with a string 'kind', got ${JSON.stringify(config)}`);
  }
  if (!trusted && !policy.kinds.includes(config.kind)) {
    throw new DescriptorError(
      `connector kind '${config.kind}' is not allowed for references from elsewhere (allowed: ${policy.kinds.join(', ') || 'none'})`,
    );
  }
  if (typeof config.options !== 'object' || config.options === null || Array.isArray(config.options)) {
    throw new ConfigError(`connector '${config.kind}': options must be an object`);
  }
  const kind = kinds.get(config.kind) ?? loadBuiltin(config.kind);
  if (kind === undefined) {
    throw new ConfigError(`unknown connector kind '${config.kind}' (registered: ${[...kinds.keys()].join(', ') || 'none'}); import its module first`);
  }
  return kind;
}

/** Loading the module registers its kind. Undefined for kinds that are not built in. */
function loadBuiltin(name: string): ConnectorKind | undefined {
  if (!Object.hasOwn(ON_DEMAND_MODULES, name)) return undefined;
  const { module, needs } = ON_DEMAND_MODULES[name] as { module: string; needs: string };
  try {
    requireModule(module);
  } catch (cause) {
    throw new ConfigError(
      `connector kind '${name}' could not be loaded (${messageOf(cause).split('\n')[0] as string}): install '${needs}', or import '${BUILTIN_MODULES[name] as string}' first`,
      { cause },
    );
  }
  return kinds.get(name);
}

/**
 * Whether a policy's `hosts` admit `host` on `port`: an entry `host` admits
 * any port, `host:port` (or `[v6]:port`) only that one. Names compare
 * case-insensitively; brackets around IPv6 addresses are optional.
 */
export function isAllowedEndpoint(host: string, port: number, hosts: readonly string[]): boolean {
  const wanted = unbracket(host).toLowerCase();
  return hosts.some((entry) => {
    const { host: allowedHost, port: allowedPort } = splitHostPort(entry);
    return allowedHost.toLowerCase() === wanted && (allowedPort === undefined || allowedPort === port);
  });
}

/** `host`, `host:port`, `[v6]` or `[v6]:port`; a bare IPv6 address (several colons) has no port. */
export function splitHostPort(entry: string): { host: string; port: number | undefined } {
  const bracketed = /^\[([^\]]*)\](?::(\d{1,5}))?$/.exec(entry);
  if (bracketed !== null) return { host: bracketed[1] as string, port: bracketed[2] === undefined ? undefined : Number(bracketed[2]) };
  const withPort = /^([^:]+):(\d{1,5})$/.exec(entry);
  if (withPort !== null) return { host: withPort[1] as string, port: Number(withPort[2]) };
  return { host: entry, port: undefined };
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

