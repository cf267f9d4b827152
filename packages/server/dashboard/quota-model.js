// The quota chart's model of a quota's credits over time, following the server's rules
// (packages/verifier/src/limiter/quota-refill.ts and limit-charges.ts). No DOM: unit-tested in Node.

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** The longest calendar month, as the server bounds a monthly refill interval. */
const LONGEST_MONTH_MS = 31 * DAY_MS;
const UNIT_MS = { ms: 1, s: 1_000, m: MINUTE_MS, h: HOUR_MS, d: DAY_MS, w: 7 * DAY_MS };
/** The usage API's bucket sizes. */
export const GRANULARITY_MS = { minute: MINUTE_MS, hour: HOUR_MS, day: DAY_MS };
/** Most buckets the chart asks for (the usage API answers at most 1440, counting the one under way). */
const MAX_BUCKETS = 1400;

/**
 * A refill's `every` as the API answers it (`"day"`, `"month"` or a duration such as `"6h"`, `"1d"`,
 * `"90s"`): `'month'`, or its length in ms (`"day"` is 24 h: the server refills at each multiple of it
 * since the epoch, which is each UTC midnight).
 */
export function refillEvery(every) {
  if (every === 'month') return 'month';
  if (every === 'day') return DAY_MS;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(String(every).trim());
  if (!m) throw new Error(`not a refill interval: ${every}`);
  return Math.round(Number(m[1]) * UNIT_MS[m[2]]);
}

/**
 * The refill interval holding `t` (ms), numbered as the server does: multiples of the interval since the
 * Unix epoch, or UTC months since it. The refills between two instants are the difference of their indexes.
 */
export function refillIndex(every, t) {
  const e = refillEvery(every);
  if (e !== 'month') return Math.floor(t / e);
  const d = new Date(t);
  return d.getUTCFullYear() * 12 + d.getUTCMonth();
}

/** The start of the UTC calendar `period` (`day` or `month`) holding `t` (ms). */
export function periodStart(period, t) {
  const d = new Date(t);
  return period === 'month'
    ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)
    : Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

/** The largest usage bucket size that is not longer than `ms`; a minute at least. */
function granularityWithin(ms) {
  if (ms >= DAY_MS) return 'day';
  if (ms >= HOUR_MS) return 'hour';
  return 'minute';
}

/**
 * What to chart for `quota` (`{ limit, period?, refill? }` as the API answers it) at the server's `now`:
 * `{ granularity, from, fromFull }`. With a period, the current period (it began full); buckets are no longer
 * than a refill interval where the usage API allows it. Without one (credits that only refill), the
 * balance before `from` is unknown and is taken as full: `from` lies at least as many refills back as an
 * idle counter needs to fill up (and 24 buckets), within what one usage query answers.
 */
export function quotaWindow(quota, now) {
  const every = quota.refill ? refillEvery(quota.refill.every) : null;
  const interval = every === 'month' ? LONGEST_MONTH_MS : every;
  if (quota.period) {
    const from = periodStart(quota.period, now);
    let granularity = quota.period === 'month' ? 'day' : 'hour';
    if (interval !== null && interval < GRANULARITY_MS[granularity]) {
      granularity = granularityWithin(interval);
      // A month in minutes is more than one usage query answers: hours then (refills within one are applied at its start).
      if (quota.period === 'month' && granularity === 'minute') granularity = 'hour';
    }
    return { granularity, from, fromFull: true };
  }
  const granularity = granularityWithin(interval);
  const size = GRANULARITY_MS[granularity];
  const toFill = (Math.ceil(quota.limit / quota.refill.amount) + 1) * interval;
  const span = Math.min(MAX_BUCKETS * size, Math.max(24 * size, toFill));
  const from = now - span - ((now - span) % size);
  return { granularity, from, fromFull: false };
}

/**
 * The credits left of `quota` (`{ limit, period?, refill? }` as the API answers it) at the end of each
 * bucket: `buckets` are `[{ start, used }]` (ms, credits charged in the bucket), ascending and `sizeMs`
 * long; the counter holds `startRemaining` (default: full) at the first bucket's start; `now` is the
 * server's time (refills after it have not happened).
 *
 * As the server counts: each refill gives back `amount`, never above `limit` (a counter brought up to
 * interval `i` from `j` has `max(0, used - (i - j) × amount)` used); refills happen at fixed instants
 * (each UTC midnight, each 1st of a UTC month, each multiple of a duration since the epoch); a new
 * period starts full. The order of requests and refills inside a bucket is unknown: a bucket's refills
 * are applied before its requests, so with buckets longer than the refill interval it is an upper bound.
 */
export function modelRemaining(quota, buckets, { sizeMs, now, startRemaining = quota.limit }) {
  const { limit, period, refill } = quota;
  let remaining = Math.min(limit, startRemaining);
  let last = buckets[0]?.start ?? 0;
  return buckets.map((b, i) => {
    if (period && i > 0 && periodStart(period, b.start) > last) {
      // A new period is a fresh, full counter, brought up to the refill interval of its first request.
      remaining = limit;
      last = b.start;
    }
    if (refill) {
      const upTo = Math.max(last, Math.min(b.start + sizeMs - 1, now));
      const refills = refillIndex(refill.every, upTo) - refillIndex(refill.every, last);
      remaining = Math.min(limit, remaining + refills * refill.amount);
      last = upTo;
    }
    remaining = Math.max(0, remaining - b.used);
    return remaining;
  });
}
