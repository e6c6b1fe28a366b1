import { Worker } from 'node:worker_threads';

export interface WorkerClient {
  call<T>(op: string, args: object): Promise<T>;
  terminate(): Promise<number>;
}

/**
 * Drives a fixture worker that answers `{ id, op, args }` with `{ id, result }`
 * or `{ id, error }`, one request at a time or several.
 */
export function startWorker(file: string): WorkerClient {
  const worker = new Worker(file);
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let next = 0;
  worker.on('message', ({ id, result, error }: { id: number; result?: unknown; error?: string }) => {
    const waiting = pending.get(id);
    pending.delete(id);
    if (error === undefined) waiting?.resolve(result);
    else waiting?.reject(new Error(`in the worker: ${error}`));
  });
  worker.on('error', (error) => pending.forEach(({ reject }) => reject(error)));
  return {
    call: <T>(op: string, args: object) =>
      new Promise<T>((resolve, reject) => {
        pending.set(++next, { resolve: resolve as (value: unknown) => void, reject });
        worker.postMessage({ id: next, op, args });
      }),
    terminate: () => worker.terminate(),
  };
}
