import { Redis } from 'ioredis';
import { MemoryRateLimiter } from './memory-rate-limiter.js';
import type { RateLimiter } from './rate-limiter.js';
import { RedisRateLimiter } from './redis-rate-limiter.js';

/** Options of {@link createRateLimiter}. */
export interface CreateRateLimiterOptions {
  /** `redis://…`: cluster-wide, exact limits; unset: node-local limits in memory. */
  redisUrl?: string | undefined;
  /** Prepended to every Redis key (default `keyroll:`). */
  redisPrefix?: string | undefined;
}

/**
 * The rate limiter the configuration asks for: Redis when a URL is given, memory otherwise.
 * @example
 * const limiter = createRateLimiter({ redisUrl: process.env.KEYROLL_REDIS_URL });
 */
export function createRateLimiter(options: CreateRateLimiterOptions = {}): RateLimiter {
  if (!options.redisUrl) return new MemoryRateLimiter();
  // A request waits at most this long for Redis before the node-local fallback counts it.
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 1, commandTimeout: 1000 });
  return new RedisRateLimiter({ redis, prefix: options.redisPrefix });
}
