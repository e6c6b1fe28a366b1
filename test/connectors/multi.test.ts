import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Connector, ConnectorConfig, Key } from '../../runtime/connectors/connector.js';
import { connectorFromConfig, registerConnectorKind, resolvePolicy } from '../../runtime/connectors/kinds.js';
import { FileConnector, MemoryConnector } from '../../runtime/connectors/index.js';
import { MultiConnector, MultiConnectorError, type MultiConnectorEntry } from '../../runtime/connectors/multi.js';
import { ConfigError, ConnectorError, DescriptorError } from '../../runtime/errors.js';
import { getKey } from '../../runtime/proxy/proxy.js';
import { Store } from '../../runtime/store/store.js';
import { describeConnector, expectBytes, payload } from '../../runtime/testing/connector-conformance.js';
import { asyncOnly } from '../helpers/async-only.js';
import { jsonRoundTrip, rejection } from '../../runtime/testing/outcomes.js';
import { tempDirs } from '../../runtime/testing/temp-dirs.js';

const { make: tempDir, removeAll: removeTemps } = tempDirs('ts-proxystore-multi-');

/** Small objects in memory, the rest in files: the documented example. */
async function memoryAndFile(): Promise<MultiConnector> {
  return new MultiConnector({
    connectors: {
      small: { connector: new MemoryConnector(), policy: { maxSize: 1024, priority: 1 } },
      big: { config: { kind: 'file', options: { directory: await tempDir() } } },
    },
  });
}

describeConnector('multi', {
  make: memoryAndFile,
  cleanup: removeTemps,
  sync: true,
  sharedThroughConfig: true,
});

/** Records every connector of its kind built, to prove dormant entries never are. */
const countingBuilt: MemoryConnector[] = [];
registerConnectorKind({
  kind: 'test-counting',
  fromOptions: (options) => {
    const connector = new MemoryConnector({ space: typeof options.space === 'string' ? options.space : undefined });
    countingBuilt.push(connector);
    return connector;
  },
});

const HERE = os.hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const ELSEWHERE = 'no-such-host-[0-9]+\\.invalid';

/** The config of the child named `name`, as the multi connector's config nests it. */
function childConfig(connector: Connector, name: string): ConnectorConfig | undefined {
  return (connector.config().options.connectors as unknown as Record<string, { config: ConnectorConfig }>)[name]?.config;
}

function routeOf(key: Key): string {
  return (key as { c: string }).c;
}

