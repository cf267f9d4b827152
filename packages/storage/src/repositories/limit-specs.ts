/** A rate limit as stored on keys, consumers and plans: at most `limit` requests per `windowMs`. */
export interface RateLimitSpec {
  limit: number;
  windowMs: number;
}

/**
 * How a quota's credits come back: `amount` at each UTC midnight (`day`), each first of a UTC month
 * 00:00Z (`month`), or each multiple of `everyMs` since the Unix epoch; never above the quota's `limit`.
 */
export type RefillSpec = { amount: number; every: 'day' | 'month' } | { amount: number; everyMs: number };

/**
 * A quota as stored on keys, consumers and plans: at most `limit` requests (or credits), reset to
 * full each calendar `period` (UTC), topped up by `refill`, or both (at least one of the two is set).
 */
export interface QuotaSpec {
  limit: number;
  period?: 'day' | 'month';
  refill?: RefillSpec;
}
