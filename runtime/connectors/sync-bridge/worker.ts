/**
 * The worker side of the sync bridge (see bridge.ts): rebuilds the
 * connector from its config and answers reads (and waits for a key to be
 * written) until told to close.
 */
import { workerData } from 'node:worker_threads';
import type { Connector, Key } from '../connector.js';
import { connectorFromConfig } from '../kinds.js';
import { ConnectorError, RedisUnreachableError, messageOf } from '../../errors.js';
import { SIGNAL_EXITED, SIGNAL_REPLIES, type BridgeReply, type BridgeRequest, type BridgeWorkerData } from './bridge.js';

const { config, modules, ownedBytes, port, signal } = workerData as BridgeWorkerData;

const connector: Promise<Connector> = (async () => {
  for (const module of modules) await import(module);
  // Trusted: the config was made by a connector in this very process.
  return connectorFromConfig(config);
})();
// Start-up failures are reported to each read instead; this only keeps them from being "unhandled".
connector.catch(() => undefined);

process.once('exit', () => {
  Atomics.store(signal, SIGNAL_EXITED, 1);
  wake();
});

port.on('message', (request: BridgeRequest) => {
  if ('close' in request) void close();
  else if (request.waitMs !== undefined) void answerWait(request.id, request.key, request.waitMs);
  else void answer(request.id, request.key);
});

/** Waits for the key to be written, where the connector can (a future's synchronous first touch); false: look again by polling. */
async function answerWait(id: number, key: Key, waitMs: number): Promise<void> {
  let reply: BridgeReply;
  try {
    const ready = await connector;
    reply = { id, written: ready.whenWritten === undefined ? false : await ready.whenWritten(key, waitMs) };
  } catch (error) {
    reply = failed(id, error);
  }
  port.postMessage(reply);
  wake();
}

async function answer(id: number, key: Key): Promise<void> {
  let reply: BridgeReply;
  let transfer: ArrayBuffer[] = [];
  try {
    const bytes = await (await connector).get(key);
    const sent = bytes === undefined ? undefined : sendable(bytes);
    transfer = sent?.transfer ?? [];
    reply = { id, bytes: sent?.bytes };
  } catch (error) {
    reply = failed(id, error);
  }
  port.postMessage(reply, transfer);
  wake();
}

function wake(): void {
  Atomics.add(signal, SIGNAL_REPLIES, 1);
  Atomics.notify(signal, SIGNAL_REPLIES);
}

/**
 * A ConnectorError's reason alone: the caller wraps it in its own
 * ConnectorError, whose message names the connector, operation and key again.
 */
function failed(id: number, error: unknown): BridgeReply {
  const reason = reasonOf(error);
  return error instanceof RedisUnreachableError ? { id, error: reason, unreachable: { address: error.address, detail: error.detail } } : { id, error: reason };
}

function reasonOf(error: unknown): string {
  return error instanceof ConnectorError ? error.reason : messageOf(error);
}

/**
 * The bytes to post, and the buffer that may move with them rather than be
 * copied. Posting a view clones its whole backing buffer, so a view into a
 * larger one (Node's Buffer pool, a socket chunk) is first cut down to a copy
 * of its own bytes, which is then ours to move; a whole buffer moves only when
 * the connector says nobody else holds it.
 */
function sendable(bytes: Uint8Array): { bytes: Uint8Array; transfer: ArrayBuffer[] } {
  const { buffer } = bytes;
  if (buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength) {
    return { bytes, transfer: ownedBytes ? [buffer] : [] };
  }
  const copy = bytes.slice();
  return { bytes: copy, transfer: [copy.buffer] };
}

async function close(): Promise<void> {
  try {
    await (await connector).close();
  } catch {
    // A connector that never started, or fails to close, leaves nothing this thread could still release.
  }
  // With the port and the connector closed the event loop is empty, so the thread ends.
  port.close();
}
