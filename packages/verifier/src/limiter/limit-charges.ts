import type { QuotaSpec, RefillSpec } from '../key-record.js';
import type { LimitSet } from './limit-source.js';
import { quotaPeriod, rateWindow } from './limit-windows.js';
import { refillPoint } from './quota-refill.js';
import { type LimitCounter, NEVER_RESETS } from './rate-limiter.js';

/** One counter a request is charged against, and how its state is reported. */
export interface Charge {
  counter: LimitCounter;
  kind: 'rate' | 'quota';
  /** Epoch ms at which the counter next gives units back: its window's end or its next refill. */
  nextAt: number;
  /** Epoch ms from which the counter, at `used`, has room for this request again. */
  retryAt(used: number): number;
  /** How the quota refills, when it does. */
  refill?: RefillSpec;
}

/**
 * The counters of one owner (key or consumer). Quotas are charged the request's cost (credits); rate
 * windows count requests, so they are charged 1 (or 0 when the cost is 0: a question, not a request).
 */
export function chargesOf(ownerId: string, group: string, limits: LimitSet, cost: number, now: number): Charge[] {
  const out: Charge[] = [];
  if (limits.rateLimit) {
    const { limit, windowMs } = limits.rateLimit;
    const w = rateWindow(windowMs, now);
    out.push({
      kind: 'rate',
      counter: {
        id: `${ownerId}:rl:${windowMs}:${w.start}`,
        group,
        limit,
        cost: Math.min(cost, 1),
        resetsAt: w.resetsAt,
      },
      nextAt: w.resetsAt,
      retryAt: () => w.resetsAt,
    });
  }
  if (limits.quota) out.push(quotaCharge(ownerId, group, limits.quota, cost, now));
  return out;
}

/**
 * A quota's counter. A period names the counter (a new period is a fresh, full counter); a refill
 * schedule too, so changing `every` starts afresh while changing `limit` or `amount` applies at once.
 */
function quotaCharge(ownerId: string, group: string, quota: QuotaSpec, cost: number, now: number): Charge {
  const { limit, period, refill } = quota;
  const p = period ? quotaPeriod(period, now) : null;
  const periodId = p ? `${ownerId}:q:${period}:${p.start}` : `${ownerId}:q`;
  const resetsAt = p ? p.resetsAt : NEVER_RESETS;
  if (!refill) {
    return {
      kind: 'quota',
      counter: { id: periodId, group, limit, cost, resetsAt },
      nextAt: resetsAt,
      retryAt: () => resetsAt,
    };
  }
  const point = refillPoint(refill, now);
  const every = 'everyMs' in refill ? refill.everyMs : refill.every;
  const { amount } = refill;
  return {
    kind: 'quota',
    counter: {
      id: `${periodId}:r:${every}`,
      group,
      limit,
      cost,
      resetsAt,
      refill: { amount, index: point.index, intervalMs: point.intervalMs },
    },
    nextAt: Math.min(resetsAt, point.at(1)),
    retryAt: (used) => {
      // Refills until the cost fits (and something is left), at most until the counter is full.
      const missing = Math.max(used + cost - limit, used - limit + 1);
      const refills = Math.min(Math.ceil(used / amount), Math.max(1, Math.ceil(missing / amount)));
      return Math.min(resetsAt, point.at(Math.max(1, refills)));
    },
    refill,
  };
}
