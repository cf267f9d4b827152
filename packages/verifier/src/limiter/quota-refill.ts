import type { RefillSpec } from '../key-record.js';

const DAY_MS = 86_400_000;
/** The longest calendar month: a bound on how long one monthly refill interval lasts. */
const LONGEST_MONTH_MS = 31 * DAY_MS;

/** Where an instant falls in a refill schedule. */
export interface RefillPoint {
  /**
   * The number of the refill interval holding the instant: UTC days or UTC months since the epoch,
   * or intervals of `everyMs`. A counter last charged in interval `i` has had `index - i` refills since.
   */
  index: number;
  /** The longest one interval can last, in ms. */
  intervalMs: number;
  /** Epoch ms of the `k`-th refill after the instant (`k` ≥ 1). */
  at(k: number): number;
}

/**
 * Where `now` falls in a refill schedule. Refills happen at fixed instants, the same on every node:
 * each UTC midnight (`day`), each first of a UTC month at 00:00Z (`month`), or each multiple of
 * `everyMs` since the Unix epoch (as rate windows are aligned).
 * @example refillPoint({ amount: 100, every: 'month' }, Date.UTC(2026, 0, 31)).at(1) // Date.UTC(2026, 1, 1)
 */
export function refillPoint(refill: RefillSpec, now: number): RefillPoint {
  if ('everyMs' in refill || refill.every === 'day') {
    const every = 'everyMs' in refill ? refill.everyMs : DAY_MS;
    const index = Math.floor(now / every);
    return { index, intervalMs: every, at: (k) => (index + k) * every };
  }
  const d = new Date(now);
  const year = d.getUTCFullYear();
  const month = d.getUTCMonth();
  return { index: year * 12 + month, intervalMs: LONGEST_MONTH_MS, at: (k) => Date.UTC(year, month + k, 1) };
}

/**
 * Credits used after the refills between interval `lastIndex` and `index`: each gives back
 * `amount`, and a counter is never refilled past full (0 used). Computed lazily at check time.
 */
export function refilledUsed(used: number, lastIndex: number, index: number, amount: number): number {
  return Math.max(0, used - Math.max(0, index - lastIndex) * amount);
}

/**
 * How long a refilling counter at `used` must be kept: afterwards enough refills have happened to
 * fill it up, so a counter that is gone (starting full) is the same as the kept one.
 */
export function refillKeepMs(used: number, amount: number, intervalMs: number): number {
  return (Math.ceil(used / amount) + 1) * intervalMs;
}