describe('MultiConnector', () => {
  const opened: Connector[] = [];
  function multi(connectors: Record<string, MultiConnectorEntry>): MultiConnector {
    const connector = new MultiConnector({ connectors });
    opened.push(connector);
    return connector;
  }
  function keep<C extends Connector>(connector: C): C {
    opened.push(connector);
    return connector;
  }
  afterEach(async () => {
    for (const connector of opened.splice(0)) await connector.close({ clear: true });
    await removeTemps();
  });

  it('is a built-in kind once imported', () => {
    expect(resolvePolicy().kinds).toContain('multi');
  });

  it('routes small objects to memory and big ones to files (the documented example)', async () => {
    const connector = keep(await memoryAndFile());
    const smallKey = await connector.put(payload(1024, 1));
    const bigKey = await connector.put(payload(1025, 2));
    expect(routeOf(smallKey)).toBe('small');
    expect(routeOf(bigKey)).toBe('big');
    const big = connectorFromConfig(childConfig(connector, 'big')!);
    keep(big);
    expectBytes(await big.get((bigKey as { k: Key }).k), payload(1025, 2));
  });

  it('lets a Store use it: small values stay in memory, a big typed array goes to a file', async () => {
    const store = new Store(`multi-${crypto.randomUUID()}`, keep(await memoryAndFile()));
    const small = await store.put({ id: 1 });
    const big = await store.put(new Float64Array(1000).fill(2.5));
    expect([routeOf(small), routeOf(big)]).toEqual(['small', 'big']);
    expect(await store.get(small)).toEqual({ id: 1 });
    expect(await store.get<Float64Array>(big)).toEqual(new Float64Array(1000).fill(2.5));
  });

  it('takes the highest priority among the connectors that accept a put; ties go to the first listed', async () => {
    const connector = multi({
      low: { connector: new MemoryConnector(), policy: { priority: -1 } },
      first: { connector: new MemoryConnector(), policy: { priority: 5, maxSize: 100 } },
      second: { connector: new MemoryConnector(), policy: { priority: 5 } },
      top: { connector: new MemoryConnector(), policy: { priority: 9, minSize: 10, maxSize: 20 } },
    });
    expect(routeOf(await connector.put(payload(50, 0)))).toBe('first');
    expect(routeOf(await connector.put(payload(15, 0)))).toBe('top');
    expect(routeOf(await connector.put(payload(500, 0)))).toBe('second');
  });

  it('matches tags by subset (tags) and superset (requiredTags)', async () => {
    const connector = multi({
      plain: { connector: new MemoryConnector() },
      gpu: { connector: new MemoryConnector(), policy: { priority: 1, tags: ['gpu', 'fast'] } },
      archive: { connector: new MemoryConnector(), policy: { priority: 2, tags: ['cold'], requiredTags: ['archive'] } },
    });
    const data = payload(10, 0);
    // Untagged puts pass every subset rule, so the highest priority without required tags wins.
    expect(routeOf(await connector.put(data))).toBe('gpu');
    expect(routeOf(await connector.putWith(data, { tags: ['gpu'] }))).toBe('gpu');
    expect(routeOf(await connector.putWith(data, { tags: ['fast', 'gpu'] }))).toBe('gpu');
    expect(routeOf(await connector.putWith(data, { tags: ['archive'] }))).toBe('archive');
    expect(routeOf(await connector.putWith(data, { tags: ['cold', 'archive'] }))).toBe('archive');
    // 'cold' alone lacks the required 'archive', and 'gpu' lists no 'cold': only the policy without tags takes it, as in ProxyStore.
    expect(routeOf(await connector.putWith(data, { tags: ['cold'] }))).toBe('plain');
    expect(routeOf(await connector.putWith(data, { tags: ['gpu', 'archive'] }))).toBe('plain');
    const reserved = multi({ gpu: { connector: new MemoryConnector(), policy: { tags: ['gpu'] } }, archive: { connector: new MemoryConnector(), policy: { requiredTags: ['archive'] } } });
    expect(await rejection(reserved.putWith(data, { tags: ['cold'] }))).toBeInstanceOf(MultiConnectorError);
    const keys = await connector.putBatchWith([data, payload(2000, 1)], { tags: ['gpu'] });
    expect(keys.map(routeOf)).toEqual(['gpu', 'gpu']);
  });

  it('routes a store’s put, putBatch, proxy and proxyBatch by the tags they are given', async () => {
    const connector = multi({
      plain: { connector: new MemoryConnector(), policy: { priority: 1 } },
      // A policy without tags takes tagged puts too, so the reserved connector wins on priority.
      archive: { connector: new MemoryConnector(), policy: { priority: 2, tags: ['cold'], requiredTags: ['archive'] } },
    });
    const store = new Store(`multi-${crypto.randomUUID()}`, connector);
    const tags = ['archive'];
    expect(routeOf(await store.put({ a: 1 }))).toBe('plain');
    const key = await store.put({ a: 2 }, { tags });
    expect(routeOf(key)).toBe('archive');
    expect(await store.get(key)).toEqual({ a: 2 });
    expect((await store.putBatch([{ b: 1 }, { b: 2 }], { tags })).map(routeOf)).toEqual(['archive', 'archive']);
    expect(routeOf(getKey(await store.proxy({ c: 1 }, { tags }))!)).toBe('archive');
    const proxies = await store.proxyBatch([{ d: 1 }, { d: 2 }], { tags: ['cold', 'archive'] });
    expect(proxies.map((p) => routeOf(getKey(p)!))).toEqual(['archive', 'archive']);
    // Without the required 'archive', the policy without tags takes it.
    expect(routeOf(await store.put({ e: 1 }, { tags: ['cold'] }))).toBe('plain');
    await store.close({ clear: true });
  });

  it('has a store over a connector that cannot route by tags refuse them, naming store and connector', async () => {
    const store = new Store('untagged', new MemoryConnector());
    await expect(store.put({ a: 1 }, { tags: ['gpu'] })).rejects.toThrow(/store 'untagged': put got tags, but its memory connector does not route by tags/);
    await expect(store.proxyBatch([{ a: 1 }], { tags: ['gpu'] })).rejects.toBeInstanceOf(ConfigError);
    await store.close({ clear: true });
  });

  it('names the size, the tags and every candidate when no connector accepts a put', async () => {
    const connector = multi({
      tiny: { connector: new MemoryConnector(), policy: { maxSize: 8 } },
      tagged: { connector: new MemoryConnector(), policy: { tags: ['x'], minSize: 100 } },
      remote: { config: { kind: 'memory', options: {} }, policy: { hostPattern: ELSEWHERE, priority: 3 } },
    });
    const error = await rejection(connector.putWith(payload(50, 0), { tags: ['y'] }));
    expect(error).toBeInstanceOf(MultiConnectorError);
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ operation: 'put', size: 50, tags: ['y'], candidates: ['tiny', 'tagged', 'remote'] });
    const { message } = error as Error;
    expect(message).toMatch(/50 bytes with tags \["y"\]/);
    expect(message).toMatch(/'tiny' \(priority 0, size 0\.\.8/);
    expect(message).toMatch(/'tagged' .*tags \["x"\]/);
    expect(message).toMatch(/'remote' .*dormant: hostPattern/);
    const batchError = await rejection(connector.putBatch([payload(1, 0), payload(50, 0)]));
    expect(batchError).toMatchObject({ operation: 'putBatch', size: 50, tags: [] });
  });

  it('uses connectors whose host pattern matches this host and leaves the others dormant', async () => {
    const connector = multi({
      here: { connector: new MemoryConnector(), policy: { hostPattern: HERE } },
      caseless: { connector: new MemoryConnector(), policy: { hostPattern: HERE.toUpperCase(), priority: -1 } },
      there: { connector: new MemoryConnector(), policy: { hostPattern: ELSEWHERE, priority: 10 } },
    });
    expect(connector.active).toEqual(['here', 'caseless']);
    expect(routeOf(await connector.put(payload(10, 0)))).toBe('here');
    // A pattern must match the whole name, not a part of it.
    const partial = multi({ part: { connector: new MemoryConnector(), policy: { hostPattern: HERE.slice(0, -1) } } });
    expect(partial.active).toEqual([]);
  });

  it('never builds a dormant connector, not even through a config round trip, yet passes its config on', async () => {
    countingBuilt.length = 0;
    const dormant: ConnectorConfig = { kind: 'test-counting', options: { space: 'never' } };
    const connector = multi({
      local: { connector: new MemoryConnector() },
      remote: { config: dormant, policy: { hostPattern: ELSEWHERE, priority: 1 } },
    });
    await connector.put(payload(10, 0));
    const copy = keep(connectorFromConfig(jsonRoundTrip(connector.config())));
    await copy.put(payload(10, 1));
    expect(countingBuilt).toHaveLength(0);
    expect(childConfig(copy, 'remote')).toEqual(dormant);
    // Where the pattern matches, the same entry is built, once.
    multi({ remote: { config: dormant, policy: { hostPattern: HERE } } });
    expect(countingBuilt).toHaveLength(1);
  });

  it('refuses keys of dormant, unknown or foreign shape with a MultiConnectorError', async () => {
    const connector = multi({
      local: { connector: new MemoryConnector() },
      remote: { config: { kind: 'memory', options: {} }, policy: { hostPattern: ELSEWHERE } },
    });
    const cases: [Key, RegExp][] = [
      [{ c: 'remote', k: 'x' }, /dormant on host/],
      [{ c: 'nowhere', k: 'x' }, /no connector named 'nowhere' here \(connectors: local, remote\)/],
      ['plain-string', /not a key of a multi connector/],
      [{ c: 'local' }, /not a key of a multi connector/],
    ];
    for (const [key, message] of cases) {
      const error = await rejection(connector.get(key));
      expect(error).toBeInstanceOf(MultiConnectorError);
      expect((error as Error).message).toMatch(message);
      expect(() => connector.getSync(key)).toThrow(message);
      expect(await rejection(connector.evict(key))).toBeInstanceOf(MultiConnectorError);
    }
  });

  it('routes get, getSync, exists and evict by the connector named in the key', async () => {
    const [a, b] = [new MemoryConnector(), new MemoryConnector()];
    const connector = multi({ a: { connector: a, policy: { maxSize: 10 } }, b: { connector: b } });
    const [small, large] = [payload(5, 1), payload(50, 2)];
    const [smallKey, largeKey] = [await connector.put(small), await connector.put(large)];
    expectBytes(await a.get((smallKey as { k: Key }).k), small);
    expectBytes(await b.get((largeKey as { k: Key }).k), large);
    expectBytes(connector.getSync(largeKey), large);
    await connector.evict(smallKey);
    expect(await a.exists((smallKey as { k: Key }).k)).toBe(false);
    expect(await connector.exists(largeKey)).toBe(true);
  });

  it('sends one putBatch and one getBatch per connector involved, keeping the caller’s order', async () => {
    const [a, b] = [new MemoryConnector(), new MemoryConnector()];
    const calls = { aPut: vi.spyOn(a, 'putBatch'), bPut: vi.spyOn(b, 'putBatch'), aGet: vi.spyOn(a, 'getBatch'), bGet: vi.spyOn(b, 'getBatch') };
    const connector = multi({ a: { connector: a, policy: { maxSize: 100 } }, b: { connector: b } });
    const data = [payload(10, 1), payload(1000, 2), payload(20, 3), payload(2000, 4), payload(30, 5)];
    const keys = await connector.putBatch(data);
    expect(keys.map(routeOf)).toEqual(['a', 'b', 'a', 'b', 'a']);
    expect([calls.aPut.mock.calls.length, calls.bPut.mock.calls.length]).toEqual([1, 1]);
    expect(calls.aPut.mock.calls[0]?.[0]).toHaveLength(3);
    const reversed = [...keys].reverse();
    const got = await connector.getBatch(reversed);
    got.forEach((bytes, i) => expectBytes(bytes, data[data.length - 1 - i]!));
    expect([calls.aGet.mock.calls.length, calls.bGet.mock.calls.length]).toEqual([1, 1]);
    expect(calls.bGet.mock.calls[0]?.[0]).toEqual([(keys[3] as { k: Key }).k, (keys[1] as { k: Key }).k]);
  });

  it('evicts what other connectors stored when one part of a putBatch fails', async () => {
    const [good, bad] = [new MemoryConnector(), new MemoryConnector()];
    const evicted = vi.spyOn(good, 'evict');
    vi.spyOn(bad, 'putBatch').mockRejectedValue(new ConnectorError('memory', 'putBatch', 'disk full'));
    const connector = multi({ good: { connector: good, policy: { maxSize: 100 } }, bad: { connector: bad } });
    const error = await rejection(connector.putBatch([payload(10, 1), payload(1000, 2), payload(20, 3)]));
    expect((error as Error).message).toMatch(/disk full/);
    expect(evicted).toHaveBeenCalledTimes(2);
    for (const [key] of evicted.mock.calls) expect(await good.exists(key)).toBe(false);
  });

  it('reads synchronously through children that can, and says so when one cannot', async () => {
    const connector = multi({ sync: { connector: new MemoryConnector(), policy: { maxSize: 10 } }, async: { connector: asyncOnly(new MemoryConnector()) } });
    const key = await connector.put(payload(5, 0));
    expectBytes(connector.getSync(key), payload(5, 0));
    const asyncKey = await connector.put(payload(50, 0));
    expect(() => connector.getSync(asyncKey)).toThrow(/'async' \(memory\) cannot read synchronously/);
  });

  it('round-trips nested configs, multi inside multi, to connectors reaching the same objects', async () => {
    const directory = await tempDir();
    const inner = new MultiConnector({
      connectors: {
        mem: { connector: new MemoryConnector(), policy: { maxSize: 100, tags: ['t'] } },
        files: { connector: new FileConnector({ directory }), policy: { requiredTags: ['t'], hostPattern: HERE } },
      },
    });
    const outer = multi({
      inner: { connector: inner, policy: { priority: 2, maxSize: 10_000, tags: ['t'] } },
      spare: { config: { kind: 'memory', options: { space: 'spare' } }, policy: { hostPattern: ELSEWHERE } },
    });
    const config = outer.config();
    expect(jsonRoundTrip(config)).toEqual(config);
    expect(config).toEqual({
      kind: 'multi',
      options: {
        connectors: {
          inner: { config: inner.config(), policy: { priority: 2, minSize: 0, maxSize: 10_000, tags: ['t'], requiredTags: [] } },
          spare: { config: { kind: 'memory', options: { space: 'spare' } }, policy: { priority: 0, minSize: 0, tags: [], requiredTags: [], hostPattern: ELSEWHERE } },
        },
      },
    });
    const copy = keep(connectorFromConfig(jsonRoundTrip(config), { trusted: false, policy: { fileRoots: [os.tmpdir()] } }));
    expect(copy.config()).toEqual(config);
    const key = await outer.putWith(payload(500, 1), { tags: ['t'] });
    expect(key).toEqual({ c: 'inner', k: { c: 'files', k: expect.any(String) as unknown } });
    expectBytes(await copy.get(key), payload(500, 1));
  });

  it('checks nested configs from elsewhere against the receiver’s policy', async () => {
    const outside = await tempDir();
    const untrusted = (connectors: Record<string, unknown>, policy = {}) =>
      connectorFromConfig({ kind: 'multi', options: { connectors: jsonRoundTrip(connectors) as never } }, { trusted: false, policy });
    const counting = { config: { kind: 'test-counting', options: { space: 's' } } };
    expect(() => untrusted({ ok: { config: { kind: 'memory', options: {} } }, evil: counting })).toThrow(DescriptorError);
    expect(() => untrusted({ evil: counting })).toThrow(/kind 'test-counting' is not allowed/);
    keep(untrusted({ allowed: counting }, { kinds: ['multi', 'test-counting'] }));
    expect(() => untrusted({ files: { config: { kind: 'file', options: { directory: outside } } } }, { fileRoots: [path.join(os.tmpdir(), 'elsewhere')] })).toThrow(
      /outside the allowed roots/,
    );
    // Nested multis are checked all the way down.
    const nested = { inner: { config: { kind: 'multi', options: { connectors: { evil: counting } } } } };
    expect(() => untrusted(nested)).toThrow(DescriptorError);
    // The same configs are fine when trusted.
    keep(connectorFromConfig({ kind: 'multi', options: { connectors: jsonRoundTrip(nested) } }));
  });

  it('refuses host patterns from elsewhere that could backtrack for ages, but not from the caller', () => {
    const withPattern = (hostPattern: string, trusted: boolean) =>
      connectorFromConfig({ kind: 'multi', options: { connectors: { m: { config: { kind: 'memory', options: {} }, policy: { hostPattern } } } } }, { trusted });
    for (const pattern of ['(a+)+b', '(x|xx)*$', '(.)\\1', 'a*a*a*a*a*b', 'x'.repeat(300)]) {
      expect(() => withPattern(pattern, false), pattern).toThrow(DescriptorError);
    }
    for (const pattern of ['node[0-9]+\\.cluster', '(login|compute)-\\d{1,4}', '[a-z]*(?:-gpu)?', ELSEWHERE]) keep(withPattern(pattern, false));
    keep(withPattern('(a+)+b', true));
  });

  it('refuses bad options with a ConfigError naming the entry and field', () => {
    const bad: [unknown, RegExp][] = [
      [{}, /option 'connectors'/],
      [{ connectors: {} }, /at least one connector/],
      [{ connectors: { a: 5 } }, /entry 'a'/],
      [{ connectors: { a: { policy: {} } } }, /entry 'a': must have 'connector' or 'config'/],
      [{ connectors: { a: { connector: {} } } }, /Connector interface/],
      [{ connectors: { a: { config: { kind: 'memory', options: {} }, policy: { maxSize: -1 } } } }, /policy\.maxSize must be a number >= 0/],
      [{ connectors: { a: { config: { kind: 'memory', options: {} }, policy: { minSize: 10, maxSize: 5 } } } }, /policy\.maxSize must be a number >= 10/],
      [{ connectors: { a: { config: { kind: 'memory', options: {} }, policy: { priority: 'high' } } } }, /policy\.priority/],
      [{ connectors: { a: { config: { kind: 'memory', options: {} }, policy: { tags: 'gpu' } } } }, /policy\.tags must be an array of strings/],
      [{ connectors: { a: { config: { kind: 'memory', options: {} }, policy: { hostPattern: '(' } } } }, /policy\.hostPattern is not a valid regular expression/],
      [{ connectors: { a: { config: { kind: 'memory', options: {} }, policy: { hostPattern: ELSEWHERE } }, b: { config: 'memory' } } }, /entry 'b': 'config' must be/],
    ];
    for (const [options, message] of bad) {
      expect(() => new MultiConnector(options as never), message.source).toThrow(ConfigError);
      expect(() => new MultiConnector(options as never), message.source).toThrow(message);
    }
  });

  it('closes the children it built when a later entry fails, and leaves those handed in alone', async () => {
    countingBuilt.length = 0;
    const handedIn = new MemoryConnector();
    const failing = () =>
      new MultiConnector({
        connectors: {
          given: { connector: handedIn },
          built: { config: { kind: 'test-counting', options: {} } },
          broken: { config: { kind: 'no-such-kind', options: {} } },
        },
      });
    expect(failing).toThrow(/unknown connector kind 'no-such-kind'/);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await rejection(countingBuilt[0]!.put(payload(1, 0)))).toBeInstanceOf(ConnectorError);
    expectBytes(await handedIn.get(await handedIn.put(payload(1, 0))), payload(1, 0));
    await handedIn.close();
  });

  it('closes every child it holds, dormant instances included, passing clear on', async () => {
    const [active, dormant] = [new MemoryConnector(), new MemoryConnector()];
    const closes = [vi.spyOn(active, 'close'), vi.spyOn(dormant, 'close')];
    const connector = new MultiConnector({ connectors: { active: { connector: active }, dormant: { connector: dormant, policy: { hostPattern: ELSEWHERE } } } });
    const key = await connector.put(payload(10, 0));
    const survivor = new MemoryConnector({ space: active.space });
    await connector.close({ clear: true });
    for (const close of closes) expect(close).toHaveBeenCalledWith({ clear: true });
    expect(await survivor.exists((key as { k: Key }).k)).toBe(false);
    await survivor.close();
  });

  it('reports every child that failed to close, after trying them all', async () => {
    const [a, b, c] = [new MemoryConnector(), new MemoryConnector(), new MemoryConnector()];
    vi.spyOn(a, 'close').mockRejectedValue(new Error('a broke'));
    vi.spyOn(c, 'close').mockRejectedValue(new Error('c broke'));
    const bClose = vi.spyOn(b, 'close');
    const connector = new MultiConnector({ connectors: { a: { connector: a }, b: { connector: b }, c: { connector: c } } });
    const error = await rejection(connector.close());
    expect(error).toBeInstanceOf(MultiConnectorError);
    expect((error as Error).message).toMatch(/'a': a broke; 'c': c broke/);
    expect(bClose).toHaveBeenCalled();
  });
});
