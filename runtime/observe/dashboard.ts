/**
 * A live dashboard on loopback: one HTML page, no build step and no CDN, fed
 * by server-sent events. It shows what stores hold and how they are used, and
 * what executors are doing, from the figures they already keep (`Store.stats`,
 * `Store.list`, `BaseExecutor.stats`).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, messageOf } from '../errors.js';
import type { Store, StoreStats } from '../store/store.js';
import { dashboardPage } from './dashboard-page.js';
import { DURATION_BUCKETS_MS, type ExecutorStats } from '../executors/task-stats.js';

export interface DashboardOptions {
  /** Default 0: any free port (see `url`). */
  readonly port?: number;
  /** A loopback address; default '127.0.0.1'. The page shows keys and sizes, so it is never served beyond this machine. */
  readonly host?: string;
  /** The stores to show; a function is asked at every update, for stores that come and go. */
  readonly stores?: readonly Store[] | (() => readonly Store[]);
  /**
   * Executors by the name the page shows them under (`BaseExecutor`, so every
   * engine and `StoreExecutor`, has `stats()`); a function is asked at every update.
   */
  readonly executors?: Readonly<Record<string, { stats(): ExecutorStats }>> | (() => Readonly<Record<string, { stats(): ExecutorStats }>>);
  /** How often the page gets new figures. Default 1000 ms. */
  readonly intervalMs?: number;
  /**
   * How often each store's connector is asked for what it holds (a directory
   * listing, a Redis SCAN): dearer than the other figures. Default 5000 ms; 0 never.
   */
  readonly listEveryMs?: number;
}

export interface StoreSnapshot extends StoreStats {
  /** Objects and bytes the connector holds under the store's config; null where it cannot list or has not been asked yet. */
  readonly held: { readonly objects: number; readonly bytes: number } | null;
}

export interface DashboardSnapshot {
  /** ms since the epoch. */
  readonly time: number;
  readonly stores: readonly StoreSnapshot[];
  readonly executors: Readonly<Record<string, ExecutorStats>>;
  /**
   * Executors whose calls another shown executor counts too: a StoreExecutor
   * shown beside the engine it wraps. The page leaves them out of its totals,
   * so that each call counts once.
   */
  readonly nested: readonly string[];
  /** Upper bounds of the executors' duration buckets, in ms. */
  readonly durationBucketsMs: readonly number[];
}

export interface Dashboard extends AsyncDisposable {
  /** Where the page is, e.g. http://127.0.0.1:43121/ */
  readonly url: string;
  /** The figures the page gets next. */
  snapshot(): DashboardSnapshot;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** Serves the dashboard until `close()`; resolves once it listens. */
export async function startDashboard(options: DashboardOptions = {}): Promise<Dashboard> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host)) throw new ConfigError(`startDashboard: host must be a loopback address (127.0.0.1, localhost, ::1), got ${JSON.stringify(host)}`);
  const intervalMs = positive('intervalMs', options.intervalMs ?? 1_000);
  const listEveryMs = options.listEveryMs ?? 5_000;
  if (!Number.isFinite(listEveryMs) || listEveryMs < 0) throw new ConfigError(`startDashboard: listEveryMs must be 0 or more, got ${String(listEveryMs)}`);
  const given = options.stores ?? [];
  const stores = typeof given === 'function' ? given : (): readonly Store[] => given;
  const givenExecutors = options.executors ?? {};
  const executors = typeof givenExecutors === 'function' ? givenExecutors : (): Readonly<Record<string, { stats(): ExecutorStats }>> => givenExecutors;

  const held = new Map<Store, StoreSnapshot['held']>();
  let listing: Promise<void> | undefined;
  const refreshHeld = (): void => {
    listing ??= Promise.all(stores().map(async (store) => held.set(store, await countHeld(store)))).then(() => (listing = undefined));
  };

  const snapshot = (): DashboardSnapshot => {
    const shown = Object.entries(executors());
    const objects = new Set<unknown>(shown.map(([, executor]) => executor));
    return {
      time: Date.now(),
      stores: stores().map((store) => ({ ...store.stats(), held: held.get(store) ?? null })),
      executors: Object.fromEntries(shown.map(([name, executor]) => [name, executor.stats()])),
      nested: shown.filter(([, executor]) => objects.has((executor as { readonly executor?: unknown }).executor)).map(([name]) => name),
      durationBucketsMs: DURATION_BUCKETS_MS,
    };
  };

  const clients = new Set<ServerResponse>();
  const server = createServer((request, response) => serve(request, response));
  const serve = (request: IncomingMessage, response: ServerResponse): void => {
    // A page elsewhere could reach a loopback server through a name it controls (DNS rebinding): only our own names are answered.
    const [hostname] = (request.headers.host ?? '').split(/:(?=\d+$)/);
    if (hostname === undefined || !LOOPBACK.has(hostname.replace(/^\[|\]$/g, ''))) {
      response.writeHead(421, { 'content-type': 'text/plain' }).end('misdirected request\n');
      return;
    }
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET') {
      response.writeHead(405, { allow: 'GET' }).end();
    } else if (path === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(dashboardPage);
    } else if (path === '/favicon.ico') {
      response.writeHead(204).end();
    } else if (path === '/snapshot.json') {
      response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(snapshot()));
    } else if (path === '/events') {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      response.write(`retry: ${intervalMs}\n`);
      send(response, snapshot());
      clients.add(response);
      request.on('close', () => clients.delete(response));
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  };

  const tick = setInterval(() => {
    if (clients.size === 0) return;
    const next = snapshot();
    for (const client of clients) send(client, next);
  }, intervalMs);
  tick.unref();
  let lister: NodeJS.Timeout | undefined;
  if (listEveryMs > 0) {
    refreshHeld();
    lister = setInterval(refreshHeld, listEveryMs);
    lister.unref();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // The page is a convenience: it must never keep a finished program alive.
  server.unref();
  const { port } = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      clearInterval(tick);
      if (lister !== undefined) clearInterval(lister);
      for (const client of clients) client.end();
      clients.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await listing;
    })());
  return { url: `http://${shownHost}:${port}/`, snapshot, close, [Symbol.asyncDispose]: close };
}

function send(response: ServerResponse, snapshot: DashboardSnapshot): void {
  response.write(`data: ${JSON.stringify(snapshot)}\n\n`);
}

/** What the store's connector holds, or null where it cannot say; a failing listing is shown as unknown, not as a crash. */
async function countHeld(store: Store): Promise<StoreSnapshot['held']> {
  if (store.closed || store.connector.list === undefined) return null;
  let objects = 0;
  let bytes = 0;
  try {
    for await (const listed of store.list()) {
      objects += 1;
      bytes += listed.bytes;
    }
  } catch (error) {
    process.emitWarning(`dashboard: cannot list store '${store.name}': ${messageOf(error)}`, 'ProxyStoreWarning');
    return null;
  }
  return { objects, bytes };
}

function positive(option: string, value: number): number {
  if (Number.isFinite(value) && value > 0) return value;
  throw new ConfigError(`startDashboard: ${option} must be a positive number of ms, got ${String(value)}`);
}
