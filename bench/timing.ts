/** Small timing helpers shared by the plain-script benchmarks. */

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/**
 * Time several async cases `reps` times each, taking turns so that drift in
 * machine load hits every case alike. Each round runs the cases in a new
 * order (a shuffle from a fixed seed, so runs are repeatable). A rotation
 * (a b c, b c a, …) would keep the cyclic order, so the case after one that
 * leaves garbage or cold memory behind would pay for it in nearly every round.
 *
 * A turn is `turn` calls of one case back to back (after `warmup` rounds of
 * one call each). With turns of one call, each case pays for what the
 * others leave behind: garbage to collect while it runs, and caches and
 * branch history filled by other code. A program passes its data one way,
 * so its calls pay only for their own; longer turns measure that, while the
 * rounds still spread each case over the whole run. Returns per-case
 * milliseconds.
 */
export async function timeMany(cases: readonly (() => Promise<void>)[], reps: number, warmup = 2, turn = 1): Promise<number[][]> {
  const times = cases.map(() => [] as number[]);
  const order = cases.map((_, i) => i);
  const random = seeded(0x5eed);
  for (let done = -warmup; done < reps; ) {
    const calls = done < 0 ? 1 : Math.min(turn, reps - done);
    shuffle(order, random);
    for (const i of order) {
      for (let call = 0; call < calls; call++) {
        const t0 = performance.now();
        await (cases[i] as () => Promise<void>)();
        if (done >= 0) times[i]?.push(performance.now() - t0);
      }
    }
    done += calls;
  }
  return times;
}

/** A small deterministic generator (mulberry32) in [0, 1). */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates, in place. */
function shuffle(items: number[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as number, items[i] as number];
  }
}

/** "1.12x ok" or "1.50x over goal": a ratio next to its goal. */
export function formatRatio(ratio: number, goal: number): string {
  return `${ratio.toFixed(2)}x ${ratio <= goal ? 'ok' : 'over goal'}`;
}
