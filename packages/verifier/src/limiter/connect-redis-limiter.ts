import { Redis } from 'ioredis';
import { RedisRateLimiter } from './redis-rate-limiter.js';

/** Options of {@link connectRedisRateLimiter}. */
export interface ConnectRedisRateLimiterOptions {
  /** `redis://…` or `rediss://…`. */
  url: string;
  /** Prepended to every Redis key (default `keyroll:`). */
  prefix?: string | undefined;
  /** Longest wait for the first connection and for any one command, in ms (default 500). */
  timeoutMs?: number;
}

/** A cluster-wide limiter that fails closed, and a way to ask whether its Redis answers. */
export interface ConnectedRedisRateLimiter {
  limiter: RedisRateLimiter;
  /** True when Redis answers a PING within the timeout. */
  reachable(): Promise<boolean>;
  /** The URL with its password replaced by `***`, for messages. */
  displayUrl: string;
}

/** Thrown when Redis cannot be reached at start-up. */
export class RedisUnreachableError extends Error {
  override name = 'RedisUnreachableError';
}

/** `url` with any password (and a user name's secret part) replaced by `***`; safe to print. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an unparsable Redis URL)';
  }
}

/**
 * Connects to Redis and checks it answers before returning a limiter, so that a node configured
 * for cluster-wide limits never starts with silently node-local ones: an unreachable Redis rejects
 * with a {@link RedisUnreachableError} naming the URL (password redacted). The limiter fails closed:
 * while Redis is away a request with limits is refused at once with `ApiError('UNAVAILABLE')`
 * (no offline queue; a hung Redis costs at most `timeoutMs`), and the client reconnects by itself.
 * @example
 * const { limiter } = await connectRedisRateLimiter({ url: process.env.KEYROLL_REDIS_URL });
 */
export async function connectRedisRateLimiter(
  options: ConnectRedisRateLimiterOptions,
): Promise<ConnectedRedisRateLimiter> {
  const timeoutMs = options.timeoutMs ?? 500;
  const displayUrl = redactRedisUrl(options.url);
  const redis = new Redis(options.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: timeoutMs,
    connectTimeout: Math.max(timeoutMs, 1000),
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  let lastError = '';
  const onError = (e: Error) => {
    lastError = e.message;
  };
  redis.on('error', onError);
  try {
    await redis.connect();
    await redis.ping();
  } catch (e) {
    redis.disconnect();
    const reason = lastError || (e instanceof Error ? e.message : String(e));
    throw new RedisUnreachableError(
      `Redis at ${displayUrl} (KEYROLL_REDIS_URL) cannot be reached: ${reason}. Refusing to start with ` +
        'node-local rate limits in place of cluster-wide ones: start Redis, fix the URL, or unset KEYROLL_REDIS_URL.',
    );
  }
  redis.off('error', onError);
  const limiter = new RedisRateLimiter({ redis, prefix: options.prefix });
  return {
    limiter,
    displayUrl,
    reachable: () => limiter.reachable(),
  };
}
