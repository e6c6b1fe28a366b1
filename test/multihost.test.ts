/**
 * Many machines, for real: Redis, a caller and two ts-proxystore-worker
 * processes each in a network namespace of its own, joined by veth pairs to a
 * bridge that lives in a fifth namespace. Every address is a private one on
 * those namespaces' interfaces, so no byte of the test crosses the root
 * namespace or leaves the machine. Needs root and iproute2 (`ip`): without
 * them the test fails, it does not skip.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = path.join(import.meta.dirname, '..');
const CLI = path.join(ROOT, 'dist', 'runtime', 'executors', 'bullmq', 'worker-cli.js');
const fixture = (name: string): string => path.join(ROOT, 'test', 'fixtures', name);
const SECRET = randomBytes(24).toString('base64');
const REDIS_PORT = 6379;

/** Unique per run, so parallel runs and leftovers of a crashed one never clash; interface names stay within 15 characters. */
const tag = randomBytes(3).toString('hex');
const subnet = `10.${randomInt(64, 250)}.${randomInt(1, 250)}`;
const SWITCH = `psw-${tag}`;
const hosts = {
  redis: { ns: `psr-${tag}`, ip: `${subnet}.1` },
  caller: { ns: `psc-${tag}`, ip: `${subnet}.2` },
  w1: { ns: `ps1-${tag}`, ip: `${subnet}.3` },
  w2: { ns: `ps2-${tag}`, ip: `${subnet}.4` },
};
const namespaces = [SWITCH, ...Object.values(hosts).map((h) => h.ns)];
const processes: ChildProcess[] = [];
const scratch = mkdtempSync(path.join(os.tmpdir(), 'multihost-'));

async function ip(...args: string[]): Promise<string> {
  return (await run('ip', args)).stdout;
}

async function inNamespace(ns: string, ...command: string[]): Promise<string> {
  return (await run('ip', ['netns', 'exec', ns, ...command])).stdout;
}

async function createNetwork(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the multi-host test needs root to create network namespaces (run it as root, e.g. in CI)');
  await ip('netns', 'add', SWITCH);
  await inNamespace(SWITCH, 'ip', 'link', 'add', 'br0', 'type', 'bridge');
  await inNamespace(SWITCH, 'ip', 'link', 'set', 'br0', 'up');
  for (const [index, { ns, ip: address }] of Object.values(hosts).entries()) {
    await ip('netns', 'add', ns);
    // Both ends are born inside the namespaces, so the root namespace never holds them.
    const hostEnd = `h${tag}${index}`;
    const switchEnd = `s${tag}${index}`;
    await ip('-n', ns, 'link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', switchEnd, 'netns', SWITCH);
    await inNamespace(SWITCH, 'ip', 'link', 'set', switchEnd, 'master', 'br0', 'up');
    await inNamespace(ns, 'ip', 'addr', 'add', `${address}/24`, 'dev', hostEnd);
    await inNamespace(ns, 'ip', 'link', 'set', hostEnd, 'up');
    await inNamespace(ns, 'ip', 'link', 'set', 'lo', 'up');
  }
}

async function removeNetwork(): Promise<void> {
  for (const ns of namespaces) await ip('netns', 'del', ns).catch(() => undefined);
}

