import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`self-rotation on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect, { KEYROLL_SCHEDULER_INTERVAL_MS: '0', KEYROLL_SELF_ROTATE_MAX_GRACE: '3d' });
    });
    afterAll(() => h?.close());

    const selfRotate = (key: string, payload?: object) =>
      h.request({
        method: 'POST',
        url: '/v1/self/rotate',
        headers: { 'x-api-key': key },
        auth: null,
        ...(payload ? { payload } : {}),
      });

    it('rolls the calling key: 201 {key, newKeyId, rotation}, default grace 24h', async () => {
      const c = await h.consumerWithKey({ scopes: ['read'] });
      const now = h.clock.now();
      const res = await selfRotate(c.key);
      expect(res.statusCode).toBe(201);
      expect(res.headers['cache-control']).toBe('no-store');
      const body = res.json();
      expect(body.key).toMatch(/^kr_live_/);
      expect(body.rotation).toMatchObject({
        origin: 'self',
        oldKeyId: c.keyId,
        newKeyId: body.newKeyId,
        retiresAt: new Date(now + DAY).toISOString(),
      });
      const again = await selfRotate(c.key);
      expect(again.statusCode).toBe(409);
      const next = await selfRotate(body.key, { gracePeriod: '2h' });
      expect(next.statusCode).toBe(201);
      expect(next.json().rotation.retiresAt).toBe(new Date(now + 2 * HOUR).toISOString());
      const audit = await h.kr.store.db
        .selectFrom('audit_events')
        .select(['actor', 'data'])
        .where('target_id', '=', body.rotation.id)
        .executeTakeFirstOrThrow();
      expect(audit.actor).toBe(`consumer:${c.keyId}`);
      expect(JSON.stringify(audit.data)).not.toContain(body.key);
    });

    it('bounds the grace period by the server maximum and applies the policy grace', async () => {
      const c = await h.consumerWithKey();
      const tooLong = await selfRotate(c.key, { gracePeriod: '4d' });
      expect(tooLong.statusCode).toBe(400);
      expect(tooLong.json().code).toBe('VALIDATION_FAILED');
      await h.json('PUT', `/v1/rotation-policies/${c.consumerId}`, { every: '90d', gracePeriod: '2d' }, 200);
      const now = h.clock.now();
      const res = await selfRotate(c.key);
      expect(res.json().rotation.retiresAt).toBe(new Date(now + 2 * DAY).toISOString());
      const d = await h.consumerWithKey();
      await h.json('PUT', `/v1/rotation-policies/${d.consumerId}`, { every: '90d', gracePeriod: '10d' }, 200);
      const capped = await selfRotate(d.key);
      expect(capped.json().rotation.retiresAt).toBe(new Date(now + 3 * DAY).toISOString());
    });

    it('needs a valid key', async () => {
      expect((await selfRotate('kr_live_nope')).statusCode).toBe(401);
      const c = await h.consumerWithKey();
      await h.json('POST', `/v1/keys/${c.keyId}/revoke`, {}, 200);
      expect((await selfRotate(c.key)).statusCode).toBe(401);
    });
  });
}
