/**
 * A tsserver process spoken to as an editor does: JSON requests, one per line,
 * on stdin; `Content-Length`-framed responses and events on stdout.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { REPO } from './stage.js';

/** A busy two-core machine can take a while to build the first program; every request still settles within this. */
const REQUEST_TIMEOUT_MS = 120_000;

interface Response {
  readonly type: 'response';
  readonly request_seq: number;
  readonly success: boolean;
  readonly message?: string;
  readonly body?: unknown;
}

export class TsServer {
  readonly #process: ChildProcessWithoutNullStreams;
  readonly #pending = new Map<number, { resolve: (body: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  #buffer = Buffer.alloc(0);
  #seq = 0;
  #stderr = '';

  /** `typescript`: the package directory under node_modules; `args` are tsserver's own (e.g. `--pluginProbeLocations dir`). */
  constructor(typescript: string, args: readonly string[], cwd: string) {
    this.#process = spawn(process.execPath, [path.join(REPO, 'node_modules', typescript, 'lib/tsserver.js'), '--disableAutomaticTypingAcquisition', ...args], { cwd });
    this.#process.stdout.on('data', (chunk: Buffer) => this.#read(chunk));
    this.#process.stderr.on('data', (chunk: Buffer) => {
      this.#stderr += chunk.toString();
    });
    this.#process.on('exit', (code) => {
      for (const { reject, timer } of this.#pending.values()) {
        clearTimeout(timer);
        reject(new Error(`tsserver exited (${code}) with a request pending: ${this.#stderr}`));
      }
      this.#pending.clear();
    });
  }

  /** Sends a request and resolves with its response body; rejects on failure, exit or timeout. */
  request<T>(command: string, args?: unknown): Promise<T> {
    const seq = ++this.#seq;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(seq);
        reject(new Error(`tsserver did not answer '${command}' within ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      this.#pending.set(seq, { resolve: resolve as (body: unknown) => void, reject, timer });
      this.#process.stdin.write(`${JSON.stringify({ seq, type: 'request', command, arguments: args })}\n`);
    });
  }

  /** A request tsserver answers with no response (`open`, `change`): followed by a cheap one, so it has been handled when this resolves. */
  async notify(command: string, args: unknown): Promise<void> {
    this.#process.stdin.write(`${JSON.stringify({ seq: ++this.#seq, type: 'request', command, arguments: args })}\n`);
    await this.request('status');
  }

  async close(): Promise<void> {
    if (this.#process.exitCode !== null) return;
    const exited = new Promise((resolve) => this.#process.once('exit', resolve));
    this.#process.stdin.write(`${JSON.stringify({ seq: ++this.#seq, type: 'request', command: 'exit' })}\n`);
    const timer = setTimeout(() => this.#process.kill(), 10_000);
    await exited;
    clearTimeout(timer);
  }

  #read(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      const header = this.#buffer.indexOf('\r\n\r\n');
      if (header < 0) return;
      const length = Number(/Content-Length: (\d+)/.exec(this.#buffer.subarray(0, header).toString())?.[1]);
      const start = header + 4;
      if (!Number.isInteger(length) || this.#buffer.length < start + length) return;
      const message = JSON.parse(this.#buffer.subarray(start, start + length).toString()) as Response | { type: 'event' };
      this.#buffer = this.#buffer.subarray(start + length);
      if (message.type !== 'response') continue;
      const waiting = this.#pending.get(message.request_seq);
      if (waiting === undefined) continue;
      this.#pending.delete(message.request_seq);
      clearTimeout(waiting.timer);
      if (message.success) waiting.resolve(message.body);
      else waiting.reject(new Error(`tsserver: ${message.message ?? 'request failed'}`));
    }
  }
}
