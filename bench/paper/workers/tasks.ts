/**
 * The benchmark's worker module: piscina loads it as the pool's file and
 * `ts-proxystore-worker --tasks` loads it for BullMQ, so both engines run the
 * very same task code.
 */
import { connectorFromConfig, type Connector, type ConnectorConfig, type Key } from 'ts-proxystore/connectors';
import { defineTasks, resultArray } from 'ts-proxystore/executors/piscina';

/** A real task's output is written memory; a fresh zeroed buffer may be untouched pages that cost nothing to copy. */
const OUTPUT_BYTE = 7;

/**
 * What every output is copied from, grown on demand. Copied with `set`, which
 * runs at full speed on plain and shared memory alike: `fill` takes a slow
 * path on shared memory (3 ms per 10 MB against 0.12 ms), so a task filling
 * its output would measure V8's slow path rather than the store.
 */
let pattern = new Uint8Array(0);

function writeOutput(out: Uint8Array): Uint8Array {
  if (pattern.byteLength < out.byteLength) pattern = new Uint8Array(out.byteLength).fill(OUTPUT_BYTE);
  out.set(pattern.subarray(0, out.byteLength));
  return out;
}

/** One connector per config: rebuilding one per task would measure connection set-up, not moving bytes. */
const connectors = new Map<string, Promise<Connector>>();

function connectorOf(config: ConnectorConfig): Promise<Connector> {
  const id = JSON.stringify(config);
  let connector = connectors.get(id);
  if (connector === undefined) {
    // The Redis kind registers itself on import; loading ioredis into every thread for the other kinds would be waste.
    const load = config.kind === 'redis' ? import('../../../runtime/connectors/redis.js') : config.kind === 'peer' ? import('../../../runtime/connectors/peer.js') : Promise.resolve();
    connector = load.then(() => connectorFromConfig(config));
    connectors.set(id, connector);
  }
  return connector;
}

/**
 * Written as a task for this library would be: with `resultArray` the output
 * is born where its result goes. By value that is a plain array; by proxy
 * through shared memory it is the stored object itself, so no copy follows.
 */
function output(bytes: number): Uint8Array {
  // Every byte is written, so the output need not be zeroed first (by value as by proxy).
  return writeOutput(resultArray(Uint8Array, bytes, { zeroed: false }));
}

export const tasks = {
  /** The paper's no-op task: consumes its input (already in hand when it runs) and produces `outBytes` of data. */
  noop(input: Uint8Array, outBytes: number): Uint8Array {
    if (!(input instanceof Uint8Array)) throw new TypeError(`noop expects bytes, got ${typeof input}`);
    return output(outBytes);
  },

  /**
   * The same task with the bytes moved by hand, the baseline for the proxy
   * machinery: the input is read from the connector under `key`, the output is
   * written to it, and only keys travel.
   */
  async noopByKey(config: ConnectorConfig, key: Key, outBytes: number): Promise<Key> {
    const connector = await connectorOf(config);
    const input = await connector.get(key);
    if (input === undefined) throw new Error(`noopByKey: nothing stored under ${JSON.stringify(key)}`);
    // Done with the input: a careful user lets a recycling connector reuse its memory once the caller evicts it.
    connector.releaseViews?.(key);
    // The same advantage by hand: a connector that can allocate takes the output where it was written, and this thread keeps no view of it.
    return connector.put(writeOutput(connector.allocate?.(outBytes, { transient: true, zeroed: false }) ?? new Uint8Array(outBytes)));
  },
};

export default defineTasks(tasks);
