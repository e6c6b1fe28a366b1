/**
 * Timers for delays a user or a descriptor chose. Node's setTimeout fires at
 * once (with a TimeoutOverflowWarning) for 2^31 ms or more, and so does
 * `AbortSignal.timeout`: a "wait 30 days" would become "fail now". These
 * chain timers instead, so any delay waits as long as it says.
 */

/** The longest delay setTimeout honours. */
export const MAX_TIMER_DELAY = 2 ** 31 - 1;

export interface LongTimer {
  /** Stops the timer; harmless after it fired. */
  clear(): void;
}

export interface LongTimerOptions {
  /** Let the process exit while only this timer is pending. Default false. */
  readonly unref?: boolean;
}

/** Calls `fire` once `ms` milliseconds have passed, however many that is; `Infinity` never fires. */
export function setLongTimeout(fire: () => void, ms: number, options: LongTimerOptions = {}): LongTimer {
  let timer: NodeJS.Timeout | undefined;
  const deadline = performance.now() + ms;
  const arm = (remaining: number): void => {
    // Chained in steps, each checked against the deadline: timers may fire a little early or late.
    timer = setTimeout(() => {
      const left = deadline - performance.now();
      if (left > 0) arm(left);
      else fire();
    }, Math.min(Math.max(remaining, 0), MAX_TIMER_DELAY));
    if (options.unref === true) timer.unref();
  };
  if (ms !== Infinity) arm(ms);
  return { clear: () => clearTimeout(timer) };
}

/**
 * A signal that aborts with `reason()` after `ms` (any length; `Infinity`
 * never), and a way to stop it early. Like AbortSignal.timeout its timer does
 * not keep the process alive: whatever waits on the signal must.
 */
export function timeoutSignal(ms: number, reason: () => unknown): { readonly signal: AbortSignal; readonly timer: LongTimer } {
  const controller = new AbortController();
  const timer = setLongTimeout(() => controller.abort(reason()), ms, { unref: true });
  return { signal: controller.signal, timer };
}

/** Whether `value` is a usable timeout: a positive number of milliseconds, `Infinity` meaning none. */
export function isTimeoutMs(value: unknown): value is number {
  return typeof value === 'number' && value > 0 && !Number.isNaN(value);
}

/**
 * `promise`'s value wrapped as `{ value }`, or undefined if it has not settled
 * within `ms`; a rejection within `ms` rejects. Once the time is up, what
 * arrived meanwhile is still read first (the timeout waits for the next turn
 * after I/O): when this thread was too busy to read a reply in time, the
 * reply counts, not the stall.
 */
export async function settleWithin<T>(promise: Promise<T>, ms: number): Promise<{ readonly value: T } | undefined> {
  let timer: LongTimer | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setLongTimeout(() => setImmediate(() => resolve(undefined)), ms);
  });
  try {
    return await Promise.race([promise.then((value) => ({ value })), late]);
  } finally {
    timer?.clear();
  }
}

/**
 * Calls `expire` once `ms` milliseconds pass with no `touch` in between: for
 * memory kept briefly in case it is wanted again. It never keeps the process
 * alive.
 */
export class IdleTimer {
  #timer: NodeJS.Timeout | undefined;

  constructor(
    readonly ms: number,
    readonly expire: () => void,
  ) {}

  /** Starts the wait, or starts it over. */
  touch(): void {
    if (this.#timer !== undefined) {
      this.#timer.refresh();
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.expire();
    }, this.ms);
    this.#timer.unref();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
