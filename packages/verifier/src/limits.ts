import type { CachedKey, RefillSpec } from './key-record.js';

/** Rate-limit state reported with a verification (for `RateLimit-*` headers). */
export interface RateLimitState {
  limit: number;
  remaining: number;
  /** Milliseconds until the window resets. */
  resetMs: number;
}

/** Quota state reported with a verification. */
export interface QuotaState {
  limit: number;
  remaining: number;
  /** Epoch ms at which credits next come back: the period's end, or the next refill if that is sooner. */
  resetsAt: number;
  /** How the quota refills, when it does. */
  refill?: RefillSpec;
}

/** The limit check of one request. */
export type LimitOutcome =
  | { allowed: true; ratelimit?: RateLimitState; quota?: QuotaState }
  | {
      allowed: false;
      code: 'RATE_LIMITED' | 'QUOTA_EXCEEDED';
      retryAfterMs: number;
      ratelimit?: RateLimitState;
      quota?: QuotaState;
    };

/**
 * Applies rate limits and quotas to a request on a key that is otherwise valid. May answer
 * synchronously (e.g. when nothing limits the key), which keeps the verifier's hot path free of promises.
 */
export interface LimitChecker {
  check(key: CachedKey, cost: number, now: number): LimitOutcome | Promise<LimitOutcome>;
}
