import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  configureReferences,
  DescriptorError,
  FileConnector,
  MemoryConnector,
  Store,
  decodeProxies,
  encodeProxies,
  extract,
  getKey,
  isProxy,
  isResolved,
  proxy,
  proxyReviver,
  registerClass,
  unregisterClass,
  type Proxy,
  type ProxyDescriptor,
} from '../src/index.js';

const stores: Store[] = [];
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close({ clear: true })));
});
function memoryStore(name: string): Store {
  const store = new Store(name, new MemoryConnector(), { metrics: true });
  stores.push(store);
  return store;
}

describe('encodeProxies / decodeProxies', () => {
  it('replaces proxies at any depth and leaves containers without proxies untouched', async () => {
    const store = memoryStore('enc');
    const p = await store.proxy(new Float64Array([1, 2]));
    const q = await store.proxy({ name: 'q' });
    const untouched = { big: new Uint8Array(10), list: [1, 2] };
    const input = { a: [1, p, { deep: q }], m: new Map<unknown, unknown>([[q, p]]), s: new Set([p]), untouched };
    const encoded = encodeProxies(input) as unknown as typeof input;
    expect(encoded).not.toBe(input);
    expect(encoded.untouched).toBe(untouched);
    expect(input.a[1]).toBe(p); // the input is not mutated
    const descriptor = encoded.a[1] as unknown as ProxyDescriptor;
    expect(descriptor.$proxystore).toBe(1);
    expect(descriptor.key).toEqual(getKey(p));
    expect(descriptor.metadata.kind).toBe('object');
    expect(JSON.stringify(encoded.a[1]).length).toBeLessThan(400);
    // Encoded values survive structured clone, unlike raw proxies.
    expect(() => structuredClone(input)).toThrow();
    const cloned = structuredClone(encoded);
    const decoded = decodeProxies<typeof input>(cloned as never);
    const dp = decoded.a[1] as Float64Array;
    expect(isProxy(dp)).toBe(true);
    expect(isResolved(dp)).toBe(false);
    expect(Array.from(dp)).toEqual([1, 2]);
    const [mk, mv] = [...decoded.m][0] ?? [];
    expect(isProxy(mk) && isProxy(mv)).toBe(true);
    expect((mk as { name: string }).name).toBe('q');
    expect([...decoded.s].every((x) => isProxy(x))).toBe(true);
  });

  it('handles cycles', async () => {
    const store = memoryStore('cycle');
    const p = await store.proxy({ v: 1 });
    const node: { self?: unknown; p: unknown } = { p };
    node.self = node;
    const encoded = encodeProxies(node) as unknown as typeof node;
    expect(encoded.self).toBe(encoded);
    const decoded = decodeProxies<typeof node>(structuredClone(encoded) as never);
    expect(decoded.self).toBe(decoded);
    expect((decoded.p as { v: number }).v).toBe(1);
  });

  it('returns values without proxies as they are', () => {
    const value = { a: [1, 2, { b: 'c' }] };
    expect(encodeProxies(value)).toBe(value);
    expect(decodeProxies(value)).toBe(value);
  });

  it('refuses proxies that have no store behind them', () => {
    const p = proxy(() => ({ a: 1 }));
    expect(() => encodeProxies([p])).toThrow(DescriptorError);
  });

  it('decoded proxies keep the evict flag and metadata', async () => {
    const store = memoryStore('flags');
    const p = await store.proxy([1, 2, 3], { evict: true });
    const decoded = decodeProxies(structuredClone(encodeProxies(p)));
    expect(Array.isArray(decoded)).toBe(true);
    expect(decoded.length).toBe(3);
    await new Promise((r) => setImmediate(r));
    expect(await store.exists(getKey(p)!)).toBe(false);
  });
});

