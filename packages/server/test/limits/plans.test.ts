import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

const MINUTE = 60_000;

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`plans, rate limits and quotas over HTTP on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect);
    });
    afterAll(() => h?.close());

    const verify = (key: string, body: Record<string, unknown> = {}) =>
      h.json('POST', '/v1/keys/verify', { key, ...body }, 200);
    /** Lets this node's change feed apply what was just written (it follows the change log like other nodes). */
    const settle = () => h.kr.cluster.feed.catchUp();
    let n = 0;
    const planName = () => `plan-${dialect.name}-${++n}`;

    it('creates, lists, reads, changes and deletes plans', async () => {
      const name = planName();
      const plan = await h.json(
        'POST',
        '/v1/plans',
        { name, rateLimit: { limit: 1, window: '1m' }, quota: { limit: 5000, period: 'month' } },
        201,
      );
      expect(plan).toMatchObject({
        name,
        rateLimit: { limit: 1, window: '1m' },
        quota: { limit: 5000, period: 'month' },
      });
      expect(plan.id).toMatch(/^pln_/);
      expect(await h.json('GET', `/v1/plans/${plan.id}`, undefined, 200)).toEqual(plan);
      const list = await h.json('GET', '/v1/plans?limit=100', undefined, 200);
      expect(list.data.map((p: { id: string }) => p.id)).toContain(plan.id);

      const changed = await h.json('PATCH', `/v1/plans/${plan.id}`, { rateLimit: { limit: 10, window: 60 } }, 200);
      expect(changed).toMatchObject({ name, rateLimit: { limit: 10, window: '1m' }, quota: { limit: 5000 } });
      await h.json('DELETE', `/v1/plans/${plan.id}`, undefined, 204);
      await h.json('GET', `/v1/plans/${plan.id}`, undefined, 404);

      const audit = await h.json('GET', `/v1/audit?targetId=${plan.id}`, undefined, 200);
      const actions = (audit.data ?? []).map((e: { action: string }) => e.action);
      expect(actions).toEqual(expect.arrayContaining(['plan.created', 'plan.updated', 'plan.deleted']));
    });

    it('documents plans and usage in the OpenAPI description', async () => {
      const doc = await h.json('GET', '/openapi.json', undefined, 200, null);
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining(['/v1/plans', '/v1/plans/{id}', '/v1/keys/{id}/usage']),
      );
    });

    it('rejects bad plans and unknown or in-use plans', async () => {
      const name = planName();
      await h.json('POST', '/v1/plans', { name, rateLimit: { limit: 1, window: '0s' } }, 400);
      await h.json('POST', '/v1/plans', { name, quota: { limit: 1, period: 'week' } }, 400);
      await h.json('POST', '/v1/plans', { name, rateLimit: { limit: 0, window: '1m' } }, 400);
      await h.json('POST', '/v1/plans', { name, extra: true }, 400);
      const plan = await h.json('POST', '/v1/plans', { name, quota: { limit: 10, period: 'day' } }, 201);
      await h.json('POST', '/v1/plans', { name }, 409);

      await h.json('POST', '/v1/consumers', { name: 'x', planId: 'pln_nope' }, 404);
      const consumer = await h.json('POST', '/v1/consumers', { name: 'on-plan', planId: plan.id }, 201);
      expect(consumer.planId).toBe(plan.id);
      await h.json('PATCH', `/v1/consumers/${consumer.id}`, { planId: 'pln_nope' }, 404);
      await h.json('POST', '/v1/keys', { consumerId: consumer.id, planId: 'pln_nope' }, 404);
      await h.json('DELETE', `/v1/plans/${plan.id}`, undefined, 409);
      await h.json('PATCH', `/v1/consumers/${consumer.id}`, { planId: null }, 200);
      await h.json('DELETE', `/v1/plans/${plan.id}`, undefined, 204);
    });

    it('guards plans with plans:read and plans:write', async () => {
      const reader = await h.rootKeyWith(['plans:read']);
      await h.json('GET', '/v1/plans', undefined, 200, reader);
      await h.json('POST', '/v1/plans', { name: planName() }, 403, reader);
      const writer = await h.rootKeyWith(['plans:write']);
      await h.json('POST', '/v1/plans', { name: planName() }, 201, writer);
      await h.json('GET', '/v1/plans', undefined, 403, writer);
      await h.json('GET', '/v1/plans', undefined, 401, null);
    });

    it('limits a consumer on a plan across all its keys, with retryAfterMs and limit state', async () => {
      const plan = await h.json(
        'POST',
        '/v1/plans',
        { name: planName(), rateLimit: { limit: 1, window: '1m' }, quota: { limit: 3, period: 'month' } },
        201,
      );
      const consumer = await h.json('POST', '/v1/consumers', { name: 'free', planId: plan.id }, 201);
      const a = await h.json('POST', '/v1/keys', { consumerId: consumer.id }, 201);
      const b = await h.json('POST', '/v1/keys', { consumerId: consumer.id }, 201);
      h.clock.set(Math.ceil(h.clock.now() / MINUTE) * MINUTE + 15_000);

      const ok = await verify(a.key);
      expect(ok).toMatchObject({
        valid: true,
        ratelimit: { limit: 1, remaining: 0, resetMs: 45_000 },
        quota: { limit: 3, remaining: 2 },
      });
      const limited = await verify(b.key);
      expect(limited).toMatchObject({
        valid: false,
        code: 'RATE_LIMITED',
        keyId: b.id,
        retryAfterMs: 45_000,
        ratelimit: { limit: 1, remaining: 0, resetMs: 45_000 },
        quota: { limit: 3, remaining: 2 },
      });
      h.clock.advance(MINUTE);
      expect(await verify(b.key)).toMatchObject({ valid: true, quota: { remaining: 1 } });
      h.clock.advance(MINUTE);
      expect(await verify(a.key)).toMatchObject({ valid: true, quota: { remaining: 0 } });
      h.clock.advance(MINUTE);
      const exceeded = await verify(a.key);
      expect(exceeded).toMatchObject({ valid: false, code: 'QUOTA_EXCEEDED', quota: { limit: 3, remaining: 0 } });
      const d = new Date(h.clock.now());
      const nextMonth = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
      expect(exceeded.retryAfterMs).toBe(nextMonth - h.clock.now());
      expect(new Date(exceeded.quota.resetsAt).getTime()).toBe(nextMonth);

      // keyroll's own self-service routes are not the provider's API: neither limited nor charged.
      for (let i = 0; i < 3; i++) {
        const self = await h.request({ method: 'GET', url: '/v1/self', headers: { 'x-api-key': a.key }, auth: null });
        expect(self.statusCode).toBe(200);
      }
      expect(await verify(b.key, { cost: 0 })).toMatchObject({ code: 'QUOTA_EXCEEDED', quota: { remaining: 0 } });
    });

    it("lets a key's own limit override its plan and follows plan changes at once", async () => {
      const plan = await h.json('POST', '/v1/plans', { name: planName(), rateLimit: { limit: 1, window: '1h' } }, 201);
      const { consumerId } = await h.consumerWithKey();
      const onPlan = await h.json('POST', '/v1/keys', { consumerId, planId: plan.id }, 201);
      const own = await h.json(
        'POST',
        '/v1/keys',
        { consumerId, planId: plan.id, rateLimit: { limit: 3, window: '1h' } },
        201,
      );
      expect(own).toMatchObject({ planId: plan.id, rateLimit: { limit: 3, window: '1h' } });
      h.clock.set(Math.ceil(h.clock.now() / 3_600_000) * 3_600_000);
      const codes = async (key: string, times: number) => {
        const out: string[] = [];
        for (let i = 0; i < times; i++) out.push((await verify(key)).code);
        return out;
      };
      expect(await codes(onPlan.key, 2)).toEqual(['VALID', 'RATE_LIMITED']);
      expect(await codes(own.key, 4)).toEqual(['VALID', 'VALID', 'VALID', 'RATE_LIMITED']);

      await h.json('PATCH', `/v1/plans/${plan.id}`, { rateLimit: { limit: 2, window: '1h' } }, 200);
      await settle();
      expect(await codes(onPlan.key, 2)).toEqual(['VALID', 'RATE_LIMITED']);

      await h.json('PATCH', `/v1/keys/${onPlan.id}`, { planId: null }, 200);
      await settle();
      expect(await codes(onPlan.key, 3)).toEqual(['VALID', 'VALID', 'VALID']);

      await h.json('PATCH', `/v1/consumers/${consumerId}`, { rateLimit: { limit: 1, window: '1h' } }, 200);
      await settle();
      expect(await codes(onPlan.key, 2)).toEqual(['VALID', 'RATE_LIMITED']);
      expect(await codes(own.key, 1)).toEqual(['RATE_LIMITED']);
    });

    it('charges the cost of a request to quotas and never lets a rejected one consume quota', async () => {
      const { consumerId, key } = await h.consumerWithKey({ quota: { limit: 10, period: 'day' } });
      await h.json('PATCH', `/v1/consumers/${consumerId}`, { rateLimit: { limit: 2, window: '1m' } }, 200);
      await settle();
      h.clock.set(Math.ceil(h.clock.now() / 86_400_000) * 86_400_000);
      expect(await verify(key, { cost: 3 })).toMatchObject({ valid: true, quota: { remaining: 7 } });
      const burst = [];
      for (let i = 0; i < 5; i++) burst.push((await verify(key, { cost: 3 })).code);
      expect(burst).toEqual(['VALID', 'RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED']);
      h.clock.advance(MINUTE);
      expect(await verify(key, { cost: 0 })).toMatchObject({ valid: true, quota: { remaining: 4 } });
      expect(await verify(key, { cost: 3 })).toMatchObject({ valid: true, quota: { remaining: 1 } });
      expect(await verify(key, { cost: 2 })).toMatchObject({ valid: false, code: 'QUOTA_EXCEEDED' });
      expect(await verify(key, { cost: 1 })).toMatchObject({ valid: true, quota: { remaining: 0 } });
      expect(await verify(key, { cost: 0 })).toMatchObject({ valid: false, code: 'QUOTA_EXCEEDED' });
    });
  });
}
