/**
 * Replay of signed descriptors: what is signed includes when (`iat`), so old
 * ones are refused after the receiver's `policy.maxReferenceAgeMs`, and a
 * descriptor that makes its receiver delete the object (an owned proxy that
 * moves, `evict: true`) carries a nonce and is accepted once per thread.
 */
import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { canonicalJson, spentNonceCount } from '../runtime/store/signing.js';
import {
  ConfigError,
  DescriptorError,
  MemoryConnector,
  Store,
  configureReferences,
  decodeProxies,
  encodeProxies,
  proxyReviver,
  type ProxyDescriptor,
} from '../src/index.js';
import { jsonRoundTrip, thrown } from '../runtime/testing/outcomes.js';

const SECRET = 'a-deployment-secret-of-32-bytes!';
const HOUR = 60 * 60 * 1000;
const stores: Store[] = [];
afterEach(async () => {
  vi.useRealTimers();
  configureReferences({ secret: null });
  await Promise.all(stores.splice(0).map((store) => store.close({ clear: true })));
});

function signedStore(): Store {
  configureReferences({ secret: SECRET });
  const store = new Store(`replay-${crypto.randomUUID()}`, new MemoryConnector());
  stores.push(store);
  return store;
}

type Signed = ProxyDescriptor & { iat?: number; nonce?: string; ownership?: string };

/** Descriptors as they arrive, signed by this process at the time given (the wall clock when absent). */
async function signedAt(kind: 'plain' | 'evict' | 'owned', at?: number): Promise<Signed> {
  const store = signedStore();
  if (at !== undefined) {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(at);
  }
  const p = kind === 'owned' ? await store.ownedProxy({ v: kind }) : await store.proxy({ v: kind }, { evict: kind === 'evict' });
  const descriptor = jsonRoundTrip(encodeProxies(p)) as unknown as Signed;
  vi.useRealTimers();
  return descriptor;
}

/** A signature made here by hand, for descriptors the sender would never write. */
function resigned(descriptor: Record<string, unknown>): Record<string, unknown> {
  const unsigned = { ...descriptor };
  delete unsigned.sig;
  return { ...unsigned, sig: `hmac-sha256:${createHmac('sha256', SECRET).update(canonicalJson(unsigned)).digest('base64url')}` };
}

function refusal(run: () => unknown): Error {
  const error = thrown(run);
  expect(error).toBeInstanceOf(DescriptorError);
  return error as Error;
}

