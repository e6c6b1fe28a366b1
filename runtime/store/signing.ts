/**
 * Signed references: with a secret shared by the processes of one deployment,
 * every descriptor this process writes carries an HMAC over its canonical JSON,
 * and every descriptor it reads must carry a valid one. A signed descriptor was
 * written by a holder of the secret, so the receiver may honour everything it
 * says (connector, cache, metadata); without a secret, the receiver's
 * ReferencePolicy decides instead. See docs/security.md.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
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

/**
 * Whether this thread signs and checks references (a secret is in force):
 * then only descriptors, which carry signatures, may name objects to read.
 */
export function signsReferences(): boolean {
  return referenceSecret() !== undefined;
}

function secretBytes(secret: unknown, what: string): Buffer {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret instanceof Uint8Array ? Buffer.from(secret) : undefined;
  if (bytes === undefined) throw new ConfigError(`${what} must be a string or a Uint8Array`);
  if (bytes.byteLength < MIN_SECRET_BYTES) throw new ConfigError(`${what} must be at least ${MIN_SECRET_BYTES} bytes long, got ${bytes.byteLength}`);
  return bytes;
}

/**
 * An issued-at clock this far ahead of the receiver's is tolerated: the
 * sender's clock may run a little fast, not hours.
 */
const MAX_CLOCK_SKEW_MS = 60_000;
const NONCE_BYTES = 16;
const NONCE_PATTERN = /^[A-Za-z0-9_-]{22}$/;

/** A signed descriptor's stamp: when it was signed, and for one that deletes its object, what makes it usable once. */
export interface SignedStamp {
  readonly iat: number;
  readonly nonce?: string;
}

/**
 * An unsigned `descriptor` with a signature when a secret is in force; as it
 * is otherwise. What is signed includes `iat` (now, in ms since the epoch), so
 * receivers can refuse old descriptors, and for a descriptor that makes its
 * receiver delete the object (an owned proxy moving, or `evict: true`) a
 * random `nonce`, so each receiving thread accepts it once.
 */
export function signDescriptor<D extends object>(descriptor: D): D {
  const secret = referenceSecret();
  if (secret === undefined) return descriptor;
  const stamped = { ...descriptor, iat: Date.now(), ...(deletesObject(descriptor) ? { nonce: randomBytes(NONCE_BYTES).toString('base64url') } : {}) };
  return { ...stamped, sig: signatureOf(stamped, secret) };
}

/** A descriptor whose receiver deletes the object: a second receiver would hold a deleted object, or delete it twice. */
function deletesObject(descriptor: object): boolean {
  const d = descriptor as { evict?: unknown; ownership?: unknown };
  return d.evict === true || d.ownership === 'owned';
}

/**
 * The stamp of `descriptor` when it is signed with the secret in force:
 * undefined when there is no secret (the policy decides then); a
 * DescriptorError, before anything else of the descriptor is used, when the
 * signature does not check out, when it was signed more than `maxAgeMs` ago
 * or ahead of this clock, or when it deletes its object and this thread has
 * received it already (see `spendOnce`).
 */
export function verifyDescriptor(descriptor: object, maxAgeMs: number): SignedStamp | undefined {
  const secret = referenceSecret();
  if (secret === undefined) return undefined;
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
  return checkStamp(unsigned, maxAgeMs);
}

function checkStamp(signed: Record<string, unknown>, maxAgeMs: number): SignedStamp {
  const { iat, nonce } = signed;
  if (!Number.isSafeInteger(iat) || (iat as number) < 0) {
    throw new DescriptorError('signed proxy descriptor refused: it carries no issue time (iat), so its age cannot be told; was it signed by an older ts-proxystore?');
  }
  const age = Date.now() - (iat as number);
  if (age > maxAgeMs) {
    throw new DescriptorError(`signed proxy descriptor refused: it expired, signed ${age} ms ago, more than policy.maxReferenceAgeMs (${maxAgeMs} ms): replayed, or sent long ago`);
  }
  if (-age > MAX_CLOCK_SKEW_MS) {
    throw new DescriptorError(`signed proxy descriptor refused: it was signed ${-age} ms in this clock's future (more than ${MAX_CLOCK_SKEW_MS} ms): check the clocks`);
  }
  if (!deletesObject(signed)) {
    if (nonce !== undefined) throw new DescriptorError('signed proxy descriptor refused: a nonce on a descriptor that deletes nothing');
    return { iat: iat as number };
  }
  if (typeof nonce !== 'string' || !NONCE_PATTERN.test(nonce)) {
    throw new DescriptorError('signed proxy descriptor refused: one that deletes its object (owned, or evict) must carry a nonce, so it is used once');
  }
  checkUnspent(nonce, iat as number, maxAgeMs);
  return { iat: iat as number, nonce };
}

/**
 * Nonces of deleting descriptors this thread received, with their issue
 * times, oldest received first. Every one issued after `spentFloor` is here:
 * the map forgets old entries (expired ones, and past `MAX_SPENT` the
 * oldest), and each one it forgets raises the floor to its issue time, so a
 * descriptor issued at or before the floor is refused as possibly seen.
 */
const spent = new Map<string, number>();
let spentFloor = -1;
/** About 100 bytes each: at most ~10 MB however many owned proxies arrive within the max age. */
const MAX_SPENT = 100_000;

function checkUnspent(nonce: string, iat: number, maxAgeMs: number): void {
  forgetSpent(Date.now() - maxAgeMs, MAX_SPENT);
  if (spent.has(nonce)) {
    throw new DescriptorError('signed proxy descriptor refused: it deletes its object and this thread received it already (replayed, or sent twice)');
  }
  if (iat <= spentFloor) {
    throw new DescriptorError(
      'signed proxy descriptor refused: it deletes its object and was signed before the oldest such descriptor this thread still remembers, so it may have been received already',
    );
  }
}

function forgetSpent(expiredBefore: number, keep: number): void {
  for (const [nonce, iat] of spent) {
    if (iat >= expiredBefore && spent.size <= keep) break;
    spent.delete(nonce);
    spentFloor = Math.max(spentFloor, iat);
  }
}

/**
 * Marks checked stamps as used, once every descriptor of their message passed
 * its checks, so a refused message spends nothing; refuses them all when two
 * carry one nonce (a descriptor copied within the message). Stamps without a
 * nonce may be used any number of times.
 */
export function spendOnce(stamps: Iterable<SignedStamp | undefined>): void {
  const nonces = new Map<string, number>();
  for (const stamp of stamps) {
    if (stamp?.nonce === undefined) continue;
    if (nonces.has(stamp.nonce)) throw new DescriptorError('signed proxy descriptor refused: it deletes its object and the message holds it twice');
    nonces.set(stamp.nonce, stamp.iat);
  }
  for (const [nonce, iat] of nonces) spent.set(nonce, iat);
  forgetSpent(-Infinity, MAX_SPENT);
}

/** How many nonces this thread remembers (for tests of the bound). */
export function spentNonceCount(): number {
  return spent.size;
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
