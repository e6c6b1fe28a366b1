/**
 * Debug logs, one namespace per layer: `ts-proxystore:store`, `:proxy`,
 * `:connector:<kind>`, `:executor`, `:transformer`. Off by default; turn them
 * on with `DEBUG=ts-proxystore:*` (the `debug` convention) or
 * `PROXYSTORE_DEBUG=1` (or a namespace list such as `store,proxy`).
 *
 * Callers test `.enabled` before doing any work for a line (timing, formatting
 * keys), so logging that is off costs one property read per operation.
 */
import { createDebug, enable, namespaces, type Debugger } from 'obug';

const ROOT = 'ts-proxystore';

/** `PROXYSTORE_DEBUG=1|*|all` → everything; otherwise a comma list of sub-namespaces. */
function enableFromEnvironment(value: string | undefined): void {
  if (value === undefined || value === '' || value === '0') return;
  const wanted = ['1', '*', 'all', 'true'].includes(value)
    ? [`${ROOT}:*`]
    : value.split(',').map((part) => `${ROOT}:${part.trim()}`);
  const current = namespaces();
  enable([current, ...wanted].filter((n) => n !== '').join(','));
}
enableFromEnvironment(process.env['PROXYSTORE_DEBUG']);

export const storeLog: Debugger = createDebug(`${ROOT}:store`);
export const proxyLog: Debugger = createDebug(`${ROOT}:proxy`);
export const executorLog: Debugger = createDebug(`${ROOT}:executor`);
export const transformerLog: Debugger = createDebug(`${ROOT}:transformer`);

const connectorLogs = new Map<string, Debugger>();

/** The logger of one connector kind (`ts-proxystore:connector:file`, …), made once per kind. */
export function connectorLog(kind: string): Debugger {
  let log = connectorLogs.get(kind);
  if (log === undefined) {
    log = createDebug(`${ROOT}:connector:${kind}`);
    connectorLogs.set(kind, log);
  }
  return log;
}

/** Milliseconds since `t0`, printed the way every log line prints them. */
export function msSince(t0: number): string {
  return (performance.now() - t0).toFixed(3);
}
