import { randomBytes } from 'node:crypto';
import { type CachedKey, MemoryRateLimiter, PlanLimitChecker, RedisRateLimiter } from '@keyroll/verifier/internal';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { REDIS_URL } from '../../../../test/support/databases.js';
import { keyOf, MapLimitSource } from './limit-fixtures.js';

const START = Date.UTC(2026, 0, 31, 23, 0, 0);

/** A step of a client: a request of some cost on one of two keys, after some time has passed. */
const step = fc.record({
  advanceMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 0, max: 3_600_000 })),
  key: fc.integer({ min: 0, max: 1 }),
  cost: fc.oneof(fc.constant(1), fc.integer({ min: 0, max: 6 })),
});

function setup(): { source: MapLimitSource; keys: CachedKey[] } {
  const source = new MapLimitSource();
  source.plans.set('pln_1', { rateLimit: { limit: 3, windowMs: 10_000 }, quota: { limit: 20, period: 'day' } });
  source.consumers.set('csm_1', {
    rateLimit: { limit: 5, windowMs: 60_000 },
    quota: { limit: 40, refill: { amount: 7, everyMs: 600_000 } },
    planId: null,
  });
  const keys = [
    keyOf('key_1', 'csm_1', { planId: 'pln_1' }),
    keyOf('key_2', 'csm_1', { quota: { limit: 12, period: 'month', refill: { amount: 5, every: 'day' } } }),
  ];
  return { source, keys };
}

describe.skipIf(!REDIS_URL)('memory and Redis limiters decide alike', () => {
  const redis = new Redis(REDIS_URL ?? '');
  const prefix = `keyroll-test:${randomBytes(6).toString('hex')}:`;
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('gives the same outcome and state for every request of random request sequences', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 60 }), async (steps) => {
        const { source, keys } = setup();
        const memory = new PlanLimitChecker({ limiter: new MemoryRateLimiter(), source });
        const shared = new RedisRateLimiter({ redis, prefix: `${prefix}${run++}:`, closeClient: false });
        const cluster = new PlanLimitChecker({ limiter: shared, source });
        let now = START;
        for (const s of steps) {
          now += s.advanceMs;
          const key = keys[s.key] ?? keys[0];
          if (!key) throw new Error('no key');
          expect(await cluster.check(key, s.cost, now)).toEqual(await memory.check(key, s.cost, now));
        }
      }),
      { numRuns: 60 },
    );
  });
});