describe('metadata across boundaries', () => {
  class Model {
    weights = [0.25, 0.75];
    total(): number {
      return this.weights.reduce((a, b) => a + b, 0);
    }
  }
  afterEach(() => unregisterClass(Model));

  it('a registered class answers instanceof on the receiving side without resolving, for a signed descriptor', async () => {
    registerClass(Model, 'test.Model');
    configureReferences({ secret: 'classes-secret-0123456789' });
    try {
      const store = memoryStore('classes');
      const p = await store.proxy(new Model());
      const decoded = decodeProxies(structuredClone(encodeProxies(p)));
      expect(isResolved(decoded)).toBe(false);
      expect(decoded instanceof Model).toBe(true);
      expect(isResolved(decoded)).toBe(false);
      expect(decoded.total()).toBe(1);
    } finally {
      configureReferences({ secret: null });
    }
  });

  it('an unsigned descriptor cannot claim a type: instanceof resolves the target and tells the truth', async () => {
    registerClass(Model, 'test.Model');
    const store = memoryStore('forged-classes');
    const plain = encodeProxies(await store.proxy({ weights: [1] })) as unknown as ProxyDescriptor;
    const forged = { ...plain, metadata: { kind: 'object', typeName: 'Float64Array', className: 'test.Model' } };
    const decoded = decodeProxies(structuredClone(forged)) as object;
    expect(decoded instanceof Float64Array).toBe(false);
    expect(decoded instanceof Model).toBe(false);
    expect(isResolved(decoded)).toBe(true);
    const genuine = decodeProxies(structuredClone(encodeProxies(await store.proxy(new Model()))));
    expect(genuine instanceof Model).toBe(true);
  });
});

describe('JSON', () => {
  it('JSON.stringify writes the descriptor and the reviver brings the proxy back', async () => {
    const store = memoryStore('json');
    const p = await store.proxy({ secret: 'target-value' });
    const text = JSON.stringify({ payload: p });
    expect(text).not.toContain('target-value');
    expect(text).toContain('$proxystore');
    const back = JSON.parse(text, proxyReviver()) as { payload: Proxy<{ secret: string }> };
    expect(isProxy(back.payload)).toBe(true);
    expect(back.payload.secret).toBe('target-value');
    expect(extract(back.payload)).toEqual({ secret: 'target-value' });
  });
});

describe('descriptor policy', () => {
  const descriptorFor = async (store: Store): Promise<ProxyDescriptor> =>
    structuredClone(encodeProxies(await store.proxy({ a: 1 }))) as unknown as ProxyDescriptor;

  it('rejects malformed descriptors, naming the bad field', async () => {
    const good = await descriptorFor(memoryStore('bad'));
    const cases: [unknown, RegExp][] = [
      [{ ...good, $proxystore: 2 }, /version/],
      [{ ...good, key: undefined }, /key/],
      [{ ...good, evict: 'yes' }, /evict/],
      [{ ...good, metadata: { kind: 'symbol' } }, /metadata\.kind/],
      [{ ...good, store: { ...good.store, name: '' } }, /store\.name/],
      [{ ...good, store: { ...good.store, connector: null } }, /connector/],
      [{ ...good, store: { ...good.store, cacheBytes: -1 } }, /cacheBytes/],
    ];
    for (const [bad, message] of cases) {
      expect(() => decodeProxies({ x: bad })).toThrow(DescriptorError);
      expect(() => decodeProxies({ x: bad })).toThrow(message);
    }
  });

  it('refuses connector kinds outside the policy', async () => {
    const good = await descriptorFor(memoryStore('kinds'));
    const evil = { ...good, store: { ...good.store, name: 'evil', connector: { kind: 'shell', options: { cmd: 'rm -rf /' } } } };
    expect(() => decodeProxies(evil)).toThrow(/connector kind 'shell' is not allowed/);
    const noMemory = { ...good, store: { ...good.store, name: 'no-memory' } };
    expect(() => decodeProxies(noMemory, { policy: { kinds: ['file'] } })).toThrow(DescriptorError);
  });

  it('refuses file directories outside the allowed roots', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'policy-'));
    const store = new Store('file-policy', new FileConnector({ directory: root }));
    stores.push(store);
    const good = await descriptorFor(store);
    const outside = { ...good, store: { ...good.store, name: 'etc', connector: { kind: 'file', options: { directory: '/etc' } } } };
    expect(() => decodeProxies(outside)).toThrow(DescriptorError);
    expect(() => decodeProxies(outside)).toThrow(/\/etc/);
    const allowed = { ...good, store: { ...good.store, name: 'file-policy-2' } };
    const decoded = decodeProxies(allowed, { policy: { fileRoots: [root] } }) as { a: number };
    expect(decoded.a).toBe(1);
    await fs.rm(root, { recursive: true, force: true });
  });
});
