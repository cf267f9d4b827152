import { ApiError, generateKey, hashKey } from '@keyroll/core';
import { ManualClock } from '@keyroll/core/testing';
import {
  type CachedKey,
  checkRequest,
  MAX_COST,
  MemoryRateLimiter,
  PlanLimitChecker,
  type VerificationEvent,
  Verifier,
} from '@keyroll/verifier/internal';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keyOf, MapLimitSource, NO_LIMITS } from './limiter/limit-fixtures.js';

const START = Date.UTC(2026, 0, 1, 12, 0, 0);

/** Costs no request may have: negative, fractional, unsafe, beyond the maximum, not a number. */
const badCost = fc.oneof(
  fc.integer({ max: -1 }),
  fc.integer({ min: MAX_COST + 1 }),
  fc.double({ noInteger: true }),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 53, -0.5, 1.5, -1_000_000),
);

function setup() {
  const clock = new ManualClock(START);
  const { key } = generateKey('kr_live');
  const stored: CachedKey = {
    ...keyOf('key_1', 'csm_1', { quota: { limit: 100, period: 'day' }, rateLimit: { limit: 50, windowMs: 60_000 } }),
    hash: hashKey(key),
  };
  const source = new MapLimitSource();
  source.consumers.set('csm_1', NO_LIMITS);
  const events: VerificationEvent[] = [];
  const verifier = new Verifier({
    lookup: { get: async (h) => (h === stored.hash ? stored : null) },
    clock,
    limits: new PlanLimitChecker({ limiter: new MemoryRateLimiter(), source }),
    observers: [{ observe: (e) => events.push(e) }],
  });
  return { verifier, key, events, clock };
}

describe('request costs', () => {
  it('refuses any cost outside [0, 1,000,000] with a 400 naming it, and counts nothing', async () => {
    await fc.assert(
      fc.asyncProperty(badCost, async (cost) => {
        const { verifier, key, events } = setup();
        const refused = await verifier.verify(key, { cost }).then(
          () => null,
          (e: unknown) => e,
        );
        if (!(refused instanceof ApiError)) throw new Error(`cost ${cost} was not refused`);
        expect(refused).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'cost' } });
        expect(refused.message).toContain(String(cost));
        expect(events).toHaveLength(0);
        // Nothing was charged or refunded: the whole quota is still there.
        const after = await verifier.verify(key, { cost: 0 });
        expect(after).toMatchObject({ valid: true, quota: { remaining: 100 }, ratelimit: { remaining: 50 } });
      }),
      { numRuns: 200 },
    );
  });

  it('charges any integer cost in range against the quota', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 100 }), async (cost) => {
        const { verifier, key } = setup();
        const result = await verifier.verify(key, { cost });
        expect(result).toMatchObject({ valid: true, quota: { remaining: 100 - cost } });
      }),
      { numRuns: 50 },
    );
  });

  it('a negative cost cannot refund a quota through the limit checker either', async () => {
    const source = new MapLimitSource();
    source.consumers.set('csm_1', NO_LIMITS);
    const checker = new PlanLimitChecker({ limiter: new MemoryRateLimiter(), source });
    const key = keyOf('key_1', 'csm_1', { quota: { limit: 5, period: 'day' } });
    expect(() => checker.check(key, -1_000_000, START)).toThrow(
      /cost must be an integer from 0 to 1000000; got -1000000/,
    );
    expect(await checker.check(key, 5, START)).toMatchObject({ allowed: true, quota: { remaining: 0 } });
  });

  it('checkRequest answers a bad cost with a 400 problem naming the value, before verifying', async () => {
    const { verifier, key, events, clock } = setup();
    const request = { apiKey: key, authorization: undefined, ip: '127.0.0.1', userAgent: undefined, path: '/bulk' };
    for (const cost of [-1_000_000, 1.5, Number.NaN]) {
      const check = await checkRequest(verifier, request, { cost }, clock);
      expect(check.ok).toBe(false);
      if (check.ok) continue;
      expect(check.rejection.status).toBe(400);
      expect(check.rejection.body).toMatchObject({
        code: 'VALIDATION_FAILED',
        status: 400,
        instance: '/bulk',
        field: 'cost',
        value: String(cost),
      });
      expect(check.rejection.body.detail).toContain(String(cost));
    }
    expect(events).toHaveLength(0);
  });
});
