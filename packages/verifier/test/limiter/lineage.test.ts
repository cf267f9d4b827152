import { randomBytes } from 'node:crypto';
import { MemoryRateLimiter, PlanLimitChecker, type RateLimiter, RedisRateLimiter } from '@keyroll/verifier/internal';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { REDIS_URL } from '../../../../test/support/databases.js';
import { keyOf, MapLimitSource, NO_LIMITS } from './limit-fixtures.js';

const START = Date.UTC(2026, 0, 1, 12, 0, 0);
const MINUTE = 60_000;

const redis = REDIS_URL ? new Redis(REDIS_URL) : null;
const prefix = `keyroll-test:${randomBytes(6).toString('hex')}:`;
afterAll(async () => {
  if (!redis) return;
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

const limiters: { name: string; make: () => RateLimiter | null }[] = [
  { name: 'memory', make: () => new MemoryRateLimiter() },
  {
    name: 'Redis',
    make: () =>
      redis &&
      new RedisRateLimiter({ redis, prefix: `${prefix}${randomBytes(4).toString('hex')}:`, closeClient: false }),
  },
];

for (const { name, make } of limiters) {
  describe.skipIf(name === 'Redis' && !redis)(`key limits per lineage on the ${name} limiter`, () => {
    function checker(): PlanLimitChecker {
      const limiter = make();
      if (!limiter) throw new Error('no limiter');
      const source = new MapLimitSource();
      source.consumers.set('csm_a', NO_LIMITS);
      return new PlanLimitChecker({ limiter, source });
    }
    const limits = { rateLimit: { limit: 5, windowMs: MINUTE }, quota: { limit: 8, period: 'day' as const } };

    it('a successor continues its predecessor’s rate window: rotating in a loop admits 5 per minute, not 5 per key', async () => {
      const c = checker();
      let allowed = 0;
      for (let v = 1; v <= 20; v++) {
        const key = keyOf(`key_v${v}`, 'csm_a', { ...limits, quota: null, lineageId: 'key_v1', version: v });
        for (let i = 0; i < 3; i++) if ((await c.check(key, 1, START + v)).allowed) allowed++;
      }
      expect(allowed).toBe(5);
    });

    it('the old and the new key share one rate window and one quota during an overlap', async () => {
      const c = checker();
      const old = keyOf('key_old', 'csm_a', limits);
      const successor = keyOf('key_new', 'csm_a', { ...limits, lineageId: 'key_old', version: 2 });
      const outcomes = [];
      for (let i = 0; i < 6; i++) outcomes.push(await c.check(i % 2 === 0 ? old : successor, 1, START));
      expect(outcomes.map((o) => o.allowed)).toEqual([true, true, true, true, true, false]);
      // The quota spans windows: 5 used in the first minute, 3 left for the day across both keys.
      const later = START + MINUTE;
      expect(await c.check(successor, 2, later)).toMatchObject({ allowed: true, quota: { remaining: 1 } });
      expect(await c.check(old, 2, later)).toMatchObject({ allowed: false, code: 'QUOTA_EXCEEDED' });
    });

    it('keys of other lineages keep counters of their own', async () => {
      const c = checker();
      const a = keyOf('key_a', 'csm_a', limits);
      const b = keyOf('key_b', 'csm_a', limits);
      for (let i = 0; i < 5; i++) expect((await c.check(a, 1, START)).allowed).toBe(true);
      expect((await c.check(a, 1, START)).allowed).toBe(false);
      expect((await c.check(b, 1, START)).allowed).toBe(true);
    });
  });
}
