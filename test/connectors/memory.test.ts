import { afterEach, describe, expect, it } from 'vitest';
import { connectorFromConfig, resolvePolicy } from '../../runtime/connectors/kinds.js';
import { MemoryConnector } from '../../runtime/connectors/index.js';
import { ConfigError, ConnectorError } from '../../runtime/errors.js';
import { describeConnector, expectBytes, payload } from '../../runtime/testing/connector-conformance.js';

describeConnector('memory', { make: () => Promise.resolve(new MemoryConnector()), sync: true, sharedThroughConfig: true });

describe('MemoryConnector', () => {
  const opened: MemoryConnector[] = [];
  function memory(space?: string): MemoryConnector {
    const connector = new MemoryConnector(space === undefined ? {} : { space });
    opened.push(connector);
    return connector;
  }
  afterEach(async () => {
    for (const connector of opened.splice(0)) await connector.close({ clear: true });
  });

  it('is a built-in kind once imported', () => {
    expect(resolvePolicy().kinds).toContain('memory');
  });

  it('shares objects between connectors naming the same space and isolates other spaces', async () => {
    const space = `test-${crypto.randomUUID()}`;
    const [a, b, other] = [memory(space), memory(space), memory(`${space}-other`)];
    const data = payload(100, 1);
    const key = await a.put(data);
    expectBytes(await b.get(key), data);
    expect(await other.get(key)).toBeUndefined();
  });

  it('gives every connector its own random space by default', async () => {
    const [a, b] = [memory(), memory()];
    expect(a.space).not.toBe(b.space);
    const key = await a.put(payload(10, 2));
    expect(await b.exists(key)).toBe(false);
  });

  it('describes itself by its space, and rebuilds from an untrusted config too', async () => {
    const connector = memory('named-space');
    expect(connector.config()).toEqual({ kind: 'memory', options: { space: 'named-space' } });
    const data = payload(10, 3);
    const key = await connector.put(data);
    const rebuilt = connectorFromConfig({ kind: 'memory', options: { space: 'named-space' } }, { trusted: false });
    expectBytes(await rebuilt.get(key), data);
    await rebuilt.close();
  });

  it('refuses a space that is not a non-empty string, naming the option', () => {
    for (const space of ['', 42, null, ['a']]) {
      expect(() => connectorFromConfig({ kind: 'memory', options: { space } })).toThrow(/option 'space'/);
      expect(() => connectorFromConfig({ kind: 'memory', options: { space } })).toThrow(ConfigError);
    }
    expect(() => new MemoryConnector({ space: '' })).toThrow(ConfigError);
  });

  it('returns the stored Uint8Array itself to every reader, without copying', async () => {
    const connector = memory();
    const key = await connector.put(payload(1000, 4));
    const first = await connector.get(key);
    expect(await connector.get(key)).toBe(first);
    expect(connector.getSync(key)).toBe(first);
    expect((await connector.getBatch([key]))[0]).toBe(first);
  });

  it('adopts a Uint8Array spanning a whole ArrayBuffer without copying it', async () => {
    const connector = memory();
    const data = payload(1 << 20, 5);
    const stored = await connector.get(await connector.put(data));
    expect(stored?.buffer === data.buffer).toBe(true);
  });

  it('copies views into larger or shared buffers, so later writes to them do not leak in', async () => {
    const connector = memory();
    const backing = payload(4096, 6);
    const view = backing.subarray(100, 200);
    const shared = new Uint8Array(new SharedArrayBuffer(64));
    shared.set(payload(64, 7));
    const pooled = Buffer.from('small strings come from a shared pool');
    const expected = [view, shared, pooled].map((bytes) => Uint8Array.from(bytes));
    const keys = await connector.putBatch([view, shared, pooled]);
    for (const bytes of [backing, shared, pooled]) bytes.fill(0);
    const stored = await connector.getBatch(keys);
    stored.forEach((bytes, i) => expectBytes(bytes, expected[i]!));
    expect(stored[0]?.buffer.byteLength).toBe(100);
  });

  it('hands out plain Uint8Arrays even when given a Buffer', async () => {
    const connector = memory();
    const stored = await connector.get(await connector.put(Buffer.allocUnsafeSlow(16).fill(1)));
    expect(Object.getPrototypeOf(stored)).toBe(Uint8Array.prototype);
  });

  it('keeps the stored bytes when the caller transfers its buffer after a partial-view put', async () => {
    const connector = memory();
    const backing = payload(256, 8);
    const key = await connector.put(backing.subarray(0, 128));
    structuredClone(backing.buffer, { transfer: [backing.buffer] });
    expect(backing.byteLength).toBe(0);
    expectBytes(await connector.get(key), payload(128, 8));
  });

  it('refuses keys that are not strings, naming the operation and key', async () => {
    const connector = memory();
    const error = await connector.get(42).catch((rejection: unknown) => rejection);
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ operation: 'get', key: 42 });
    expect(() => connector.getSync({ id: 'x' })).toThrow(ConnectorError);
  });

  it('keeps serving other connectors on the space after one of them closes', async () => {
    const space = `test-${crypto.randomUUID()}`;
    const [a, b] = [memory(space), memory(space)];
    const key = await a.put(payload(10, 9));
    await a.close({ clear: true });
    expect(await b.exists(key)).toBe(false);
    const data = payload(10, 10);
    expectBytes(await b.get(await b.put(data)), data);
  });
});
