import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`GET /v1/keys/:id/usage on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect);
    });
    afterAll(() => h?.close());

    const verify = (key: string, body: Record<string, unknown> = {}) =>
      h.json('POST', '/v1/keys/verify', { key, ...body }, 200);

    it('counts every verification exactly, by bucket and outcome code', async () => {
      const { key, keyId } = await h.consumerWithKey({ scopes: ['read'], rateLimit: { limit: 30, window: '1h' } });
      const start = Math.ceil(h.clock.now() / HOUR) * HOUR;
      h.clock.set(start + 5 * MINUTE);
      const concurrent = await Promise.all(Array.from({ length: 25 }, () => verify(key)));
      expect(concurrent.every((r) => r.valid)).toBe(true);
      for (let i = 0; i < 3; i++) await verify(key, { scopes: ['trade'] });
      h.clock.set(start + 7 * MINUTE + 30_000);
      for (let i = 0; i < 8; i++) await verify(key);
      h.clock.set(start + HOUR + MINUTE);
      for (let i = 0; i < 4; i++) await verify(key);
      await h.kr.usage.flush();

      const from = new Date(start).toISOString();
      const to = new Date(start + 2 * HOUR).toISOString();
      const byMinute = await h.json(
        'GET',
        `/v1/keys/${keyId}/usage?from=${from}&to=${to}&granularity=minute`,
        undefined,
        200,
      );
      expect(byMinute).toMatchObject({ keyId, granularity: 'minute', from, to, total: 40 });
      expect(byMinute.codes).toEqual({ VALID: 34, INSUFFICIENT_SCOPE: 3, RATE_LIMITED: 3 });
      expect(byMinute.buckets).toHaveLength(120);
      expect(byMinute.buckets[5]).toEqual({
        start: new Date(start + 5 * MINUTE).toISOString(),
        total: 28,
        codes: { VALID: 25, INSUFFICIENT_SCOPE: 3 },
      });
      expect(byMinute.buckets[7]).toMatchObject({ total: 8, codes: { VALID: 5, RATE_LIMITED: 3 } });
      expect(byMinute.buckets[61]).toMatchObject({ total: 4, codes: { VALID: 4 } });
      expect(byMinute.buckets[0]).toMatchObject({ total: 0, codes: {} });

      const byHour = await h.json('GET', `/v1/keys/${keyId}/usage?from=${from}&to=${to}`, undefined, 200);
      expect(byHour.granularity).toBe('hour');
      expect(byHour.buckets.map((b: { total: number }) => b.total)).toEqual([36, 4]);

      const byDay = await h.json('GET', `/v1/keys/${keyId}/usage?granularity=day&from=${from}`, undefined, 200);
      expect(byDay.total).toBe(40);
      expect(byDay.buckets[0].start).toBe(new Date(start - (start % 86_400_000)).toISOString());
    });

    it('reports nothing lost when many verifications run at once', async () => {
      const { key, keyId } = await h.consumerWithKey();
      const n = 300;
      await Promise.all(Array.from({ length: n }, () => verify(key)));
      await h.kr.usage.flush();
      const usage = await h.json('GET', `/v1/keys/${keyId}/usage?granularity=minute`, undefined, 200);
      expect(usage.total).toBe(n);
      expect(usage.codes).toEqual({ VALID: n });
    });

    it('validates the range and granularity, and needs analytics:read', async () => {
      const { keyId } = await h.consumerWithKey();
      const url = `/v1/keys/${keyId}/usage`;
      await h.json('GET', `${url}?granularity=week`, undefined, 400);
      await h.json('GET', `${url}?from=yesterday`, undefined, 400);
      await h.json('GET', `${url}?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z`, undefined, 400);
      await h.json(
        'GET',
        `${url}?from=2026-01-01T00:00:00Z&to=2026-01-03T00:00:00Z&granularity=minute`,
        undefined,
        400,
      );
      await h.json(
        'GET',
        `${url}?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&granularity=minute`,
        undefined,
        200,
      );
      await h.json('GET', `${url}?bogus=1`, undefined, 400);
      await h.json('GET', '/v1/keys/key_nope/usage', undefined, 404);
      const keysOnly = await h.rootKeyWith(['keys:read']);
      await h.json('GET', url, undefined, 403, keysOnly);
      const analyst = await h.rootKeyWith(['analytics:read']);
      await h.json('GET', url, undefined, 200, analyst);
    });
  });
}
