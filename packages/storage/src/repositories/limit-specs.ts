/** A rate limit as stored on keys, consumers and plans: at most `limit` requests per `windowMs`. */
export interface RateLimitSpec {
  limit: number;
  windowMs: number;
}

/** A quota as stored on keys, consumers and plans: at most `limit` requests (or credits) per calendar period (UTC). */
export interface QuotaSpec {
  limit: number;
  period: 'day' | 'month';
}
