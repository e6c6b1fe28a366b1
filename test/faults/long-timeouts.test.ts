/**
 * Timeouts of 2^31 ms or more: setTimeout (and AbortSignal.timeout) fire
 * such delays at once, so a caller asking for 25 days got an immediate
 * TaskTimeoutError. Every user or descriptor timeout goes through timers.ts.
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { TaskTimeoutError } from '../../src/index.js';
import { PiscinaExecutor } from '../../runtime/executors/piscina.js';
import { TaskRunner } from '../../runtime/executors/worker/task-runner.js';
import { encodeCall } from '../../runtime/executors/task-wire.js';
import { setLongTimeout, timeoutSignal } from '../../runtime/support/timers.js';
import { taskPool, type FixtureTasks } from '../executors/helpers.js';

const BEYOND_INT32 = 2 ** 31 + 1_000;

describe('setLongTimeout', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits out a delay beyond 2^31 ms instead of firing at once', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const fire = vi.fn();
    setLongTimeout(fire, BEYOND_INT32);
    vi.advanceTimersByTime(1);
    expect(fire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(2 ** 31 - 1);
    expect(fire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1_000);
    expect(fire).toHaveBeenCalledTimes(1);
  });

  it('never fires for Infinity, and not once cleared', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const never = vi.fn();
    const cleared = vi.fn();
    setLongTimeout(never, Infinity);
    setLongTimeout(cleared, 10).clear();
    vi.advanceTimersByTime(2 ** 33);
    expect(never).not.toHaveBeenCalled();
    expect(cleared).not.toHaveBeenCalled();
  });

  it('gives a signal that stays unaborted past 2^31 ms until its delay', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const { signal } = timeoutSignal(BEYOND_INT32, () => new Error('late'));
    vi.advanceTimersByTime(2 ** 31);
    expect(signal.aborted).toBe(false);
    vi.advanceTimersByTime(1_000);
    expect(signal.reason).toEqual(new Error('late'));
  });
});

describe('executors with a timeout beyond 2^31 ms', () => {
  const pool = taskPool('executor-tasks.mjs', 1);
  afterAll(() => pool.close());

  it('lets a piscina call with timeoutMs 2^31 + 1000 run to its end', async () => {
    await using executor = new PiscinaExecutor<FixtureTasks>(pool);
    await expect(executor.run('sleep', [50], { timeoutMs: BEYOND_INT32 })).resolves.toBeUndefined();
  });

  it('lets a worker run a call whose deadline is 2^31 + 1000 ms away', async () => {
    const runner = new TaskRunner({ sleep: (ms: number) => new Promise((resolve) => setTimeout(() => resolve('done'), ms)) });
    const call = await encodeCall('sleep', [50], { timeoutMs: BEYOND_INT32 });
    await expect(runner.run(call)).resolves.toMatchObject({ ok: true });
  });

  it('still times out a call at a short deadline', async () => {
    await using executor = new PiscinaExecutor<FixtureTasks>(pool);
    await expect(executor.run('sleep', [2_000], { timeoutMs: 50 })).rejects.toBeInstanceOf(TaskTimeoutError);
  });
});
