import { afterEach, describe, expect, it, vi } from 'vitest';
import { ScratchPool } from '../../runtime/connectors/scratch.js';

const KB = 1024;

describe('ScratchPool', () => {
  it('lends the memory of a finished write to the next put of a similar size, and only then', () => {
    const pool = new ScratchPool();
    const first = pool.take(150 * KB);
    const busy = pool.take(150 * KB);
    expect(busy.buffer).not.toBe(first.buffer);
    pool.giveBack(first);
    expect(pool.take(200 * KB).buffer).not.toBe(first.buffer);
    const again = pool.take(100 * KB);
    expect(again.buffer).toBe(first.buffer);
    expect(again.byteOffset).toBe(0);
    expect(again.byteLength).toBe(100 * KB);
    // A buffer more than twice the size asked for is left for bigger puts.
    pool.giveBack(again);
    expect(pool.take(64 * KB).buffer).not.toBe(first.buffer);
    expect(pool.take(100 * KB).buffer).toBe(first.buffer);
  });

  it('gives each view back once, ignores memory it did not lend, and does not pool small frames', () => {
    const pool = new ScratchPool();
    const lent = pool.take(100 * KB);
    pool.giveBack(lent);
    pool.giveBack(lent);
    expect(pool.take(100 * KB).buffer).toBe(lent.buffer);
    expect(pool.take(100 * KB).buffer).not.toBe(lent.buffer);
    pool.giveBack(new Uint8Array(100 * KB));
    const small = pool.take(KB);
    pool.giveBack(small);
    expect(pool.take(KB).buffer).not.toBe(small.buffer);
  });

  it('keeps at most maxBytes of free memory, dropping the oldest first', () => {
    const pool = new ScratchPool(250 * KB);
    const [a, b, c] = [pool.take(100 * KB), pool.take(100 * KB), pool.take(100 * KB)];
    for (const bytes of [a, b, c]) pool.giveBack(bytes);
    const taken = [pool.take(100 * KB), pool.take(100 * KB), pool.take(100 * KB)].map((bytes) => bytes.buffer);
    expect(taken).toContain(b.buffer);
    expect(taken).toContain(c.buffer);
    expect(taken).not.toContain(a.buffer);
  });

  describe('a buffer above maxBytes', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('serves the next put that fits it until bigIdleMs have passed, then is dropped', () => {
      vi.useFakeTimers();
      const pool = new ScratchPool(100 * KB, undefined, 1_000);
      const big = pool.take(300 * KB);
      pool.giveBack(big);
      vi.advanceTimersByTime(999);
      const again = pool.take(200 * KB);
      expect(again.buffer).toBe(big.buffer);
      // Taken, it is no longer kept: a second put gets memory of its own.
      expect(pool.take(300 * KB).buffer).not.toBe(big.buffer);
      pool.giveBack(again);
      vi.advanceTimersByTime(1_000);
      expect(pool.take(300 * KB).buffer).not.toBe(big.buffer);
    });

    it('is kept one at a time, the newest, only for a size it fits, and let go of by clear', () => {
      const pool = new ScratchPool(100 * KB);
      const [older, newer] = [pool.take(300 * KB), pool.take(300 * KB)];
      pool.giveBack(older);
      pool.giveBack(newer);
      expect(pool.take(120 * KB).buffer).not.toBe(newer.buffer);
      expect(pool.take(301 * KB).buffer).not.toBe(newer.buffer);
      const taken = pool.take(300 * KB);
      expect(taken.buffer).toBe(newer.buffer);
      pool.giveBack(taken);
      pool.clear();
      expect(pool.take(300 * KB).buffer).not.toBe(newer.buffer);
    });

    it('keeps no process alive while it waits', () => {
      const timers = () => process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
      const before = timers();
      const pool = new ScratchPool(100 * KB, undefined, 60_000);
      pool.giveBack(pool.take(300 * KB));
      expect(timers()).toBe(before);
      pool.clear();
    });
  });

  it('leaves the room asked for around each buffer it lends, keeping the bytes 8-aligned, and knows what it lent', () => {
    const pool = new ScratchPool(undefined, { before: 83, after: 2 });
    const first = pool.take(100 * KB);
    expect(first.byteOffset).toBe(88);
    expect(first.buffer.byteLength).toBeGreaterThanOrEqual(88 + 100 * KB + 2);
    expect(pool.lent(first)).toBe(true);
    pool.giveBack(first);
    expect(pool.lent(first)).toBe(false);
    const again = pool.take(100 * KB);
    expect(again.buffer).toBe(first.buffer);
    expect(again.byteOffset).toBe(88);
    expect(pool.lent(new Uint8Array(again.buffer, 88, 100 * KB))).toBe(false);
    expect(pool.lent(pool.take(KB))).toBe(false);
  });
});
