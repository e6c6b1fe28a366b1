/**
 * decodeProxies and the JSON reviver over generated and mutated descriptors:
 * every input gives either a typed error or a correct value (descriptors
 * replaced by proxies, everything else as it was), within a bound, and leaves
 * nothing behind (no directory, no store registered by name, the built stores bounded).
 */
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtStoreCount } from '../runtime/store/registry.js';
import { canonicalJson } from '../runtime/store/signing.js';
import { MAX_NESTING } from '../runtime/proxy/walk.js';
import {
  DescriptorError,
  FileConnector,
  configureReferences,
  MemoryConnector,
  NestingTooDeepError,
  ProxyStoreError,
  Store,
  decodeProxies,
  encodeProxies,
  getStore,
  isProxy,
  isResolved,
  proxyReviver,
  resolveAsync,
  type Proxy,
  type ProxyDescriptor,
  type ReferencePolicy,
} from '../src/index.js';
import { tempDirs } from '../runtime/testing/temp-dirs.js';

/** A hang detector, not a performance figure: a decode does no I/O, so anything near this is a bug. */
const DECODE_BOUND_MS = 1_000;
const dirs = tempDirs('fuzz-');
const stores: Store[] = [];
let root: string;
let policy: ReferencePolicy;
const bases: ProxyDescriptor[] = [];

beforeAll(async () => {
  root = await dirs.make();
  await mkdir(path.join(root, 'objects'));
  policy = { fileRoots: [root] };
  const memory = new Store('fuzz-memory', new MemoryConnector());
  const file = new Store('fuzz-file', new FileConnector({ directory: path.join(root, 'objects') }));
  stores.push(memory, file);
  bases.push(
    structuredClone(encodeProxies(await memory.proxy({ a: 1 }))) as unknown as ProxyDescriptor,
    structuredClone(encodeProxies(await file.proxy([1, 2, 3], { evict: false }))) as unknown as ProxyDescriptor,
    { ...(structuredClone(encodeProxies(await memory.ownedProxy(new Map([[1, 2]])))) as unknown as ProxyDescriptor) },
  );
});

afterAll(async () => {
  await Promise.all(stores.map((store) => store.close({ clear: true })));
  await dirs.removeAll();
});

const FIELD_PATHS = [
  '$proxystore', 'key', 'evict', 'ownership', 'sig', 'extra', '__proto__',
  'metadata', 'metadata.kind', 'metadata.typeName', 'metadata.className', 'metadata.thenable',
  'store', 'store.name', 'store.cacheSize', 'store.cacheBytes', 'store.metrics', 'store.populateTarget', 'store.serializer', 'store.register',
  'store.connector', 'store.connector.kind', 'store.connector.options',
  'store.connector.options.space', 'store.connector.options.directory', 'store.connector.options.host', 'store.connector.options.port',
  'store.connector.options.prefix', 'store.connector.options.commandTimeoutMs', 'store.connector.options.connectors',
];

const hostile = fc.constantFrom<unknown>(
  Number.NaN, Infinity, -1, 0, 1.5, 1e8, 2 ** 53, -0, '', '__proto__', 'constructor', 'redis', 'file', 'multi', 'shared-memory',
  '/etc', '/tmp', '..', 'bull:', 'proxystore:', 'owned', 'ref-mut', null, true, [], {},
);
const nested = fc.integer({ min: 1, max: 200 }).map((levels) => {
  let value: unknown = 0;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
});
/** A whole genuine descriptor, planted inside another (picked when generated, once the bases exist). */
const planted = fc.nat().map((i) => structuredClone(bases[i % bases.length]) as unknown);
const mutation = fc.record({
  path: fc.constantFrom(...FIELD_PATHS),
  value: fc.oneof(fc.jsonValue({ maxDepth: 3 }), hostile, nested, planted),
  remove: fc.boolean(),
});

