import { ApiError, type Clock } from '@keyroll/core';
import type { RateLimiter } from '@keyroll/verifier/internal';

const MINUTE = 60_000;

/** What {@link SelfServiceLimits} needs. */
export interface SelfServiceLimitsOptions {
  /** Node-local (memory) unless Redis is configured, then shared by every node. */
  limiter: RateLimiter;
  clock: Clock;
  /** Self-service requests a consumer may make per minute (`KEYROLL_SELF_SERVICE_RATE_LIMIT`). */
  perMinute: number;
}

/** Seconds until `at`, at least 1, for a `Retry-After` header. */
export function retryAfterSeconds(at: number, now: number): number {
  return Math.max(1, Math.ceil((at - now) / 1000));
}

/** The per-consumer rate limit of the self-service routes: a fixed one-minute window per consumer. */
export class SelfServiceLimits {
  readonly #o: SelfServiceLimitsOptions;

  constructor(options: SelfServiceLimitsOptions) {
    this.#o = options;
  }

  /** Charges one self-service request of `consumerId`; 429 `RATE_LIMITED` (with `retryAfter` seconds) when over. */
  async charge(consumerId: string): Promise<void> {
    const now = this.#o.clock.now();
    const windowStart = now - (now % MINUTE);
    const resetsAt = windowStart + MINUTE;
    const { allowed } = await this.#o.limiter.consume(
      [{ id: `self:${consumerId}:${windowStart}`, group: consumerId, limit: this.#o.perMinute, cost: 1, resetsAt }],
      now,
    );
    if (!allowed) {
      throw new ApiError('RATE_LIMITED', `at most ${this.#o.perMinute} self-service requests per minute per consumer`, {
        limit: this.#o.perMinute,
        retryAfter: retryAfterSeconds(resetsAt, now),
      });
    }
  }
}
