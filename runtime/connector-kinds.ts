import os from 'node:os';
import type { Connector, ConnectorConfig, ConnectorKind, ReferencePolicy } from './connector.js';
import { ConfigError, DescriptorError, describeKey } from './errors.js';

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

/** Make a connector kind rebuildable from its config. Built-in kinds are the ones untrusted descriptors may use by default. */
export function registerConnectorKind(kind: ConnectorKind, options: { builtin?: boolean } = {}): void {
  kinds.set(kind.kind, kind);
  if (options.builtin === true) builtinKinds.add(kind.kind);
}

export function isConnectorKindRegistered(kind: string): boolean {
  return kinds.has(kind);
}

const LOOPBACK = ['127.0.0.1', 'localhost', '::1'];

export function resolvePolicy(policy: ReferencePolicy = {}): Required<ReferencePolicy> {
  checkPolicy(policy);
  return {
    kinds: policy.kinds ?? [...new Set([...Object.keys(BUILTIN_MODULES), ...builtinKinds])],
    fileRoots: policy.fileRoots ?? [os.tmpdir()],
    hosts: policy.hosts ?? LOOPBACK,
  };
}

/**
 * Rebuild a connector from its config. Trusted configs (from this process's own
 * stores) may name any registered kind; untrusted ones only the policy's kinds.
 */
export function connectorFromConfig(
  config: ConnectorConfig,
  { trusted = true, policy }: { trusted?: boolean; policy?: ReferencePolicy } = {},
): Connector {
  if (typeof config !== 'object' || config === null || typeof config.kind !== 'string') {
    throw new ConfigError(`connector config must be an object with a string 'kind', got ${JSON.stringify(config)}`);
  }
  const resolved = resolvePolicy(policy);
  if (!trusted && !resolved.kinds.includes(config.kind)) {
    throw new DescriptorError(
      `connector kind '${config.kind}' is not allowed for references from elsewhere (allowed: ${resolved.kinds.join(', ') || 'none'})`,
    );
  }
  const kind = kinds.get(config.kind);
  if (kind === undefined) {
    const module = BUILTIN_MODULES[config.kind];
    const hint = module === undefined ? 'import its module first' : `import '${module}' first`;
    throw new ConfigError(`unknown connector kind '${config.kind}' (registered: ${[...kinds.keys()].join(', ') || 'none'}); ${hint}`);
  }
  if (typeof config.options !== 'object' || config.options === null || Array.isArray(config.options)) {
    throw new ConfigError(`connector '${config.kind}': options must be an object`);
  }
  return kind.fromOptions(config.options, { trusted, policy: resolved });
}

/**
 * A policy list given as a string would be searched by substring
 * (`'filesystem'.includes('file')`), allowing what it meant to refuse.
 */
function checkPolicy(policy: unknown): void {
  if (typeof policy !== 'object' || policy === null) throw new ConfigError(`policy must be an object of lists (kinds, fileRoots, hosts), got ${String(policy)}`);
  for (const field of ['kinds', 'fileRoots', 'hosts'] as const) {
    const list = (policy as Record<string, unknown>)[field];
    if (list !== undefined && !(Array.isArray(list) && list.every((item) => typeof item === 'string'))) {
      throw new ConfigError(`policy.${field} must be an array of strings, got ${describeKey(list)}`);
    }
  }
}