/** Spawns `command` inside `ns`; resolves with the process once a stdout line matches `ready`. */
async function startIn(ns: string, command: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; lines: AsyncIterator<string> }> {
  const child = spawn('ip', ['netns', 'exec', ns, ...command], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  processes.push(child);
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  try {
    for (;;) {
      const line = await lines.next();
      if (line.done === true) throw new Error(`${command.join(' ')} in ${ns} exited before it was ready`);
      if (ready.test(line.value)) return { child, lines };
    }
  } finally {
    clearTimeout(timer);
  }
}

const allowHosts = [hosts.caller.ip, hosts.w1.ip, hosts.w2.ip];

interface Worker {
  readonly child: ChildProcess;
  readonly ip: string;
  readonly stats: string;
}

async function startWorker(name: 'w1' | 'w2', queue: string): Promise<Worker> {
  const { ns, ip: address } = hosts[name];
  const stats = path.join(scratch, `${name}-${queue}.json`);
  const { child } = await startIn(
    ns,
    [
      process.execPath,
      CLI,
      ...['--queue', queue, '--tasks', fixture('multihost-tasks.mjs'), '--redis', `redis://${hosts.redis.ip}:${REDIS_PORT}`],
      ...['--concurrency', '2', '--stalled-interval-ms', '1000', '--lock-duration-ms', '2000'],
      ...['--peer-host', address, ...allowHosts.flatMap((host) => ['--allow-host', host])],
    ],
    /ready/,
    { PROXYSTORE_PEER_SECRET: SECRET, MULTIHOST_STATS: stats },
  );
  return { child, ip: address, stats };
}

/** Stops a worker (SIGTERM: it finishes its jobs) and returns what its peer connector still held at exit. */
async function stopWorker(worker: Worker): Promise<{ objects: number; bytes: number }> {
  const exited = once(worker.child, 'exit');
  worker.child.kill('SIGTERM');
  await exited;
  return JSON.parse(readFileSync(worker.stats, 'utf8')) as { objects: number; bytes: number };
}

interface Outcome {
  readonly t: number;
  readonly right?: boolean;
  readonly owner?: string;
  readonly error?: { name: string; message: string; cause?: string; causeMessage?: string };
}

describe('peer connector across network namespaces (multi-host)', () => {
  beforeAll(async () => {
    await createNetwork();
    await startIn(hosts.redis.ns, [
        'redis-server',
        ...['--port', String(REDIS_PORT), '--bind', hosts.redis.ip, '--save', '', '--appendonly', 'no', '--dir', scratch],
        // Protected mode only admits loopback clients; this server is reachable from the test's private namespaces alone.
        ...['--protected-mode', 'no'],
      ], /Ready to accept connections/);
  }, 60_000);

  afterAll(async () => {
    for (const child of processes) child.kill('SIGKILL');
    await removeNetwork();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('the namespaces are isolated: each has only its own subnet, no default route and no other interface', async () => {
    for (const { ns, ip: address } of Object.values(hosts)) {
      const routes = (await inNamespace(ns, 'ip', 'route', 'show')).trim().split('\n');
      expect(routes).toEqual([expect.stringMatching(new RegExp(`^${subnet.replaceAll('.', '\\.')}\\.0/24 dev h${tag}\\d .* src ${address.replaceAll('.', '\\.')}`))]);
      const links = (await inNamespace(ns, 'ip', '-o', 'link', 'show')).trim().split('\n');
      expect(links).toHaveLength(2);
    }
  });

  it('100 tasks of 1 MB through the peer store: every result right, read from the worker that made it, every object freed', async () => {
    const queue = `mh-all-${tag}`;
    const workers = [await startWorker('w1', queue), await startWorker('w2', queue)];
    const report = await captureCaller({ scenario: 'all', queue, tasks: 100 });
    const results = report.results as Outcome[];
    expect(results).toHaveLength(100);
    expect(results.filter((r) => r.right !== true)).toEqual([]);
    // Results were served by the workers themselves, at their namespace addresses: both took part.
    expect(new Set(results.map((r) => r.owner))).toEqual(new Set([hosts.w1.ip, hosts.w2.ip]));
    expect(report.callerStats).toMatchObject({ objects: 0, bytes: 0 });
    for (const worker of workers) expect(await stopWorker(worker)).toMatchObject({ objects: 0, bytes: 0 });
  }, 120_000);

  it('a worker killed mid-task: reading what it served fails with a ConnectorError naming it, and the remaining tasks finish', async () => {
    const queue = `mh-kill-${tag}`;
    const [victim, survivor] = [await startWorker('w1', queue), await startWorker('w2', queue)];
    const report = await captureCaller({ scenario: 'kill', queue, killPid: victim.child.pid });
    const unread = report.unread as Outcome[];
    const fromVictim = unread.filter((u) => u.owner === victim.ip);
    expect(fromVictim.length).toBeGreaterThan(0);
    for (const outcome of fromVictim) {
      expect(outcome.error?.name).toBe('ProxyResolveError');
      expect(outcome.error?.cause).toBe('ConnectorError');
      expect(outcome.error?.causeMessage).toMatch(new RegExp(`^peer ${victim.ip.replaceAll('.', '\\.')}:\\d+: get of key .* failed: connection (refused|reset|closed)`));
    }
    // Reading the dead worker's results took bounded time: refused at once, not a timeout.
    expect(report.readMs as number).toBeLessThan(10_000);
    expect(unread.filter((u) => u.owner === survivor.ip).every((u) => u.right === true)).toBe(true);
    // The task the victim was running is retried on the survivor or fails as a crash; nothing else goes wrong.
    for (const outcome of report.slow as Outcome[]) {
      if (outcome.right === true) continue;
      expect(['WorkerCrashedError', 'ProxyResolveError']).toContain(outcome.error?.name);
    }
    const after = report.after as Outcome[];
    expect(after.every((r) => r.right === true && r.owner === survivor.ip)).toBe(true);
    expect(await stopWorker(survivor)).toMatchObject({ objects: 0, bytes: 0 });
  }, 120_000);

  it('the network to a worker cut: reading what it served fails with a ConnectorError naming it within requestTimeoutMs, and the other worker’s results still read', async () => {
    const queue = `mh-cut-${tag}`;
    const [victim, survivor] = [await startWorker('w1', queue), await startWorker('w2', queue)];
    const report = await captureCaller({ scenario: 'cut', queue }, () => ip('-n', hosts.w1.ns, 'link', 'set', `h${tag}2`, 'down').then(() => undefined));
    expect((report.before as Outcome[]).every((r) => r.right === true)).toBe(true);
    const unread = report.unread as Outcome[];
    const fromVictim = unread.filter((u) => u.owner === victim.ip);
    expect(fromVictim.length).toBeGreaterThan(0);
    for (const outcome of fromVictim) {
      expect(outcome.error?.cause).toBe('ConnectorError');
      // The connection was open when the network went: nothing answers, and the caller's requestTimeoutMs (5 s) ends the wait.
      expect(outcome.error?.causeMessage).toMatch(new RegExp(`^peer ${victim.ip.replaceAll('.', '\\.')}:\\d+: get of key .* failed: .*requestTimeoutMs`));
    }
    expect(report.readMs as number).toBeLessThan(15_000);
    expect(unread.filter((u) => u.owner === survivor.ip).every((u) => u.right === true)).toBe(true);
    victim.child.kill('SIGKILL');
    expect(await stopWorker(survivor)).toMatchObject({ objects: 0, bytes: 0 });
  }, 120_000);
});

/** Runs the caller in its namespace and returns the JSON line it prints; `onCut` runs when it prints 'cut', and the caller goes on once it returns. */
async function captureCaller(config: Record<string, unknown>, onCut?: () => Promise<void>): Promise<Record<string, unknown>> {
  const child = spawn(
    'ip',
    ['netns', 'exec', hosts.caller.ns, process.execPath, fixture('multihost-caller.mjs'), JSON.stringify({ redis: { host: hosts.redis.ip, port: REDIS_PORT }, host: hosts.caller.ip, allowHosts, ...config })],
    { env: { ...process.env, PROXYSTORE_PEER_SECRET: SECRET }, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  processes.push(child);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    if (onCut !== undefined && /^cut$/m.test(output)) {
      output = output.replace(/^cut\n/m, '');
      const cut = onCut;
      onCut = undefined;
      void cut().then(() => child.stdin.write('go\n'));
    }
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  const line = output.trim().split('\n').at(-1) ?? '';
  if (code !== 0 || !line.startsWith('{')) throw new Error(`the caller exited with ${String(code)}: ${output}`);
  return JSON.parse(line) as Record<string, unknown>;
}
