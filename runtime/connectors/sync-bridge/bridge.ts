/**
 * Synchronous reads for connectors whose `get` is asynchronous (Redis, or any
 * other network store).
 *
 * When each path is taken:
 * - `resolveAsync(proxy)`, `store.get` → `connector.get`: nothing blocks, no bridge.
 * - The first synchronous touch of an unresolved proxy (a property read, a
 *   method call) → `store.getSync` → `connector.getSync` → this bridge: the
 *   calling thread blocks in `Atomics.wait` while a worker thread runs the
 *   connector's own async `get` and hands the bytes back.
 * - A proxy that is already resolved, or a hit in the store's cache → neither.
 *
 * Mechanism, hand-written rather than synckit's `createSyncFn` because:
 * - synckit keeps one worker per worker *file* for the whole process and offers
 *   no way to give it per-connector data (config, password) or to stop it, and
 *   we need one worker per connector config, shut down by `close()`;
 * - it posts results without a transfer list, so every payload is copied
 *   once more on the way back. Measured on the dev VM (2 cores), a worker
 *   answering with a fresh array of the size asked, ms per call, synckit vs
 *   this bridge moving the bytes: 1 KB 0.05–0.18 vs 0.03; 1 MB 0.7–1.9 vs
 *   0.3–0.4; 10 MB 12–20 vs 2–6; 100 MB 225–300 vs 10–14.
 * The worker posts each reply on a MessagePort, moving (not copying) the bytes
 * when the connector says it owns them, then bumps a counter in a
 * SharedArrayBuffer and notifies; the caller waits on that counter and takes
 * the reply with `receiveMessageOnPort`, so no event-loop turn is needed.
 * Through Redis on loopback (bench/micro/connectors-redis.bench.ts) a warm
 * synchronous read costs about 0.15–0.2 ms more than an async get at 1 KB,
 * 1–1.5 ms more at 1 MB, and the same from 10 MB up; the first one also
 * starts the worker and its connection, about 150–250 ms.
 */
import { receiveMessageOnPort, MessageChannel, Worker, type MessagePort, type WorkerOptions } from 'node:worker_threads';
import type { ConnectorConfig, JsonValue, Key } from '../connector.js';
import { ConnectorError, RedisUnreachableError } from '../../errors.js';

export interface SyncBridgeOptions {
  /**
   * Modules the worker imports before rebuilding the connector from its config,
   * so that the config's kind is registered there: usually the connector's own
   * module, as `new URL('./mine.js', import.meta.url)`.
   */
  readonly modules: readonly URL[];
  /**
   * Options merged into the config's options inside the worker only: secrets
   * such as a password, and local tuning. They never appear in `config()`, so
   * they never travel in descriptors.
   */
  readonly localOptions?: { readonly [option: string]: JsonValue };
  /** Bound on one blocking read, including worker start-up on the first. */
  readonly timeoutMs: number;
  /** Names the connector in errors, e.g. 'redis 127.0.0.1:6379'. Default: the config's kind. */
  readonly name?: string;
  /**
   * The connector's `get` returns bytes nobody else holds, so the worker may
   * move them to the caller instead of copying. Leave false for connectors
   * that hand out shared or cached arrays.
   */
  readonly ownedBytes?: boolean;
}

/** One holder's use of a (possibly shared) bridge worker. */
export interface SyncBridge {
  /** The connector's `get(key)`, blocking the calling thread; failures throw ConnectorError. */
  get(key: Key): Uint8Array | undefined;
  /**
   * The connector's `whenWritten(key, waitMs)`, blocking the calling thread
   * (at most `waitMs` plus the bridge's own bound): a synchronous first touch
   * of a future then sleeps until the value is set instead of polling.
   */
  whenWritten(key: Key, waitMs: number): boolean;
  /** Let go of the worker; the last holder's release shuts it down. Idempotent. */
  release(): Promise<void>;
}

