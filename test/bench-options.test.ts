/**
 * `npm run bench` as a user runs it: results go where git ignores them unless
 * `--out` says otherwise, and the progress bar weighs calls by their expected
 * cost, so a BullMQ run's few 100 MB round trips count for what they take.
 * Ways take turns of several calls, each turn in a shuffled order, and the
 * machinery goal is judged per connector.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { taskCost } from '../bench/paper/eta.js';
import { plannedWork } from '../bench/paper/experiments.js';
import { judgeGoals } from '../bench/paper/goals.js';
import { DEFAULT_OUT, parseSettings } from '../bench/paper/options.js';
import { summarize } from '../bench/paper/stats.js';
import { timeMany } from '../bench/timing.js';

const root = path.resolve(import.meta.dirname, '..');
const settings = (...args: string[]) => parseSettings(['node', 'bench', ...args]);

describe('bench output', () => {
  it('a run writes to a directory git ignores, full or quick, never over the committed results', () => {
    for (const run of [settings(), settings('--quick'), settings('--engine', 'bullmq')]) {
      expect(run.out).toBe(DEFAULT_OUT);
      expect(path.resolve(root, run.out)).not.toBe(path.resolve(root, 'bench', 'results'));
      // git check-ignore exits 0 for an ignored path (and 1, which throws, for one that is not).
      expect(execFileSync('git', ['check-ignore', path.join(run.out, `${run.plan.engine}.json`)], { cwd: root, encoding: 'utf8' }).trim()).not.toBe('');
    }
  });

  it('--out says where, including the committed folder', () => {
    expect(settings('--out', 'bench/results').out).toBe('bench/results');
    expect(settings('--quick', '--out', '/tmp/elsewhere').out).toBe('/tmp/elsewhere');
  });
});

describe('bench progress', () => {
  it('weighs a call by what it carries: on BullMQ a 100 MB round trip counts for thousands of 1 kB ones', () => {
    expect(taskCost('bullmq', 1e8) / taskCost('bullmq', 1e3)).toBeGreaterThan(1_000);
    expect(taskCost('bullmq', 1e6)).toBeGreaterThan(taskCost('piscina', 1e6));
  });

  it('the 100 MB round trips, under a tenth of the calls, are over a third of the expected time of a full BullMQ run', () => {
    const full = settings('--engine', 'bullmq', '--experiments', 'roundtrip').plan;
    const small = settings('--engine', 'bullmq', '--experiments', 'roundtrip', '--sizes', '1kB,10kB,100kB,1MB,10MB').plan;
    const all = plannedWork(full);
    const withoutBiggest = plannedWork(small);
    const biggestCalls = all.calls - withoutBiggest.calls;
    const biggestCost = all.cost - withoutBiggest.cost;
    expect(biggestCalls / all.calls).toBeLessThan(0.1);
    expect(biggestCost / all.cost).toBeGreaterThan(1 / 3);
  });
});

describe('bench warm-up', () => {
  it('every fresh pool is warmed before anything is timed, unless --warm-calls 0; the bar counts the warm-up as time, not calls', () => {
    expect(settings().plan.warmCalls).toBe(5_000);
    expect(settings('--quick').plan.warmCalls).toBe(1_000);
    const cold = settings('--warm-calls', '0').plan;
    const warm = settings('--warm-calls', '200').plan;
    expect(cold.warmCalls).toBe(0);
    expect(plannedWork(warm).calls).toBe(plannedWork(cold).calls);
    expect(plannedWork(warm).cost).toBeGreaterThan(plannedWork(cold).cost);
  });
});

describe('bench repetitions', () => {
  it('piscina times 1,001 round trips of each way below 1 MB, 101 from 1 MB and 3 at 100 MB; BullMQ 31, and 3 at 100 MB; --reps sets them all', () => {
    const reps = (...args: string[]) => {
      const roundTrip = settings(...args).plan.roundTrip;
      if (roundTrip === undefined) throw new Error('no round trip planned');
      return [1e3, 1e5, 1e6, 1e7, 1e8].map((bytes) => roundTrip.reps(bytes));
    };
    expect(reps()).toEqual([1_001, 1_001, 101, 101, 3]);
    expect(reps('--engine', 'bullmq')).toEqual([31, 31, 31, 31, 3]);
    expect(reps('--reps', '7')).toEqual([7, 7, 7, 7, 7]);
  });

  it('the tiled Cholesky runs 15 times each way on piscina, 5 on BullMQ, once with --quick', () => {
    const appReps = (...args: string[]) => settings(...args).plan.app?.reps;
    expect([appReps(), appReps('--engine', 'bullmq'), appReps('--quick'), appReps('--reps', '7')]).toEqual([15, 5, 1, 7]);
  });
});

describe('bench turns', () => {
  /** The order in which `timeMany` calls three cases, and how many times it timed each. */
  const calls = async (reps: number, warmup: number, turn?: number) => {
    const order: string[] = [];
    const cases = ['a', 'b', 'c'].map((name) => () => {
      order.push(name);
      return Promise.resolve();
    });
    const times = await timeMany(cases, reps, warmup, turn);
    return { order: order.join(''), timed: times.map((t) => t.length) };
  };

  it('with turns of one call, every round calls each way once, in a shuffled order', async () => {
    const { order, timed } = await calls(40, 2);
    expect(timed).toEqual([40, 40, 40]);
    const rounds = order.match(/.../g) ?? [];
    expect(rounds).toHaveLength(42);
    for (const round of rounds) expect([...round].sort().join('')).toBe('abc');
    expect(new Set(rounds).size).toBeGreaterThan(1);
  });

  it('with longer turns, a way runs its calls back to back after warm-up rounds of one call, and the last turn takes what is left', async () => {
    const { order, timed } = await calls(25, 3, 10);
    expect(timed).toEqual([25, 25, 25]);
    const warm = order.slice(0, 9);
    for (const round of warm.match(/.../g) ?? []) expect([...round].sort().join('')).toBe('abc');
    let start = 9;
    const turns = [10, 10, 10, 10, 10, 10, 5, 5, 5].map((length) => order.slice(start, (start += length)));
    expect(order).toHaveLength(9 + 75);
    for (const turn of turns) expect(new Set(turn).size).toBe(1);
    for (let round = 0; round < 3; round++) expect(turns.slice(3 * round, 3 * round + 3).map((t) => t[0]).sort().join('')).toBe('abc');
  });
});

