import { randomBytes } from 'node:crypto';
import { ManualClock } from '@keyroll/core/testing';
import { MemoryRateLimiter, PlanLimitChecker, RedisRateLimiter } from '@keyroll/verifier/internal';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL } from '../../../../test/support/databases.js';
import { keyOf, MapLimitSource, NO_LIMITS } from './limit-fixtures.js';

const MINUTE = 60_000;

describe.skipIf(!REDIS_URL)('RedisRateLimiter: exact across two nodes', () => {
  const prefix = `keyroll-test:${randomBytes(6).toString('hex')}:`;
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 12, 0, 0));
  const source = new MapLimitSource();
  let nodes: { redis: Redis; limiter: RedisRateLimiter; checker: PlanLimitChecker }[];

  beforeAll(() => {
    source.consumers.set('csm_a', NO_LIMITS);
    nodes = [0, 1].map(() => {
      const redis = new Redis(REDIS_URL ?? '');
      const limiter = new RedisRateLimiter({ redis, prefix });
      return { redis, limiter, checker: new PlanLimitChecker({ limiter, source }) };
    });
  });
  afterAll(async () => {
    const [first] = nodes;
    if (first) {
      const keys = await first.redis.keys(`${prefix}*`);
      if (keys.length > 0) await first.redis.del(...keys);
    }
    for (const n of nodes) await n.limiter.close();
  });

  /** Sends `n` requests at once, alternating between the two nodes; returns how many were allowed. */
  async function burst(key: ReturnType<typeof keyOf>, n: number, cost = 1): Promise<number> {
    const outcomes = await Promise.all(
      Array.from({ length: n }, (_, i) => nodes[i % 2]?.checker.check(key, cost, clock.now())),
    );
    return outcomes.filter((o) => o?.allowed).length;
  }

  it('admits exactly `limit` of many concurrent requests spread over two nodes', async () => {
    const key = keyOf('key_rate', 'csm_a', { rateLimit: { limit: 50, windowMs: MINUTE } });
    expect(await burst(key, 400)).toBe(50);
    clock.advance(MINUTE);
    expect(await burst(key, 400)).toBe(50);
  });

  it('charges rate and quota together, so rejected requests never consume quota', async () => {
    const key = keyOf('key_quota', 'csm_a', {
      rateLimit: { limit: 10, windowMs: MINUTE },
      quota: { limit: 25, period: 'day' },
    });
    expect(await burst(key, 100)).toBe(10);
    clock.advance(MINUTE);
    expect(await burst(key, 100)).toBe(10);
    clock.advance(MINUTE);
    expect(await burst(key, 100)).toBe(5);
    const out = await nodes[1]?.checker.check(key, 1, clock.now());
    expect(out).toMatchObject({ allowed: false, code: 'QUOTA_EXCEEDED', quota: { limit: 25, remaining: 0 } });
  });

  it('charges costs exactly and shares consumer limits across keys and nodes', async () => {
    source.consumers.set('csm_b', { rateLimit: null, quota: { limit: 100, period: 'month' }, planId: null });
    const a = keyOf('key_b1', 'csm_b');
    const b = keyOf('key_b2', 'csm_b');
    const [fromA, fromB] = await Promise.all([burst(a, 60, 3), burst(b, 60, 3)]);
    expect(fromA + fromB).toBe(33);
    expect(await nodes[0]?.checker.check(a, 1, clock.now())).toMatchObject({ allowed: true, quota: { remaining: 0 } });
  });

  it('refills credits exactly once across nodes, however many nodes check at the refill', async () => {
    const key = keyOf('key_refill', 'csm_a', { quota: { limit: 30, refill: { amount: 10, everyMs: MINUTE } } });
    expect(await burst(key, 100)).toBe(30);
    clock.advance(MINUTE);
    expect(await burst(key, 100)).toBe(10);
    clock.advance(2 * MINUTE);
    expect(await burst(key, 100)).toBe(20);
    clock.advance(10 * MINUTE);
    expect(await burst(key, 100)).toBe(30);
  });

  it('keeps a refilling counter until it would be full again, and one that never would without expiry', async () => {
    const key = keyOf('key_keep', 'csm_a', { quota: { limit: 1_000_000, refill: { amount: 10, everyMs: MINUTE } } });
    await burst(key, 1, 25);
    const [name] = (await nodes[0]?.redis.keys(`${prefix}*key_keep*`)) ?? [];
    // 3 refills fill 25 up; kept one interval more (the next refill may be up to one away) plus the slack.
    const ttl = (await nodes[0]?.redis.pttl(name ?? '')) ?? 0;
    expect(ttl).toBeLessThanOrEqual(4 * MINUTE + MINUTE);
    expect(ttl).toBeGreaterThan(4 * MINUTE + MINUTE - 5_000);
    const slow = keyOf('key_slow', 'csm_a', { quota: { limit: 1_000_000, refill: { amount: 1, every: 'month' } } });
    await burst(slow, 1, 1_000_000);
    const [slowName] = (await nodes[0]?.redis.keys(`${prefix}*key_slow*`)) ?? [];
    expect(await nodes[0]?.redis.pttl(slowName ?? '')).toBe(-1);
  });

  it('sets each counter to expire after its window', async () => {
    const key = keyOf('key_ttl', 'csm_a', { rateLimit: { limit: 5, windowMs: MINUTE } });
    await burst(key, 1);
    const [name] = (await nodes[0]?.redis.keys(`${prefix}*key_ttl*`)) ?? [];
    expect(name).toBeDefined();
    const ttl = await nodes[0]?.redis.pttl(name ?? '');
    expect(ttl).toBeGreaterThan(0);
  });
});

describe('RedisRateLimiter without a reachable Redis', () => {
  const unreachable = () =>
    new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: 0, commandTimeout: 200, lazyConnect: true });

  it('fails closed by default: a request with limits is refused with UNAVAILABLE, never counted per process', async () => {
    const limiter = new RedisRateLimiter({ redis: unreachable() });
    const source = new MapLimitSource();
    source.consumers.set('csm_a', NO_LIMITS);
    const checker = new PlanLimitChecker({ limiter, source });
    const key = keyOf('key_down', 'csm_a', { rateLimit: { limit: 2, windowMs: MINUTE } });
    await expect(checker.check(key, 1, Date.UTC(2026, 0, 1))).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      details: { reason: 'redis_unreachable' },
    });
    expect(await limiter.reachable()).toBe(false);
    await limiter.close();
  });

  it('counts on a fallback given explicitly instead of failing verification', async () => {
    const limiter = new RedisRateLimiter({ redis: unreachable(), fallback: new MemoryRateLimiter() });
    const source = new MapLimitSource();
    source.consumers.set('csm_a', NO_LIMITS);
    const checker = new PlanLimitChecker({ limiter, source });
    const key = keyOf('key_down', 'csm_a', { rateLimit: { limit: 2, windowMs: MINUTE } });
    const now = Date.UTC(2026, 0, 1);
    const outcomes = [];
    for (let i = 0; i < 3; i++) outcomes.push((await checker.check(key, 1, now)).allowed);
    expect(outcomes).toEqual([true, true, false]);
    expect(limiter.lastError).not.toBeNull();
    await limiter.close();
  });
});