/** `base` with each mutation applied; a path through a non-object stops there. */
function mutate(base: ProxyDescriptor, mutations: readonly { path: string; value: unknown; remove: boolean }[]): unknown {
  const copy = structuredClone(base) as unknown as Record<string, unknown>;
  for (const { path: where, value, remove } of mutations) {
    const parts = where.split('.');
    let target: unknown = copy;
    for (const part of parts.slice(0, -1)) target = typeof target === 'object' && target !== null ? (target as Record<string, unknown>)[part] : undefined;
    if (typeof target !== 'object' || target === null) continue;
    const last = parts.at(-1) as string;
    if (remove) delete (target as Record<string, unknown>)[last];
    else Object.defineProperty(target, last, { value, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

/** How the decoded value may be wrapped: as it is, in an array, in an object, under an own '__proto__' key. */
const wrappers: ((d: unknown) => unknown)[] = [
  (d) => d,
  (d) => [1, d, 'x'],
  (d) => ({ first: d, plain: { n: 1 } }),
  (d) => JSON.parse(`{"__proto__": ${JSON.stringify(d) ?? 'null'}, "n": 2}`) as unknown,
  (d) => new Map([['k', d]]),
];

/** `output` is `input` with every descriptor replaced by an unresolved proxy and everything else unchanged. */
function expectDecodedShape(input: unknown, output: unknown, isDescriptor: (v: unknown) => boolean): void {
  if (isDescriptor(input)) {
    expect(isProxy(output)).toBe(true);
    expect(isResolved(output as object)).toBe(false);
    return;
  }
  if (input instanceof Map) {
    expect(output).toBeInstanceOf(Map);
    for (const [k, v] of input) expectDecodedShape(v, (output as Map<unknown, unknown>).get(k), isDescriptor);
    return;
  }
  if (typeof input !== 'object' || input === null) {
    expect(Object.is(output, input)).toBe(true);
    return;
  }
  expect(Object.getPrototypeOf(output)).toBe(Object.getPrototypeOf(input));
  expect(Object.keys(output as object)).toEqual(Object.keys(input));
  for (const key of Object.keys(input)) {
    expectDecodedShape((input as Record<string, unknown>)[key], Object.getOwnPropertyDescriptor(output, key)?.value, isDescriptor);
  }
}

const isDescriptorInput = (value: unknown): boolean => typeof value === 'object' && value !== null && Object.hasOwn(value, '$proxystore');

function decodeWithin(run: () => unknown): { value?: unknown; error?: unknown } {
  const started = performance.now();
  try {
    return { value: run() };
  } catch (error) {
    return { error };
  } finally {
    expect(performance.now() - started).toBeLessThan(DECODE_BOUND_MS);
  }
}

describe('fuzzing decodeProxies and the reviver', () => {
  it('gives a typed error or a correct value for every mutated descriptor, with no side effects', async () => {
    const rootBefore = await readdir(root);
    const names = new Set<string>();
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(fc.nat({ max: 2 }), fc.array(mutation, { maxLength: 3 }), fc.nat({ max: wrappers.length - 1 }), (baseIndex, mutations, wrapIndex) => {
        const forged = mutate(bases[baseIndex] as ProxyDescriptor, mutations);
        const name = (forged as { store?: { name?: unknown } }).store?.name;
        if (typeof name === 'string') names.add(name);
        const input = (wrappers[wrapIndex] as (d: unknown) => unknown)(forged);
        const { value, error } = decodeWithin(() => decodeProxies(input, { policy }));
        if (error !== undefined) {
          expect(error).toBeInstanceOf(ProxyStoreError);
          refused++;
          return;
        }
        accepted++;
        expectDecodedShape(input, value, isDescriptorInput);
      }),
      { numRuns: 600 },
    );
    expect(refused).toBeGreaterThan(0);
    expect(accepted).toBeGreaterThan(0);
    expect(await readdir(root)).toEqual(rootBefore);
    expect(builtStoreCount()).toBeLessThanOrEqual(64);
    for (const name of names) if (name !== 'fuzz-memory' && name !== 'fuzz-file') expect(getStore(name)).toBeUndefined();
  });

  it('gives a typed error, a JSON SyntaxError or a correct value for every mutated JSON text through the reviver', async () => {
    const rootBefore = await readdir(root);
    const texts = bases.map((base) => JSON.stringify({ payload: base, n: 1 }));
    fc.assert(
      fc.property(
        fc.nat({ max: texts.length - 1 }),
        fc.array(fc.record({ at: fc.nat(), char: fc.constantFrom('"', '{', '}', ':', ',', '0', '9', '-', 'e', '[', ']', 'x', '\\') }), { minLength: 1, maxLength: 4 }),
        (textIndex, edits) => {
          const chars = [...(texts[textIndex] as string)];
          for (const { at, char } of edits) chars[at % chars.length] = char;
          const text = chars.join('');
          const { value, error } = decodeWithin(() => JSON.parse(text, proxyReviver({ policy })) as unknown);
          if (error !== undefined) {
            expect(error instanceof ProxyStoreError || error instanceof SyntaxError).toBe(true);
            return;
          }
          expectDecodedShape(JSON.parse(text), value, isDescriptorInput);
        },
      ),
      { numRuns: 600 },
    );
    expect(await readdir(root)).toEqual(rootBefore);
  });
});

describe('fuzzing signed descriptors', () => {
  it('with a secret, every mutation that changes a signed descriptor is refused, and an unchanged one accepted', () => {
    configureReferences({ secret: 'fuzz-secret-of-enough-length' });
    try {
      // Re-encoded through a real proxy so the signature is the sender's own; signed afresh for every
      // run, since a descriptor that deletes its object (evict, owned) is accepted once per thread.
      const signedBase = (base: ProxyDescriptor): ProxyDescriptor => {
        const unsigned = { ...base } as Record<string, unknown>;
        delete unsigned.sig;
        return structuredClone(encodeProxies(decodeUnchecked(unsigned))) as unknown as ProxyDescriptor;
      };
      fc.assert(
        fc.property(fc.nat({ max: 2 }), fc.array(mutation, { maxLength: 3 }), (baseIndex, mutations) => {
          const original = signedBase(bases[baseIndex] as ProxyDescriptor);
          const forged = mutate(original, mutations);
          const unchanged = sameJson(forged, original);
          const { value, error } = decodeWithin(() => decodeProxies(forged, { policy }));
          if (isDescriptorInput(forged)) {
            if (unchanged) expect(isProxy(value)).toBe(true);
            else expect(error).toBeInstanceOf(DescriptorError);
          } else if (error === undefined) {
            // Without '$proxystore' it is no descriptor at all, and stays the plain object it is.
            expect(value).toBe(forged);
          } else {
            // ...unless an unsigned descriptor was planted inside it, which is decoded, and refused.
            expect(error).toBeInstanceOf(DescriptorError);
          }
        }),
        { numRuns: 400 },
      );
    } finally {
      configureReferences({ secret: null });
    }
  });
});

/** Whether two values have the same canonical JSON; one too deep to write is not the same as a descriptor. */
function sameJson(a: unknown, b: unknown): boolean {
  try {
    return canonicalJson(a) === canonicalJson(b);
  } catch {
    return false;
  }
}

/** A proxy for a descriptor made by this test itself, decoded while no secret is in force yet. */
function decodeUnchecked(descriptor: object): object {
  configureReferences({ secret: null });
  const decoded = decodeProxies(structuredClone(descriptor), { policy }) as object;
  configureReferences({ secret: 'fuzz-secret-of-enough-length' });
  return decoded;
}

describe('own keys only, no prototype setters', () => {
  it("decodeProxies keeps an own '__proto__' key a plain property and resolves nothing", () => {
    const text = `{"__proto__": ${JSON.stringify(bases[0])}, "x": 1}`;
    const decoded = decodeProxies(JSON.parse(text) as unknown, { policy }) as Record<string, unknown>;
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    const own = Object.getOwnPropertyDescriptor(decoded, '__proto__')?.value as object;
    expect(isProxy(own)).toBe(true);
    expect(isResolved(own)).toBe(false);
    expect(decoded.x).toBe(1);
  });

  it("encodeProxies keeps an own '__proto__' key holding a proxy a plain property", async () => {
    const p = await (stores[0] as Store).proxy({ inner: true });
    const value: Record<string, unknown> = { x: 1 };
    Object.defineProperty(value, '__proto__', { value: p, enumerable: true, writable: true, configurable: true });
    const encoded = encodeProxies(value) as unknown as Record<string, unknown>;
    expect(Object.getPrototypeOf(encoded)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(encoded, '__proto__')?.value).toMatchObject({ $proxystore: 1 });
    const back = decodeProxies(JSON.parse(JSON.stringify(encoded)) as unknown) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    return expect(resolveAsync(Object.getOwnPropertyDescriptor(back, '__proto__')?.value as Proxy<object>)).resolves.toEqual({ inner: true });
  });

  it('nesting deeper than the bound is a NestingTooDeepError, for decode and encode alike; up to it works', () => {
    const nest = (levels: number, leaf: unknown): unknown => {
      let value = leaf;
      for (let i = 0; i < levels; i++) value = [value];
      return value;
    };
    expect(() => decodeProxies(nest(MAX_NESTING + 10, bases[0]), { policy })).toThrow(NestingTooDeepError);
    expect(() => encodeProxies(nest(MAX_NESTING + 10, 1))).toThrow(NestingTooDeepError);
    let decoded = decodeProxies(nest(MAX_NESTING - 1, bases[0]), { policy });
    for (let i = 0; i < MAX_NESTING - 1; i++) decoded = (decoded as unknown[])[0];
    expect(isProxy(decoded)).toBe(true);
  });
});
