/** Small timing helpers shared by the plain-script benchmarks. */

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/**
 * Time several async cases `reps` times each, interleaved so that drift in
 * machine load hits every case alike. The order rotates every round (a b c,
 * b c a, c a b, …): a case that leaves garbage or cold memory behind then
 * burdens each of the others in turn, not always the one after it. Returns
 * per-case milliseconds.
 */
export async function timeMany(cases: readonly (() => Promise<void>)[], reps: number, warmup = 2): Promise<number[][]> {
  const times = cases.map(() => [] as number[]);
  for (let rep = 0; rep < reps + warmup; rep++) {
    for (let step = 0; step < cases.length; step++) {
      const i = (rep + step) % cases.length;
      const t0 = performance.now();
      await (cases[i] as () => Promise<void>)();
      if (rep >= warmup) times[i]?.push(performance.now() - t0);
    }
  }
  return times;
}

/** "1.12x ok" or "1.50x over goal": a ratio next to its goal. */
export function formatRatio(ratio: number, goal: number): string {
  return `${ratio.toFixed(2)}x ${ratio <= goal ? 'ok' : 'over goal'}`;
}