/** @internal What the worker receives; shared with sync-bridge-worker.ts. */
export interface BridgeWorkerData {
  readonly config: ConnectorConfig;
  readonly modules: readonly string[];
  readonly ownedBytes: boolean;
  readonly port: MessagePort;
  /** See SIGNAL_REPLIES and SIGNAL_EXITED. */
  readonly signal: Int32Array;
}

/** @internal Index in `signal` counting replies posted (and the worker's exit); a blocked caller waits for it to move. */
export const SIGNAL_REPLIES = 0;
/** @internal Index in `signal` the worker sets to 1 as it exits, so a blocked caller learns at once instead of at its timeout. */
export const SIGNAL_EXITED = 1;

/** @internal */
export type BridgeRequest = { readonly id: number; readonly key: Key; readonly waitMs?: number } | { readonly close: true };
/** @internal */
export type BridgeReply =
  | { readonly id: number; readonly bytes: Uint8Array | undefined }
  | { readonly id: number; readonly written: boolean }
  | { readonly id: number; readonly error: string; readonly unreachable?: { readonly address: string; readonly detail: string } };

/** A worker that got the close request but does not finish (a hung connector close) is terminated after this. */
const STOP_GRACE_MS = 5_000;

const workers = new Map<string, BridgeWorker>();

/**
 * A blocking reader for the connector described by `config`. Connectors with
 * the same config, local options and modules share one worker, which starts
 * here and stops when the last of them releases it. The worker never keeps
 * the process alive.
 */
export function acquireSyncBridge(config: ConnectorConfig, options: SyncBridgeOptions): SyncBridge {
  const name = options.name ?? config.kind;
  const data = {
    config: { kind: config.kind, options: { ...config.options, ...options.localOptions } },
    modules: options.modules.map((url) => url.href),
    ownedBytes: options.ownedBytes ?? false,
  };
  const id = JSON.stringify(data);
  let worker = workers.get(id);
  if (worker === undefined) {
    worker = new BridgeWorker(data);
    workers.set(id, worker);
  }
  worker.holders++;
  return new BridgeHandle(worker, name, options.timeoutMs, () => {
    if (--worker.holders > 0) return Promise.resolve();
    workers.delete(id);
    return worker.stop();
  });
}

class BridgeHandle implements SyncBridge {
  #release: (() => Promise<void>) | undefined;

  constructor(
    readonly worker: BridgeWorker,
    readonly name: string,
    readonly timeoutMs: number,
    release: () => Promise<void>,
  ) {
    this.#release = release;
  }

  get(key: Key): Uint8Array | undefined {
    if (this.#release === undefined) throw new ConnectorError(this.name, 'getSync', 'sync bridge already released', { key });
    const reply = this.worker.ask({ key }, 'getSync', this.name, this.timeoutMs);
    return 'bytes' in reply ? reply.bytes : undefined;
  }

  whenWritten(key: Key, waitMs: number): boolean {
    if (this.#release === undefined) throw new ConnectorError(this.name, 'whenWrittenSync', 'sync bridge already released', { key });
    const reply = this.worker.ask({ key, waitMs }, 'whenWrittenSync', this.name, waitMs + this.timeoutMs);
    return 'written' in reply && reply.written;
  }

  release(): Promise<void> {
    const release = this.#release;
    this.#release = undefined;
    return release?.() ?? Promise.resolve();
  }
}

class BridgeWorker {
  holders = 0;
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #signal = new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
  readonly #exited: Promise<void>;
  #failure: Error | undefined;
  #nextId = 0;

  constructor(data: Omit<BridgeWorkerData, 'port' | 'signal'>) {
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    const workerData: BridgeWorkerData = { ...data, port: port2, signal: this.#signal };
    this.#worker = startWorker(new URL('./worker.js', import.meta.url), { workerData, transferList: [port2] });
    this.#worker.unref();
    // The worker reports per-request failures itself; this only sees it dying, which later reads then report at once.
    this.#worker.on('error', (error) => (this.#failure = error));
    this.#exited = new Promise((resolve) =>
      this.#worker.once('exit', (code) => {
        this.#failure ??= new Error(`sync bridge worker exited (code ${code})`);
        resolve();
      }),
    );
  }

