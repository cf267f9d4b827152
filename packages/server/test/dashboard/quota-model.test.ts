import { MemoryRateLimiter, PlanLimitChecker, type QuotaSpec, type RefillSpec } from '@keyroll/verifier/internal';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keyOf } from '../../../verifier/test/limiter/limit-fixtures.js';
import { GRANULARITY_MS, modelRemaining, quotaWindow, refillEvery, refillIndex } from '../../dashboard/quota-model.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;

/** A quota as the API answers it (`every` as text). */
interface QuotaView {
  limit: number;
  period?: 'day' | 'month';
  refill?: { amount: number; every: string };
}

/** Buckets of `sizeMs` from `start`, with `used` credits charged in each. */
function bucketsOf(start: number, sizeMs: number, used: number[]) {
  return used.map((n, i) => ({ start: start + i * sizeMs, used: n }));
}

describe('the dashboard’s quota model', () => {
  it('gives credits back at each refill: a refill-only balance is not used up by more requests than its limit', () => {
    // 10 credits, 4 back at each UTC midnight; hourly buckets from 20:00 to 03:00.
    const quota = { limit: 10, refill: { amount: 4, every: 'day' } };
    const start = Date.UTC(2026, 2, 9, 20);
    const used = [3, 5, 0, 2, 0, 1, 2];
    const left = modelRemaining(quota, bucketsOf(start, HOUR, used), { sizeMs: HOUR, now: start + 7 * HOUR - 1 });
    // 10 → 7 → 2 → 2 → 0, then midnight gives 4 back → 4 → 3 → 1.
    expect(left).toEqual([7, 2, 2, 0, 4, 3, 1]);
    // 13 requests admitted against a limit of 10: ignoring refills would leave nothing.
    expect(left.at(-1)).toBeGreaterThan(0);
  });

  it('never refills above the limit, and counts refills missed while idle all at once', () => {
    const quota = { limit: 10, refill: { amount: 3, every: '1h' } };
    const start = Date.UTC(2026, 2, 9, 0);
    // 9 used in the first hour, idle for 5 refills (15 credits, capped at 10), then 2 used.
    const left = modelRemaining(quota, bucketsOf(start, HOUR, [9, 0, 0, 0, 0, 0, 2]), {
      sizeMs: HOUR,
      now: start + 7 * HOUR - 1,
    });
    expect(left).toEqual([1, 4, 7, 10, 10, 10, 8]);
  });

  it('refills monthly on the 1st of each UTC month, not every 30 days', () => {
    const quota = { limit: 100, refill: { amount: 60, every: 'month' } };
    const start = Date.UTC(2026, 0, 30);
    const left = modelRemaining(quota, bucketsOf(start, DAY, [90, 0, 0, 5]), { sizeMs: DAY, now: start + 4 * DAY - 1 });
    // Jan 30: 10 left; Jan 31: 10; Feb 1: +60 = 70; Feb 2: 65.
    expect(left).toEqual([10, 10, 70, 65]);
  });

  it('refills a duration at its multiples since the epoch, not since the window began', () => {
    // Every 3 h since 1970: 00:00, 03:00, 06:00 UTC…; the window starts at 01:00.
    const quota = { limit: 6, refill: { amount: 2, every: '3h' } };
    const start = Date.UTC(2026, 2, 9, 1);
    const left = modelRemaining(quota, bucketsOf(start, HOUR, [6, 0, 0, 0]), {
      sizeMs: HOUR,
      now: start + 4 * HOUR - 1,
    });
    expect(left).toEqual([0, 0, 2, 2]);
  });

  it('has no refill after the server’s now, even inside the bucket under way', () => {
    // A day bucket and refills each hour: at 05:30 only 5 refills have happened that day.
    const quota = { limit: 100, refill: { amount: 10, every: '1h' } };
    const start = Date.UTC(2026, 2, 9);
    const now = start + 5.5 * HOUR;
    expect(modelRemaining(quota, [{ start, used: 0 }], { sizeMs: DAY, now, startRemaining: 0 })).toEqual([50]);
  });

  it('starts a new period full, and refills within it', () => {
    const quota = { limit: 10, period: 'day', refill: { amount: 2, every: '6h' } };
    const start = Date.UTC(2026, 2, 9, 12);
    // 12:00 … 23:00 (refill at 18:00), then the next day starts full.
    const used = [10, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 3];
    const left = modelRemaining(quota, bucketsOf(start, HOUR, used), { sizeMs: HOUR, now: start + 13 * HOUR - 1 });
    expect(left.slice(0, 6)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(left[6]).toBe(1);
    expect(left[11]).toBe(1);
    expect(left[12]).toBe(7);
  });

  it('reads `every` as the API answers it', () => {
    expect(refillEvery('day')).toBe(DAY);
    expect(refillEvery('month')).toBe('month');
    expect(refillEvery('90s')).toBe(90_000);
    expect(refillEvery('1w')).toBe(7 * DAY);
    expect(refillIndex('month', Date.UTC(2026, 1, 1)) - refillIndex('month', Date.UTC(2026, 0, 31, 23))).toBe(1);
    expect(() => refillEvery('soon')).toThrow();
  });

  it('charts a period from its start, and credits that only refill far enough back to have filled up', () => {
    const now = Date.UTC(2026, 2, 9, 15, 42);
    expect(quotaWindow({ limit: 5, period: 'month' }, now)).toEqual({
      granularity: 'day',
      from: Date.UTC(2026, 2, 1),
      fromFull: true,
    });
    // Refills each hour in a monthly period: hourly buckets, so each refill falls on a bucket's start.
    expect(quotaWindow({ limit: 5, period: 'month', refill: { amount: 1, every: '1h' } }, now).granularity).toBe(
      'hour',
    );
    expect(quotaWindow({ limit: 5, period: 'day', refill: { amount: 1, every: '15m' } }, now).granularity).toBe(
      'minute',
    );
    const credits = quotaWindow({ limit: 1000, refill: { amount: 100, every: 'day' } }, now);
    expect(credits.granularity).toBe('day');
    expect(credits.fromFull).toBe(false);
    expect(credits.from % DAY).toBe(0);
    // 10 refills fill it from empty; one more, and at least 24 buckets.
    expect(now - credits.from).toBeGreaterThanOrEqual(24 * DAY);
    // A huge limit refilled slowly: as far back as one usage query reaches.
    expect(quotaWindow({ limit: 5000, refill: { amount: 1, every: 'day' } }, now).from).toBe(
      Date.UTC(2026, 2, 9) - 1400 * DAY,
    );
  });
});

/** The stored form of a quota as the API answers it. */
function stored(q: QuotaView): QuotaSpec {
  const refill: RefillSpec | undefined = q.refill
    ? q.refill.every === 'day' || q.refill.every === 'month'
      ? { amount: q.refill.amount, every: q.refill.every }
      : { amount: q.refill.amount, everyMs: refillEvery(q.refill.every) as number }
    : undefined;
  return { limit: q.limit, ...(q.period && { period: q.period }), ...(refill && { refill }) };
}

/** Quotas whose refills fall on the starts of the chart's buckets, as `quotaWindow` chooses them. */
const CASES: { quota: QuotaView; start: number; granularity: 'hour' | 'day'; buckets: number }[] = [
  {
    quota: { limit: 10, refill: { amount: 3, every: 'day' } },
    start: Date.UTC(2026, 2, 9, 5),
    granularity: 'hour',
    buckets: 60,
  },
  {
    quota: { limit: 7, refill: { amount: 2, every: '2h' } },
    start: Date.UTC(2026, 2, 9, 5),
    granularity: 'hour',
    buckets: 40,
  },
  {
    quota: { limit: 12, period: 'day', refill: { amount: 5, every: '3h' } },
    start: Date.UTC(2026, 2, 9),
    granularity: 'hour',
    buckets: 72,
  },
  {
    quota: { limit: 20, period: 'month', refill: { amount: 4, every: 'day' } },
    start: Date.UTC(2026, 0, 1),
    granularity: 'day',
    buckets: 70,
  },
  {
    quota: { limit: 15, refill: { amount: 15, every: 'month' } },
    start: Date.UTC(2026, 0, 20),
    granularity: 'day',
    buckets: 60,
  },
  { quota: { limit: 30, period: 'day' }, start: Date.UTC(2026, 2, 9), granularity: 'hour', buckets: 50 },
];

describe('the dashboard’s quota model against the server’s limiter', () => {
  it('finds the credits the server reports left after each bucket, for requests it admitted', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: CASES.length - 1 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), { maxLength: 150 }),
        async (which, offsets) => {
          const c = CASES[which];
          if (!c) throw new Error('no case');
          const size = GRANULARITY_MS[c.granularity];
          const end = c.start + c.buckets * size;
          const limits = new PlanLimitChecker({
            limiter: new MemoryRateLimiter(),
            source: {
              consumer: () => ({ rateLimit: null, quota: stored(c.quota), planId: null }),
              plan: () => null,
            },
          });
          const key = keyOf('key_1', 'csm_1');
          const times = offsets.map((o) => c.start + Math.floor(o * (end - c.start))).sort((a, b) => a - b);
          // The server's answers: each request admitted (VALID) or not, and after each bucket what is left.
          const valid = new Array<number>(c.buckets).fill(0);
          const reported: number[] = [];
          let next = 0;
          for (let b = 0; b < c.buckets; b++) {
            const bucketEnd = c.start + (b + 1) * size;
            for (; next < times.length && (times[next] ?? end) < bucketEnd; next++) {
              const outcome = await limits.check(key, 1, times[next] ?? end);
              if (outcome.allowed) valid[b] = (valid[b] ?? 0) + 1;
            }
            // A question (cost 0) charges nothing and reports the state.
            reported.push((await limits.check(key, 0, bucketEnd - 1)).quota?.remaining ?? Number.NaN);
          }
          const modelled = modelRemaining(c.quota, bucketsOf(c.start, size, valid), { sizeMs: size, now: end - 1 });
          expect(modelled).toEqual(reported);
        },
      ),
      { numRuns: 200 },
    );
  });
});
