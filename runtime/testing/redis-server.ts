/**
 * A real, throwaway redis-server on a free loopback port, for tests and
 * benchmarks. A missing redis-server is an error, never a skip: the Redis
 * tests must not pass vacuously on a machine without it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import os from 'node:os';

export interface RedisServerOptions {
  /** Extra redis-server arguments, e.g. ['--requirepass', 'secret']. */
  readonly args?: readonly string[];
}

export interface RedisServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** Shut the server down (without saving); harmless when already stopped. */
  stop(): Promise<void>;
  /** Kill it outright (SIGKILL), as a crash or the OOM killer would: no goodbye to its clients. */
  kill(): Promise<void>;
  /** Start it again on the same port, empty, e.g. after `stop()`. */
  start(): Promise<void>;
  /** Freeze the process (SIGSTOP): connections stay open but nothing answers, like a partitioned network. */
  pause(): void;
  resume(): void;
}

const HOST = '127.0.0.1';
/** Another process can grab the free port between our probe and redis binding it; such a start is retried on a new port. */
const PORT_ATTEMPTS = 5;
/** Bound on start-up and shutdown. */
const TIMEOUT_MS = 10_000;

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const args = options.args ?? [];
  let lastError: unknown;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = await freePort();
    try {
      const child = await launch(port, args);
      return new RunningServer(port, args, child);
    } catch (error) {
      if (error instanceof MissingRedisError) throw error;
      lastError = error;
    }
  }
  throw new Error(`could not start redis-server after ${PORT_ATTEMPTS} attempts`, { cause: lastError });
}

class RunningServer implements RedisServer {
  readonly host = HOST;
  #child: ChildProcess | undefined;

  constructor(
    readonly port: number,
    private readonly args: readonly string[],
    child: ChildProcess,
  ) {
    this.#child = child;
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    this.#child = undefined;
    await terminate(child);
  }

  async kill(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    this.#child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  async start(): Promise<void> {
    if (this.#child !== undefined) return;
    this.#child = await launch(this.port, this.args);
  }

  pause(): void {
    this.#child?.kill('SIGSTOP');
  }

  resume(): void {
    this.#child?.kill('SIGCONT');
  }
}

class MissingRedisError extends Error {
  override name = 'MissingRedisError';
}

/** A loopback port that nothing listens on right now. */
export async function freePort(): Promise<number> {
  const probe = net.createServer();
  probe.listen(0, HOST);
  await once(probe, 'listening');
  const { port } = probe.address() as net.AddressInfo;
  probe.close();
  await once(probe, 'close');
  return port;
}

async function launch(port: number, args: readonly string[]): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    // Nothing persisted, nothing written to the working directory, never visible beyond loopback.
    ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', os.tmpdir(), ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let onError: (error: NodeJS.ErrnoException) => void = () => undefined;
  let onExit: (code: number | null, signal: NodeJS.Signals | null) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => {
    onError = (error) =>
      reject(
        error.code === 'ENOENT'
          ? new MissingRedisError('redis-server is not installed (or not on PATH); the Redis tests need it: apt-get install redis-server')
          : error,
      );
    onExit = (code, signal) => reject(new Error(`redis-server on port ${port} exited during start-up (${signal ?? `code ${String(code)}`}):\n${output}`));
  });
  child.once('error', onError).once('exit', onExit);
  try {
    await Promise.race([failed, waitForPong(port)]);
  } catch (error) {
    await terminate(child);
    throw error;
  } finally {
    // Later exits (stop(), kill) are expected and must not reject anything.
    child.off('error', onError).off('exit', onExit);
    child.on('error', () => undefined);
  }
  // Start-up output was only needed to explain a failed start.
  child.stdout?.off('data', collect).resume();
  child.stderr?.off('data', collect).resume();
  return child;
}

async function waitForPong(port: number): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    if (await ping(port)) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within ${TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A raw PING, so the helper does not depend on the client under test. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port });
    let reply = '';
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      // "-LOADING" and friends are errors; only a real PONG means ready. "-NOAUTH" means ready but password-protected.
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'));
    });
  });
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  // A paused server ignores SIGTERM until continued.
  child.kill('SIGCONT');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
