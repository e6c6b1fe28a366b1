/** Small timing helpers shared by the plain-script benchmarks. */

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/**
 * Time several async cases `reps` times each, interleaved (a, b, a, b, …) so that
 * drift in machine load hits every case alike. Returns per-case milliseconds.
 */
export async function timeMany(cases: readonly (() => Promise<void>)[], reps: number, warmup = 2): Promise<number[][]> {
  const times = cases.map(() => [] as number[]);
  for (let rep = 0; rep < reps + warmup; rep++) {
    for (const [i, run] of cases.entries()) {
      const t0 = performance.now();
      await run();
      if (rep >= warmup) times[i]?.push(performance.now() - t0);
    }
  }
  return times;
}

/** "1.12x ok" or "1.50x over goal": a ratio next to its goal. */
export function formatRatio(ratio: number, goal: number): string {
  return `${ratio.toFixed(2)}x ${ratio <= goal ? 'ok' : 'over goal'}`;
}