  /** Posts `request` (under a fresh id) and blocks until its reply; failures throw ConnectorError naming `operation`. */
  ask(request: { readonly key: Key; readonly waitMs?: number }, operation: string, name: string, timeoutMs: number): BridgeReply {
    const { key } = request;
    if (this.#failure !== undefined) throw new ConnectorError(name, operation, this.#failure.message, { cause: this.#failure, key });
    const id = this.#nextId++;
    this.#port.postMessage({ ...request, id } satisfies BridgeRequest);
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      // Read the counter before draining the port: a reply posted after the
      // drain bumps it past `seen`, so the wait below cannot miss it.
      const seen = Atomics.load(this.#signal, SIGNAL_REPLIES);
      for (let received = receiveMessageOnPort(this.#port); received !== undefined; received = receiveMessageOnPort(this.#port)) {
        const reply = received.message as BridgeReply;
        // Replies to earlier reads that timed out arrive late; they are dropped here.
        if (reply.id !== id) continue;
        if ('error' in reply) throw failureOf(reply, name, operation, key);
        return reply;
      }
      if (Atomics.load(this.#signal, SIGNAL_EXITED) === 1) throw new ConnectorError(name, operation, 'sync bridge worker exited', { key });
      const remaining = deadline - performance.now();
      if (remaining <= 0) throw new ConnectorError(name, operation, `no answer from the sync bridge worker within ${timeoutMs} ms`, { key });
      Atomics.wait(this.#signal, SIGNAL_REPLIES, seen, remaining);
    }
  }

  async stop(): Promise<void> {
    const request: BridgeRequest = { close: true };
    this.#port.postMessage(request);
    // Referenced while stopping, so that `await close()` finishes instead of the process exiting under it.
    this.#worker.ref();
    const timer = setTimeout(() => void this.#worker.terminate(), STOP_GRACE_MS);
    await this.#exited;
    clearTimeout(timer);
    this.#port.close();
  }
}

/**
 * The bridge worker, with the parent's flags (a loader such as `--import tsx`
 * must apply there too). A worker inherits them by default, except that
 * `--input-type` (present under `node --input-type=module -e …`) makes one
 * started from a file fail at once, where a blocked caller would only learn
 * of it from its timeout. Without it the flags must be listed, and a worker
 * refuses V8 and process-wide ones in a list (`--max-old-space-size`,
 * `--expose-gc`): those it names are dropped (the process has them anyway).
 */
function startWorker(file: URL, options: WorkerOptions): Worker {
  const argv = withoutInputType(process.execArgv);
  if (argv.length === process.execArgv.length) return new Worker(file, options);
  try {
    return new Worker(file, { ...options, execArgv: argv });
  } catch (error) {
    const refused = (error as { code?: unknown }).code === 'ERR_WORKER_INVALID_EXEC_ARGV' ? /flags: (.*)$/.exec((error as Error).message)?.[1]?.split(', ') : undefined;
    if (refused === undefined) throw error;
    return new Worker(file, { ...options, execArgv: argv.filter((arg) => !refused.includes(arg)) });
  }
}

function withoutInputType(execArgv: readonly string[]): string[] {
  const argv: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i] as string;
    if (arg === '--input-type') i++;
    else if (!arg.startsWith('--input-type=')) argv.push(arg);
  }
  return argv;
}

/** The error a failed reply stands for: a server out of reach stays a RedisUnreachableError, which callers retry. */
function failureOf(reply: Extract<BridgeReply, { readonly error: string }>, name: string, operation: string, key: Key): ConnectorError {
  const { unreachable } = reply;
  return unreachable === undefined ? new ConnectorError(name, operation, reply.error, { key }) : new RedisUnreachableError(unreachable.address, operation, unreachable.detail, { key });
}
