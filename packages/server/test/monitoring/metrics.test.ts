import { register } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

/** The value of one sample in a Prometheus exposition, or undefined. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`GET /metrics on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect);
    });
    afterAll(() => h?.close());

    it('exposes verifications, latency, cache, propagation, rate limits, rotations, deliveries and alerts', async () => {
      const limited = await h.consumerWithKey({ rateLimit: { limit: 1, window: '1m' } });
      const rotating = await h.consumerWithKey();
      await h.json('POST', `/v1/keys/${rotating.keyId}/rotate`, { gracePeriod: '1d' }, 201);
      for (let i = 0; i < 3; i++) await h.kr.verifier.verify(limited.key);
      await h.kr.verifier.verify('kr_live_nonsense');

      const res = await h.request({ method: 'GET', url: '/metrics', auth: null });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toContain('text/plain');
      const text = res.body;
      expect(sample(text, 'keyroll_verifications_total{code="VALID"}')).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'keyroll_verifications_total{code="RATE_LIMITED"}')).toBe(2);
      expect(sample(text, 'keyroll_verifications_total{code="MALFORMED"}')).toBe(1);
      expect(sample(text, 'keyroll_rate_limit_rejections_total{code="RATE_LIMITED"}')).toBe(2);
      expect(sample(text, 'keyroll_verification_duration_seconds_count')).toBeGreaterThanOrEqual(4);
      const lookups = sample(text, 'keyroll_key_lookups_total') ?? 0;
      const misses = sample(text, 'keyroll_cache_misses_total') ?? 0;
      expect(misses).toBeGreaterThanOrEqual(1);
      expect(lookups).toBeGreaterThan(misses);
      expect(sample(text, 'keyroll_cache_hit_ratio')).toBeCloseTo(1 - misses / lookups, 5);
      expect(text).toMatch(/keyroll_change_propagation_lag_seconds_count\{node="[^"]+"\} [1-9]/);
      expect(sample(text, 'keyroll_rotations{state="rolling"}')).toBe(1);
      expect(sample(text, 'keyroll_webhook_deliveries_pending')).toBe(0);
      expect(text).toContain('# TYPE keyroll_alerts_raised_total counter');
      expect(text).toContain('# TYPE keyroll_webhook_deliveries_total counter');
    });

    it('keeps each instance in a registry of its own', async () => {
      expect(await register.metrics()).not.toContain('keyroll_');
      const other = await createHarness(dialect);
      try {
        await other.kr.verifier.verify('kr_live_nonsense');
        const mine = (await h.request({ method: 'GET', url: '/metrics', auth: null })).body;
        const theirs = (await other.request({ method: 'GET', url: '/metrics', auth: null })).body;
        expect(sample(theirs, 'keyroll_verifications_total{code="MALFORMED"}')).toBe(1);
        expect(sample(mine, 'keyroll_verifications_total{code="MALFORMED"}')).toBe(1);
      } finally {
        await other.close();
      }
    });
  });
}
