import type { QuotaSpec } from '../key-record.js';

/** A span of time a counter lives for: `[start, resetsAt)`. */
export interface LimitWindow {
  start: number;
  resetsAt: number;
}

/** The fixed rate-limit window holding `now`: windows are aligned to multiples of `windowMs` since the epoch. */
export function rateWindow(windowMs: number, now: number): LimitWindow {
  const start = now - (now % windowMs);
  return { start, resetsAt: start + windowMs };
}

/** The UTC calendar day or month holding `now`. */
export function quotaPeriod(period: QuotaSpec['period'], now: number): LimitWindow {
  const d = new Date(now);
  const year = d.getUTCFullYear();
  const month = d.getUTCMonth();
  if (period === 'day') {
    const start = Date.UTC(year, month, d.getUTCDate());
    return { start, resetsAt: Date.UTC(year, month, d.getUTCDate() + 1) };
  }
  return { start: Date.UTC(year, month, 1), resetsAt: Date.UTC(year, month + 1, 1) };
}
