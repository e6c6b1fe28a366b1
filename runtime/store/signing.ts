/**
 * Signed references: with a secret shared by the processes of one deployment,
 * every descriptor this process writes carries an HMAC over its canonical JSON,
 * and every descriptor it reads must carry a valid one. A signed descriptor was
 * written by a holder of the secret, so the receiver may honour everything it
 * says (connector, cache, metadata); without a secret, the receiver's
 * ReferencePolicy decides instead. See docs/security.md.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ConfigError, DescriptorError } from '../errors.js';

/** Read when no secret was configured in code, so worker processes and threads pick it up without code. */
export const SECRET_ENV = 'PROXYSTORE_SECRET';
/** Shorter secrets can be guessed offline from one signed descriptor. */
const MIN_SECRET_BYTES = 16;
const SIGNATURE_PREFIX = 'hmac-sha256:';
/** Canonical JSON of a descriptor deeper than this is not something this package writes. */
export const MAX_CANONICAL_DEPTH = 32;

export interface ReferenceSigningOptions {
  /**
   * The deployment's shared secret (at least 16 bytes), or null to stop
   * signing and fall back to PROXYSTORE_SECRET. Every process and worker
   * thread that sends or receives references needs the same one: set the
   * environment variable, or call this in each of them.
   */
  readonly secret: string | Uint8Array | null;
}

let configured: Buffer | null = null;

/** Sets (or with `secret: null` clears) the secret this process signs and checks references with. */
export function configureReferences(options: ReferenceSigningOptions): void {
  configured = options.secret === null ? null : secretBytes(options.secret, 'configureReferences: secret');
}

/** The secret in force: the configured one, else PROXYSTORE_SECRET, else none (references are unsigned). */
function referenceSecret(): Buffer | undefined {
  if (configured !== null) return configured;
  const fromEnv = process.env[SECRET_ENV];
  return fromEnv === undefined || fromEnv === '' ? undefined : secretBytes(fromEnv, SECRET_ENV);
}

function secretBytes(secret: unknown, what: string): Buffer {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret instanceof Uint8Array ? Buffer.from(secret) : undefined;
  if (bytes === undefined) throw new ConfigError(`${what} must be a string or a Uint8Array`);
  if (bytes.byteLength < MIN_SECRET_BYTES) throw new ConfigError(`${what} must be at least ${MIN_SECRET_BYTES} bytes long, got ${bytes.byteLength}`);
  return bytes;
}

/** An unsigned `descriptor` with a signature when a secret is in force; as it is otherwise. */
export function signDescriptor<D extends object>(descriptor: D): D {
  const secret = referenceSecret();
  return secret === undefined ? descriptor : { ...descriptor, sig: signatureOf(descriptor, secret) };
}

/**
 * Whether `descriptor` is signed with the secret in force: false when there is
 * no secret (the policy decides then); true when the signature checks out; a
 * DescriptorError otherwise, before anything else of the descriptor is used.
 */
export function verifyDescriptor(descriptor: object): boolean {
  const secret = referenceSecret();
  if (secret === undefined) return false;
  const sig = Object.hasOwn(descriptor, 'sig') ? (descriptor as { sig: unknown }).sig : undefined;
  if (sig === undefined) {
    throw new DescriptorError(
      `unsigned proxy descriptor refused: this process requires signed references (${SECRET_ENV} or configureReferences), so the sender must share the secret`,
    );
  }
  const unsigned: Record<string, unknown> = { ...descriptor };
  delete unsigned.sig;
  const expected = Buffer.from(signatureOf(unsigned, secret));
  const given = typeof sig === 'string' ? Buffer.from(sig) : Buffer.alloc(0);
  if (given.byteLength !== expected.byteLength || !timingSafeEqual(given, expected)) {
    throw new DescriptorError('proxy descriptor refused: its signature does not match (tampered with, or signed with another secret)');
  }
  return true;
}

function signatureOf(unsigned: object, secret: Buffer): string {
  return SIGNATURE_PREFIX + createHmac('sha256', secret).update(canonicalJson(unsigned)).digest('base64url');
}

/**
 * JSON with object keys sorted at every level, so that a descriptor signs the
 * same however its fields were ordered or re-serialized on the way.
 */
export function canonicalJson(value: unknown, depth = 0): string {
  if (depth > MAX_CANONICAL_DEPTH) throw new DescriptorError(`proxy descriptor nests deeper than ${MAX_CANONICAL_DEPTH} levels`);
  if (value === null || typeof value !== 'object') {
    // As JSON.stringify writes it; what it leaves out (undefined) is written as null, which no descriptor field holds.
    return (JSON.stringify(value)) ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item, depth + 1)).join(',')}]`;
  const record = value as Record<string, unknown>;
  const entries = Object.keys(record)
    .filter((key) => record[key] !== undefined)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key], depth + 1)}`);
  return `{${entries.join(',')}}`;
}