describe('bench goals', () => {
  it('judges the proxy machinery per connector: the shared-memory pool can meet it while the file connector does not', () => {
    const ms = (median: number) => summarize([median]);
    const lane = (connector: 'shared-memory' | 'file', proxy: number, hand: number) => ({ connector, value: ms(1), proxy: ms(proxy), hand: ms(hand) });
    const rows = [1e3, 1e5, 1e6].map((bytes) => ({ bytes, lanes: [lane('shared-memory', 1.1, 1), lane('file', bytes === 1e6 ? 1.5 : 1.1, 1)] }));
    const machinery = judgeGoals({ engine: 'piscina', roundTrip: { workers: 1, unit: 'ms', rows } }).filter((g) => g.goal.startsWith('proxy machinery'));
    expect(machinery.map((g) => [g.goal.match(/\((shared-memory|file)\)/)?.[1], g.status, g.detail])).toEqual([
      ['shared-memory', 'met', '100 kB +10%, 1 MB +10%'],
      ['file', 'not met', '100 kB +10%, 1 MB +50% ✗'],
    ]);
    expect(judgeGoals({ engine: 'piscina' }).filter((g) => g.goal.startsWith('proxy machinery')).map((g) => g.status)).toEqual(['not measured']);
  });

  it("judges throughput against by value of the connector's own pass, not another lane's", () => {
    const rate = (median: number) => summarize([median]);
    // By value ran fast in the file lane's pass; shared memory's gain is against its own pass.
    const row = (workers: number) => ({
      workers,
      lanes: [
        { connector: 'shared-memory' as const, value: rate(1_000), proxy: rate(1_600) },
        { connector: 'file' as const, value: rate(4_000), proxy: rate(300) },
      ],
    });
    const [goal] = judgeGoals({ engine: 'piscina', throughput: { taskBytes: 1e6, tasks: 1_000, unit: 'tasks/s', rows: [1, 2, 4].map(row) } }).filter((g) =>
      g.goal.startsWith('piscina + shared memory: throughput'),
    );
    expect([goal?.status, goal?.detail]).toEqual(['met', '1 worker 1.60x, 2 workers 1.60x, 4 workers 1.60x']);
  });
});
