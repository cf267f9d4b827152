import { acceptedHeaders, rejectionOf } from '@keyroll/verifier/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

const HOUR = 3_600_000;

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`quotas that refill over HTTP on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect);
    });
    afterAll(() => h?.close());

    const verify = (key: string, body: Record<string, unknown> = {}) =>
      h.json('POST', '/v1/keys/verify', { key, ...body }, 200);
    const settle = () => h.kr.cluster.feed.catchUp();
    const iso = (ms: number) => new Date(ms).toISOString();

    it("stores and answers a plan's and a key's refill, and reports it with each verification", async () => {
      const plan = await h.json(
        'POST',
        '/v1/plans',
        { name: `credits-${dialect.name}`, quota: { limit: 100, refill: { amount: 25, every: 'day' } } },
        201,
      );
      expect(plan.quota).toEqual({ limit: 100, refill: { amount: 25, every: 'day' } });
      const consumer = await h.json('POST', '/v1/consumers', { name: 'credits', planId: plan.id }, 201);
      const own = { limit: 5, period: 'month', refill: { amount: 2, every: 3600 } };
      const key = await h.json('POST', '/v1/keys', { consumerId: consumer.id, quota: own }, 201);
      expect(key.quota).toEqual({ limit: 5, period: 'month', refill: { amount: 2, every: '1h' } });
      expect((await h.json('GET', `/v1/keys/${key.id}`, undefined, 200)).quota).toEqual(key.quota);

      h.clock.set(Date.UTC(2026, 2, 10, 12, 15));
      // The key's quota (5, 2 back each hour) is tighter than the consumer's plan (100, 25 back each day).
      expect(await verify(key.key, { cost: 4 })).toMatchObject({
        valid: true,
        quota: { limit: 5, remaining: 1, resetsAt: iso(Date.UTC(2026, 2, 10, 13)), refill: { amount: 2, every: '1h' } },
      });
      const refused = await verify(key.key, { cost: 3 });
      expect(refused).toMatchObject({ valid: false, code: 'QUOTA_EXCEEDED', retryAfterMs: 45 * 60_000 });
      h.clock.set(Date.UTC(2026, 2, 10, 13));
      expect(await verify(key.key, { cost: 3 })).toMatchObject({ valid: true, quota: { remaining: 0 } });

      // Without a quota of its own, the key's tightest quota is its consumer's plan's: 100 - 7 used.
      await h.json('PATCH', `/v1/keys/${key.id}`, { quota: null }, 200);
      await settle();
      expect(await verify(key.key, { cost: 0 })).toEqual(
        expect.objectContaining({
          quota: {
            limit: 100,
            remaining: 93,
            resetsAt: iso(Date.UTC(2026, 2, 11)),
            refill: { amount: 25, every: 'day' },
          },
        }),
      );
    });

    it('turns the refill into RateLimit headers: the reset is the next refill', async () => {
      const { key } = await h.consumerWithKey({ quota: { limit: 10, refill: { amount: 5, every: '1h' } } });
      h.clock.set(Date.UTC(2026, 3, 1, 8, 15));
      const accepted = await h.kr.verifier.verify(key, { cost: 10 });
      if (!accepted.valid) throw new Error(`expected a valid key, got ${accepted.code}`);
      expect(acceptedHeaders(accepted, h.clock.now())).toEqual({
        'ratelimit-limit': '10',
        'ratelimit-remaining': '0',
        'ratelimit-reset': '2700',
      });
      const rejected = await h.kr.verifier.verify(key, { cost: 6 });
      if (rejected.valid) throw new Error('expected a refusal');
      // 6 credits need two refills of 5: at 09:00 and 10:00.
      expect(rejectionOf(rejected, '/orders', h.clock.now()).headers).toMatchObject({
        'retry-after': '6300',
        'ratelimit-remaining': '0',
        'ratelimit-reset': '2700',
      });
    });

    it('refuses refills a client cannot mean with a VALIDATION_FAILED problem naming the field', async () => {
      const { consumerId, keyId } = await h.consumerWithKey();
      const quota = (q: Record<string, unknown>) => ({ consumerId, quota: q });
      const cases: [string, string, Record<string, unknown>, string][] = [
        ['POST', '/v1/keys', quota({ limit: 5 }), 'quota: needs a period ("day" or "month"), a refill, or both'],
        [
          'POST',
          '/v1/keys',
          quota({ limit: 5, refill: { amount: 6, every: 'day' } }),
          "quota.refill.amount: must be at most the quota's limit (5); got 6",
        ],
        ['POST', '/v1/keys', quota({ limit: 5, refill: { amount: 0, every: 'day' } }), 'body/quota/refill/amount'],
        ['POST', '/v1/keys', quota({ limit: 5, refill: { amount: 1.5, every: 'day' } }), 'body/quota/refill/amount'],
        [
          'POST',
          '/v1/keys',
          quota({ limit: 5, refill: { amount: 1, every: '500ms' } }),
          'quota.refill.every: must be "day", "month" or a duration of at least 1s; got "500ms"',
        ],
        [
          'POST',
          '/v1/keys',
          quota({ limit: 5, refill: { amount: 1, every: '99999d' } }),
          'quota.refill.every: must be "day", "month" or at most 10 years; got "99999d"',
        ],
        ['POST', '/v1/keys', quota({ limit: 5, refill: { amount: 1, every: 'week' } }), 'body/quota/refill/every'],
        ['POST', '/v1/keys', quota({ limit: 5, refill: { amount: 1 } }), 'body/quota/refill'],
        [
          'POST',
          '/v1/keys',
          quota({ limit: 5, refill: { amount: 1, every: 'day', at: 'noon' } }),
          'body/quota/refill has an unknown field "at"',
        ],
        [
          'PATCH',
          `/v1/keys/${keyId}`,
          { quota: { limit: 1, refill: { amount: 2, every: '1h' } } },
          'quota.refill.amount',
        ],
        ['PATCH', `/v1/consumers/${consumerId}`, { quota: { limit: 9 } }, 'quota: needs a period'],
        [
          'POST',
          '/v1/plans',
          { name: 'bad', quota: { limit: 3, refill: { amount: 1, every: 0 } } },
          'quota.refill.every',
        ],
      ];
      for (const [method, url, payload, detail] of cases) {
        const res = await h.request({ method: method as 'POST', url, payload });
        const label = `${method} ${url} ${JSON.stringify(payload)}`;
        expect(res.statusCode, label).toBe(400);
        expect(res.headers['content-type'], label).toMatch(/^application\/problem\+json/);
        expect(res.json(), label).toMatchObject({ code: 'VALIDATION_FAILED' });
        expect(res.json().detail, label).toContain(detail);
      }
      expect((await h.json('GET', `/v1/keys/${keyId}`, undefined, 200)).quota).toBeNull();
      const consumer = await h.json(
        'PATCH',
        `/v1/consumers/${consumerId}`,
        { quota: { limit: 9, refill: { amount: 3, every: '90m' } } },
        200,
      );
      expect(consumer.quota).toEqual({ limit: 9, refill: { amount: 3, every: '90m' } });
    });

    it('documents the refill in the OpenAPI description of quotas and of the verify answer', async () => {
      const doc = await h.json('GET', '/openapi.json', undefined, 200, null);
      const text = JSON.stringify(doc);
      const createKey = doc.paths['/v1/keys'].post.requestBody.content['application/json'].schema;
      expect(JSON.stringify(createKey.properties.quota)).toContain('"refill"');
      const answer = doc.paths['/v1/keys/verify'].post.responses['200'].content['application/json'].schema;
      expect(Object.keys(answer.properties.quota.properties)).toEqual(['limit', 'remaining', 'resetsAt', 'refill']);
      expect(text).toContain('each UTC midnight');
    });

    it('keeps answering quotas without a refill exactly as before', async () => {
      const { key, keyId } = await h.consumerWithKey({ quota: { limit: 7, period: 'day' } });
      expect((await h.json('GET', `/v1/keys/${keyId}`, undefined, 200)).quota).toEqual({ limit: 7, period: 'day' });
      h.clock.set(Date.UTC(2026, 4, 1, 23));
      expect((await verify(key)).quota).toEqual({ limit: 7, remaining: 6, resetsAt: iso(Date.UTC(2026, 4, 2)) });
      h.clock.advance(HOUR);
      expect((await verify(key, { cost: 0 })).quota).toMatchObject({ remaining: 7 });
    });
  });
}
