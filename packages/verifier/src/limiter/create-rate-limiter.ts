import { connectRedisRateLimiter } from './connect-redis-limiter.js';
import { MemoryRateLimiter } from './memory-rate-limiter.js';
import type { RateLimiter } from './rate-limiter.js';

/** Options of {@link createRateLimiter}. */
export interface CreateRateLimiterOptions {
  /** `redis://…`: cluster-wide, exact limits that fail closed; unset: node-local limits in memory. */
  redisUrl?: string | undefined;
  /** Prepended to every Redis key (default `keyroll:`). */
  redisPrefix?: string | undefined;
}

/**
 * The rate limiter the configuration asks for, failing closed like a keyroll node: with a Redis
 * URL, {@link connectRedisRateLimiter}'s (an unreachable Redis rejects with `RedisUnreachableError`;
 * while Redis is away keys with limits are refused with `ApiError('UNAVAILABLE')`, never counted
 * node-locally); without one, node-local counting in memory. Used by embedded and edge verifiers.
 * @example
 * const limiter = await createRateLimiter({ redisUrl: process.env.KEYROLL_REDIS_URL });
 */
export async function createRateLimiter(options: CreateRateLimiterOptions = {}): Promise<RateLimiter> {
  if (!options.redisUrl) return new MemoryRateLimiter();
  return (await connectRedisRateLimiter({ url: options.redisUrl, prefix: options.redisPrefix })).limiter;
}
