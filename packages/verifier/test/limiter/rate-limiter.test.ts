import { ManualClock } from '@keyroll/core/testing';
import { PlanLimitChecker } from '@keyroll/verifier/internal';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { keyOf, MapLimitSource, NO_LIMITS } from './limit-fixtures.js';
import { limiterBackends } from './limiters.js';

const MINUTE = 60_000;
const START = Date.UTC(2026, 0, 1, 12, 0, 0);

// One suite for every limiter backend: what PlanLimitChecker decides must not depend on where the
// counters live. Backend-specific behaviour (Redis across nodes, counter expiry, Redis unreachable)
// is in redis-rate-limiter.test.ts; limiter-equivalence.test.ts compares the two on random sequences.
const { backends, close } = limiterBackends();
afterAll(close);

describe.each(backends.map((b) => [b.name, b] as const))('PlanLimitChecker on the %s limiter', (_name, backend) => {
  describe.skipIf(backend.skipReason !== null)(backend.skipReason ? `skipped: ${backend.skipReason}` : 'limits', () => {
    let clock: ManualClock;
    let source: MapLimitSource;
    let checker: PlanLimitChecker;

    beforeEach(() => {
      clock = new ManualClock(START);
      source = new MapLimitSource();
      source.consumers.set('csm_a', NO_LIMITS);
      checker = new PlanLimitChecker({ limiter: backend.make(), source });
    });

    async function run(key: ReturnType<typeof keyOf>, n: number, cost = 1): Promise<number> {
      let allowed = 0;
      for (let i = 0; i < n; i++) if ((await checker.check(key, cost, clock.now())).allowed) allowed++;
      return allowed;
    }

    it('allows `limit` requests per fixed window and reports the time to the window boundary', async () => {
      const key = keyOf('key_1', 'csm_a', { rateLimit: { limit: 3, windowMs: MINUTE } });
      clock.advance(20_000);
      const first = await checker.check(key, 1, clock.now());
      expect(first).toEqual({ allowed: true, ratelimit: { limit: 3, remaining: 2, resetMs: 40_000 } });
      expect(await run(key, 5)).toBe(2);
      const rejected = await checker.check(key, 1, clock.now());
      expect(rejected).toEqual({
        allowed: false,
        code: 'RATE_LIMITED',
        retryAfterMs: 40_000,
        ratelimit: { limit: 3, remaining: 0, resetMs: 40_000 },
      });
      clock.advance(39_999);
      expect(await run(key, 1)).toBe(0);
      clock.advance(1);
      expect(await run(key, 5)).toBe(3);
    });

    it('charges the cost of a request, and a cost of 0 asks without charging', async () => {
      const key = keyOf('key_1', 'csm_a', { quota: { limit: 5, period: 'day' } });
      expect(await run(key, 3, 2)).toBe(2);
      expect(await checker.check(key, 0, clock.now())).toMatchObject({ allowed: true, quota: { remaining: 1 } });
      expect(await run(key, 1, 1)).toBe(1);
      expect(await checker.check(key, 0, clock.now())).toMatchObject({ allowed: false, code: 'QUOTA_EXCEEDED' });
    });

    it('never lets a rejected request consume quota', async () => {
      const key = keyOf('key_1', 'csm_a', {
        rateLimit: { limit: 2, windowMs: MINUTE },
        quota: { limit: 5, period: 'day' },
      });
      expect(await run(key, 10)).toBe(2);
      expect(await checker.check(key, 0, clock.now())).toMatchObject({ quota: { limit: 5, remaining: 3 } });
      clock.advance(MINUTE);
      expect(await run(key, 10)).toBe(2);
      clock.advance(MINUTE);
      expect(await run(key, 10)).toBe(1);
      clock.advance(MINUTE);
      const out = await checker.check(key, 1, clock.now());
      expect(out).toMatchObject({ allowed: false, code: 'QUOTA_EXCEEDED', quota: { remaining: 0 } });
      const midnight = Date.UTC(2026, 0, 2);
      expect(out.allowed ? 0 : out.retryAfterMs).toBe(midnight - clock.now());
      if (!out.allowed) expect(out.quota?.resetsAt).toBe(midnight);
      clock.set(midnight);
      expect(await run(key, 10)).toBe(2);
    });

    it('resets a monthly quota at the first instant of the next UTC month', async () => {
      const key = keyOf('key_1', 'csm_a', { quota: { limit: 2, period: 'month' } });
      clock.set(Date.UTC(2026, 1, 28, 23, 59, 59, 999));
      expect(await run(key, 3)).toBe(2);
      clock.advance(1);
      expect(await run(key, 3)).toBe(2);
    });

    it('counts a consumer limit across all its keys, and reports the tightest limit', async () => {
      source.consumers.set('csm_a', { rateLimit: { limit: 3, windowMs: MINUTE }, quota: null, planId: null });
      const a = keyOf('key_a', 'csm_a', { rateLimit: { limit: 10, windowMs: MINUTE } });
      const b = keyOf('key_b', 'csm_a');
      expect(await checker.check(a, 1, clock.now())).toMatchObject({ ratelimit: { limit: 3, remaining: 2 } });
      expect(await run(b, 1)).toBe(1);
      expect(await run(a, 5)).toBe(1);
      expect(await run(b, 5)).toBe(0);
    });

    it("inherits a plan's limits and lets a key's own limit override its plan", async () => {
      source.plans.set('pln_free', { rateLimit: { limit: 1, windowMs: MINUTE }, quota: { limit: 3, period: 'month' } });
      const onPlan = keyOf('key_p', 'csm_a', { planId: 'pln_free' });
      const overridden = keyOf('key_o', 'csm_a', { planId: 'pln_free', rateLimit: { limit: 5, windowMs: MINUTE } });
      expect(await run(onPlan, 3)).toBe(1);
      expect(await run(overridden, 10)).toBe(3);

      source.consumers.set('csm_b', { rateLimit: null, quota: null, planId: 'pln_free' });
      const consumerOnPlan = keyOf('key_c', 'csm_b');
      const sibling = keyOf('key_d', 'csm_b');
      expect(await run(consumerOnPlan, 3)).toBe(1);
      expect(await run(sibling, 3)).toBe(0);
    });

    it('answers without counters, synchronously, for keys and consumers without limits', async () => {
      const unlimited = checker.check(keyOf('key_1', 'csm_a'), 1, clock.now());
      expect(unlimited).not.toBeInstanceOf(Promise);
      expect(unlimited).toEqual({ allowed: true });
      expect(await checker.check(keyOf('key_2', 'csm_unknown'), 1, clock.now())).toEqual({ allowed: true });
    });

    describe('credits that refill', () => {
      const HOUR = 60 * MINUTE;

      it('tops credits up at each refill, never above the limit, and reports the next refill', async () => {
        const refill = { amount: 4, everyMs: HOUR };
        const key = keyOf('key_1', 'csm_a', { quota: { limit: 10, refill } });
        clock.advance(15 * MINUTE);
        expect(await run(key, 12)).toBe(10);
        const nextRefill = Date.UTC(2026, 0, 1, 13, 0, 0);
        expect(await checker.check(key, 1, clock.now())).toEqual({
          allowed: false,
          code: 'QUOTA_EXCEEDED',
          retryAfterMs: nextRefill - clock.now(),
          quota: { limit: 10, remaining: 0, resetsAt: nextRefill, refill },
        });
        clock.set(nextRefill - 1);
        expect(await run(key, 1)).toBe(0);
        clock.set(nextRefill);
        expect(await run(key, 10)).toBe(4);
        clock.advance(HOUR);
        expect(await checker.check(key, 0, clock.now())).toMatchObject({ quota: { remaining: 4 } });
        clock.advance(10 * HOUR);
        const full = await checker.check(key, 0, clock.now());
        expect(full).toEqual({
          allowed: true,
          quota: { limit: 10, remaining: 10, resetsAt: Date.UTC(2026, 0, 2, 1, 0, 0), refill },
        });
      });

      it('gives back every refill missed while idle, and tells a large request how many refills to wait for', async () => {
        const key = keyOf('key_1', 'csm_a', { quota: { limit: 10, refill: { amount: 3, everyMs: HOUR } } });
        expect(await run(key, 1, 10)).toBe(1);
        clock.advance(2 * HOUR + 30 * MINUTE);
        expect(await checker.check(key, 0, clock.now())).toMatchObject({ quota: { remaining: 6 } });
        const out = await checker.check(key, 8, clock.now());
        // 6 left, 8 asked: one more refill (at 15:00) makes 9.
        expect(out).toMatchObject({ allowed: false, retryAfterMs: 30 * MINUTE, quota: { remaining: 6 } });
        expect(await run(key, 1, 6)).toBe(1);
        expect(await checker.check(key, 7, clock.now())).toMatchObject({ allowed: false, retryAfterMs: 150 * MINUTE });
      });

      it('refills a monthly quota on the first of each UTC month, however long the months', async () => {
        const refill = { amount: 30, every: 'month' as const };
        const key = keyOf('key_1', 'csm_a', { quota: { limit: 100, refill } });
        clock.set(Date.UTC(2026, 0, 31, 23, 59, 59, 999));
        expect(await run(key, 1, 100)).toBe(1);
        expect(await checker.check(key, 0, clock.now())).toMatchObject({
          quota: { remaining: 0, resetsAt: Date.UTC(2026, 1, 1) },
        });
        clock.advance(1);
        expect(await checker.check(key, 0, clock.now())).toMatchObject({
          quota: { remaining: 30, resetsAt: Date.UTC(2026, 2, 1) },
        });
        clock.set(Date.UTC(2026, 2, 1) - 1); // 28 days later: still February
        expect(await checker.check(key, 0, clock.now())).toMatchObject({ quota: { remaining: 30 } });
        clock.set(Date.UTC(2026, 2, 1));
        expect(await run(key, 1, 60)).toBe(1);
        // March, April, May and June pass unused: three refills (April, May, June 1st) of 30.
        clock.set(Date.UTC(2026, 5, 15));
        expect(await checker.check(key, 0, clock.now())).toMatchObject({ quota: { remaining: 90 } });
        clock.set(Date.UTC(2026, 6, 1));
        expect(await checker.check(key, 0, clock.now())).toMatchObject({ quota: { remaining: 100 } });
      });

      it('with a period too, is back to full when the period ends and topped up by refills within it', async () => {
        const key = keyOf('key_1', 'csm_a', {
          quota: { limit: 10, period: 'month', refill: { amount: 2, every: 'day' } },
        });
        clock.set(Date.UTC(2026, 0, 30, 12));
        expect(await run(key, 1, 10)).toBe(1);
        expect(await checker.check(key, 0, clock.now())).toMatchObject({
          quota: { remaining: 0, resetsAt: Date.UTC(2026, 0, 31) },
        });
        clock.set(Date.UTC(2026, 0, 31, 8));
        expect(await run(key, 3)).toBe(2);
        clock.set(Date.UTC(2026, 1, 1));
        expect(await checker.check(key, 0, clock.now())).toMatchObject({
          quota: { remaining: 10, resetsAt: Date.UTC(2026, 1, 2) },
        });
      });

      it("refills a plan's quota for the consumers and keys on it, and keeps a consumer's quota shared by its keys", async () => {
        source.plans.set('pln_credits', { rateLimit: null, quota: { limit: 5, refill: { amount: 5, every: 'day' } } });
        source.consumers.set('csm_b', { rateLimit: null, quota: null, planId: 'pln_credits' });
        const a = keyOf('key_a', 'csm_b');
        const b = keyOf('key_b', 'csm_b');
        expect(await run(a, 3)).toBe(3);
        expect(await run(b, 3)).toBe(2);
        clock.set(Date.UTC(2026, 0, 2));
        expect(await run(b, 10)).toBe(5);
      });
    });

    describe('per lineage', () => {
      const limits = { rateLimit: { limit: 5, windowMs: MINUTE }, quota: { limit: 8, period: 'day' as const } };

      it('a successor continues its predecessor’s rate window: rotating in a loop admits 5 per minute, not 5 per key', async () => {
        let allowed = 0;
        for (let v = 1; v <= 20; v++) {
          const key = keyOf(`key_v${v}`, 'csm_a', { ...limits, quota: null, lineageId: 'key_v1', version: v });
          for (let i = 0; i < 3; i++) if ((await checker.check(key, 1, START + v)).allowed) allowed++;
        }
        expect(allowed).toBe(5);
      });

      it('the old and the new key share one rate window and one quota during an overlap', async () => {
        const old = keyOf('key_old', 'csm_a', limits);
        const successor = keyOf('key_new', 'csm_a', { ...limits, lineageId: 'key_old', version: 2 });
        const outcomes = [];
        for (let i = 0; i < 6; i++) outcomes.push(await checker.check(i % 2 === 0 ? old : successor, 1, START));
        expect(outcomes.map((o) => o.allowed)).toEqual([true, true, true, true, true, false]);
        // The quota spans windows: 5 used in the first minute, 3 left for the day across both keys.
        const later = START + MINUTE;
        expect(await checker.check(successor, 2, later)).toMatchObject({ allowed: true, quota: { remaining: 1 } });
        expect(await checker.check(old, 2, later)).toMatchObject({ allowed: false, code: 'QUOTA_EXCEEDED' });
      });

      it('keys of other lineages keep counters of their own', async () => {
        const a = keyOf('key_a', 'csm_a', limits);
        const b = keyOf('key_b', 'csm_a', limits);
        for (let i = 0; i < 5; i++) expect((await checker.check(a, 1, START)).allowed).toBe(true);
        expect((await checker.check(a, 1, START)).allowed).toBe(false);
        expect((await checker.check(b, 1, START)).allowed).toBe(true);
      });
    });
  });
});