describe('signed descriptors carry when they were signed', () => {
  it('stamps iat on every signed descriptor, and a nonce only on ones that delete their object', async () => {
    const before = Date.now();
    const [plain, evict, owned] = [await signedAt('plain'), await signedAt('evict'), await signedAt('owned')];
    for (const d of [plain, evict, owned]) {
      expect(d.iat).toBeGreaterThanOrEqual(before);
      expect(d.iat).toBeLessThanOrEqual(Date.now());
    }
    expect(plain.nonce).toBeUndefined();
    expect(evict.nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(owned.nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(evict.nonce).not.toBe(owned.nonce);
  });

  it('refuses a descriptor signed longer ago than the policy allows: 24 hours by default', async () => {
    const old = await signedAt('plain', Date.now() - 25 * HOUR);
    expect(refusal(() => decodeProxies(old)).message).toMatch(/expired.*maxReferenceAgeMs/);
    const recent = await signedAt('plain', Date.now() - 23 * HOUR);
    expect(() => decodeProxies(recent)).not.toThrow();
    const twoSeconds = await signedAt('plain', Date.now() - 2_000);
    expect(refusal(() => decodeProxies(twoSeconds, { policy: { maxReferenceAgeMs: 1_000 } })).message).toMatch(/expired/);
    expect(refusal(() => JSON.parse(JSON.stringify(twoSeconds), proxyReviver({ policy: { maxReferenceAgeMs: 1_000 } }))).message).toMatch(/expired/);
  });

  it('refuses one signed more than a minute in its future, and tolerates a little skew', async () => {
    const ahead = await signedAt('plain', Date.now() + 5 * 60_000);
    expect(refusal(() => decodeProxies(ahead)).message).toMatch(/future/);
    const slightlyAhead = await signedAt('plain', Date.now() + 5_000);
    expect(() => decodeProxies(slightlyAhead)).not.toThrow();
  });

  it('refuses a signed descriptor without an issue time, or with a malformed one', async () => {
    const d = (await signedAt('plain')) as unknown as Record<string, unknown>;
    const withoutIat = { ...d };
    delete withoutIat.iat;
    expect(refusal(() => decodeProxies(resigned(withoutIat))).message).toMatch(/no issue time/);
    expect(refusal(() => decodeProxies(resigned({ ...d, iat: '1700000000000' }))).message).toMatch(/no issue time/);
    expect(refusal(() => decodeProxies(resigned({ ...d, iat: 1.5 }))).message).toMatch(/no issue time/);
  });

  it('refuses a changed iat or nonce: both are signed', async () => {
    const owned = await signedAt('owned');
    expect(refusal(() => decodeProxies({ ...owned, iat: (owned.iat as number) - 1 })).message).toMatch(/signature/);
    expect(refusal(() => decodeProxies({ ...owned, nonce: 'A'.repeat(22) })).message).toMatch(/signature/);
  });

  it('refuses a policy whose maxReferenceAgeMs is not a non-negative integer', () => {
    expect(() => decodeProxies({}, { policy: { maxReferenceAgeMs: -1 } })).toThrow(ConfigError);
  });
});

describe('descriptors that delete their object are accepted once per thread', () => {
  for (const kind of ['owned', 'evict'] as const) {
    it(`refuses a replayed ${kind} descriptor, through decodeProxies and the reviver`, async () => {
      const d = await signedAt(kind);
      expect(() => decodeProxies(structuredClone(d))).not.toThrow();
      expect(refusal(() => decodeProxies(structuredClone(d))).message).toMatch(/received it already/);
      expect(refusal(() => void JSON.parse(JSON.stringify(d), proxyReviver())).message).toMatch(/received it already/);
      const viaReviver = await signedAt(kind);
      expect(() => void JSON.parse(JSON.stringify(viaReviver), proxyReviver())).not.toThrow();
      expect(refusal(() => decodeProxies(viaReviver)).message).toMatch(/received it already/);
    });
  }

  it('accepts a plain signed descriptor any number of times', async () => {
    const d = await signedAt('plain');
    for (let i = 0; i < 3; i++) expect(() => decodeProxies(structuredClone(d))).not.toThrow();
  });

  it('refuses a message holding one twice, and a refused message spends nothing', async () => {
    const owned = await signedAt('owned');
    expect(refusal(() => decodeProxies([owned, structuredClone(owned)])).message).toMatch(/holds it twice/);
    const plain = await signedAt('plain');
    expect(refusal(() => decodeProxies([owned, { ...plain, key: 'tampered' }])).message).toMatch(/signature/);
    // Neither refusal used it up.
    expect(() => decodeProxies(owned)).not.toThrow();
  });

  it('refuses a nonce on a descriptor that deletes nothing', async () => {
    const plain = (await signedAt('plain')) as unknown as Record<string, unknown>;
    expect(refusal(() => decodeProxies(resigned({ ...plain, nonce: 'A'.repeat(22) }))).message).toMatch(/deletes nothing/);
    const owned = (await signedAt('owned')) as unknown as Record<string, unknown>;
    const withoutNonce = { ...owned };
    delete withoutNonce.nonce;
    expect(refusal(() => decodeProxies(resigned(withoutNonce))).message).toMatch(/must carry a nonce/);
  });

  it('forgets expired nonces, and then refuses deleting descriptors signed before what it forgot', async () => {
    const now = Date.now();
    const older = await signedAt('owned', now - 3_000);
    const first = await signedAt('owned', now - 2_000);
    decodeProxies(first);
    expect(spentNonceCount()).toBeGreaterThan(0);
    // Ten seconds on, under a 1 s policy, the next check forgets every nonce so far (all expired): the floor rises to their issue times.
    const later = now + 10_000;
    const next = await signedAt('owned', later);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(later);
    decodeProxies(next, { policy: { maxReferenceAgeMs: 1_000 } });
    expect(spentNonceCount()).toBe(1);
    // Under the default policy `older` and `first` are young enough, but signed before the floor: they may have been seen.
    expect(refusal(() => decodeProxies(older)).message).toMatch(/oldest such descriptor/);
    expect(refusal(() => decodeProxies(first)).message).toMatch(/oldest such descriptor/);
    expect(refusal(() => decodeProxies(next)).message).toMatch(/received it already/);
  });
});
