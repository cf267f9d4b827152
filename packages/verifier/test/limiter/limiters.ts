import { randomBytes } from 'node:crypto';
import { MemoryRateLimiter, type RateLimiter, RedisRateLimiter } from '@keyroll/verifier/internal';
import { Redis } from 'ioredis';
import { REDIS_URL } from '../../../../test/support/databases.js';

/** A rate-limiter backend the shared limiter suite runs over. */
export interface LimiterBackend {
  name: 'memory' | 'Redis';
  /** Why the backend's suite is skipped, or `null` when it runs. */
  skipReason: string | null;
  /** A limiter with counters of its own (a fresh Redis prefix each time). */
  make(): RateLimiter;
}

/**
 * The memory and Redis limiters (Redis only with KEYROLL_TEST_REDIS_URL), and `close` for an
 * `afterAll`: it deletes the test's Redis keys and disconnects.
 */
export function limiterBackends(): { backends: LimiterBackend[]; close(): Promise<void> } {
  const redis = REDIS_URL ? new Redis(REDIS_URL, { lazyConnect: true }) : null;
  const prefix = `keyroll-test:${randomBytes(6).toString('hex')}:`;
  const backends: LimiterBackend[] = [
    { name: 'memory', skipReason: null, make: () => new MemoryRateLimiter() },
    {
      name: 'Redis',
      skipReason: redis ? null : 'KEYROLL_TEST_REDIS_URL is not set',
      make: () => {
        if (!redis) throw new Error('KEYROLL_TEST_REDIS_URL is not set');
        return new RedisRateLimiter({
          redis,
          prefix: `${prefix}${randomBytes(4).toString('hex')}:`,
          closeClient: false,
        });
      },
    },
  ];
  return {
    backends,
    close: async () => {
      if (!redis) return;
      if (redis.status === 'wait') {
        redis.disconnect();
        return;
      }
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    },
  };
}
