import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

const DAY = 24 * 3_600_000;

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`rotation policies and successor claims on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect, { KEYROLL_SCHEDULER_INTERVAL_MS: '0' });
    });
    afterAll(() => h?.close());

    const verify = (key: string) => h.json('POST', '/v1/keys/verify', { key }, 200);
    const asConsumer = (key: string, method: 'GET' | 'POST', url: string, payload?: object) =>
      h.request({ method, url, headers: { 'x-api-key': key }, auth: null, ...(payload ? { payload } : {}) });
    const auditOf = (action: string, consumerId: string) =>
      h.kr.store.db
        .selectFrom('audit_events')
        .select(['action', 'data', 'target_id'])
        .where('action', '=', action)
        .execute()
        .then((rows) => rows.filter((r) => JSON.parse(r.data).consumerId === consumerId));

    it('validates and stores policies', async () => {
      const bad = await h.request({
        method: 'PUT',
        url: '/v1/rotation-policies/default',
        payload: { every: '7d', gracePeriod: '1d', notifyBefore: '8d' },
      });
      expect(bad.statusCode).toBe(400);
      const noGrace = await h.request({
        method: 'PUT',
        url: '/v1/rotation-policies/default',
        payload: { every: '7d', gracePeriod: 0 },
      });
      expect(noGrace.statusCode).toBe(400);
      const unknown = await h.request({
        method: 'PUT',
        url: '/v1/rotation-policies/csm_nope',
        payload: { every: '7d', gracePeriod: '1d' },
      });
      expect(unknown.statusCode).toBe(404);
      const idle = await h.request({
        method: 'PUT',
        url: '/v1/rotation-policies/default',
        payload: { every: '7d', gracePeriod: '1d', retire: { mode: 'when-idle' } },
      });
      expect(idle.statusCode).toBe(400);
    });

    it('reminds before a key reaches its age, starts a rotation at the age, and hands the successor to the old key once', async () => {
      const policy = await h.json(
        'PUT',
        '/v1/rotation-policies/default',
        { every: '90d', gracePeriod: '7d', notifyBefore: '7d' },
        200,
      );
      expect(policy).toMatchObject({ target: 'default', consumerId: null, every: '90d', gracePeriod: '1w' });
      const c = await h.consumerWithKey({ name: 'Production', scopes: ['read'] });
      const created = h.clock.now();

      h.clock.set(created + 83 * DAY - 1);
      expect((await h.kr.scheduler.tick()).reminders).toBe(0);
      h.clock.set(created + 83 * DAY);
      expect((await h.kr.scheduler.tick()).reminders).toBeGreaterThanOrEqual(1);
      const reminders = await auditOf('rotation.reminder', c.consumerId);
      expect(reminders).toHaveLength(1);
      expect(JSON.parse(reminders[0]?.data ?? '{}')).toMatchObject({
        keyId: c.keyId,
        rotatesAt: new Date(created + 90 * DAY).toISOString(),
      });
      await h.kr.scheduler.tick();
      expect(await auditOf('rotation.reminder', c.consumerId)).toHaveLength(1);

      h.clock.set(created + 90 * DAY);
      expect((await h.kr.scheduler.tick()).started).toBeGreaterThanOrEqual(1);
      const [rot] = (await h.json('GET', `/v1/rotations?keyId=${c.keyId}`, undefined, 200)).data;
      expect(rot).toMatchObject({
        origin: 'policy',
        state: 'rolling',
        newKeyId: null,
        successorClaimed: false,
        policyId: policy.id,
        retiresAt: new Date(created + 97 * DAY).toISOString(),
      });
      // the old key keeps working through the grace window, flagged as deprecated
      expect(await verify(c.key)).toMatchObject({ valid: true, deprecated: true });
      // nothing can complete it before the successor exists
      expect((await h.request({ method: 'POST', url: `/v1/rotations/${rot.id}/complete` })).statusCode).toBe(409);

      h.clock.advance(DAY);
      const claim = await asConsumer(c.key, 'POST', '/v1/self/successor');
      expect(claim.statusCode).toBe(201);
      const claimed = claim.json();
      expect(claimed.key).toMatch(/^kr_live_/);
      expect(claimed.rotation).toMatchObject({ id: rot.id, successorClaimed: true, newKeyId: claimed.newKeyId });
      expect(await verify(claimed.key)).toMatchObject({ valid: true, deprecated: false });
      expect(await h.json('GET', `/v1/keys/${claimed.newKeyId}`, undefined, 200)).toMatchObject({
        name: 'Production',
        scopes: ['read'],
        version: 2,
        predecessorId: c.keyId,
      });
      expect(await auditOf('successor.claimed', c.consumerId)).toHaveLength(1);

      const again = await asConsumer(c.key, 'POST', '/v1/self/successor');
      expect(again.statusCode).toBe(409);
      expect(again.json()).toMatchObject({ code: 'SUCCESSOR_ALREADY_CLAIMED', revoked: false });
      expect(await auditOf('successor.reclaim_attempted', c.consumerId)).toHaveLength(1);
      // onReuse "reject" (the default): both keys still work
      expect(await verify(claimed.key)).toMatchObject({ valid: true });
      expect(await verify(c.key)).toMatchObject({ valid: true });

      h.clock.set(created + 97 * DAY);
      expect(await verify(c.key)).toMatchObject({ code: 'RETIRED' });
      expect((await asConsumer(c.key, 'POST', '/v1/self/successor')).statusCode).toBe(401);
      await h.kr.scheduler.tick();
      expect((await h.json('GET', `/v1/rotations/${rot.id}`, undefined, 200)).state).toBe('completed');
      // the successor is a new key of age 0: not rotated again yet
      expect(await verify(claimed.key)).toMatchObject({ valid: true, deprecated: false });
      await h.json('DELETE', '/v1/rotation-policies/default', undefined, 204);
    });

    it('a consumer policy with onReuse "revoke" revokes the lineage on a second claim', async () => {
      const c = await h.consumerWithKey();
      await h.json(
        'PUT',
        `/v1/rotation-policies/${c.consumerId}`,
        { every: '30d', gracePeriod: '2d', onReuse: 'revoke' },
        200,
      );
      h.clock.advance(30 * DAY);
      await h.kr.scheduler.tick();
      const first = await asConsumer(c.key, 'POST', '/v1/self/successor');
      expect(first.statusCode).toBe(201);
      const second = await asConsumer(c.key, 'POST', '/v1/self/successor');
      expect(second.statusCode).toBe(409);
      expect(second.json()).toMatchObject({ code: 'SUCCESSOR_ALREADY_CLAIMED', revoked: true });
      expect(await verify(c.key)).toMatchObject({ code: 'REVOKED' });
      expect(await verify(first.json().key)).toMatchObject({ code: 'REVOKED' });
      const events = await auditOf('successor.reclaim_attempted', c.consumerId);
      expect(events).toHaveLength(1);
      await h.json('DELETE', `/v1/rotation-policies/${c.consumerId}`, undefined, 204);
    });

    it('a successor issued to an operator cannot be claimed, and asking is not taken for reuse', async () => {
      const c = await h.consumerWithKey();
      await h.json(
        'PUT',
        `/v1/rotation-policies/${c.consumerId}`,
        { every: '90d', gracePeriod: '1d', onReuse: 'revoke' },
        200,
      );
      const res = await h.json('POST', `/v1/keys/${c.keyId}/rotate`, { gracePeriod: '1d' }, 201);
      const claim = await asConsumer(c.key, 'POST', '/v1/self/successor');
      expect(claim.statusCode).toBe(409);
      expect(claim.json().code).toBe('CONFLICT');
      expect(await auditOf('successor.reclaim_attempted', c.consumerId)).toHaveLength(0);
      expect(await verify(c.key)).toMatchObject({ valid: true, deprecated: true });
      expect(await verify(res.key)).toMatchObject({ valid: true });
      // a self-rotation handed the successor to this very key: asking again is the same caller, not a reuse
      const self = await asConsumer(res.key, 'POST', '/v1/self/rotate', { gracePeriod: '1h' });
      expect(self.statusCode).toBe(201);
      const again = await asConsumer(res.key, 'POST', '/v1/self/successor');
      expect(again.statusCode).toBe(409);
      expect(again.json()).toMatchObject({ code: 'CONFLICT', rotationId: self.json().rotation.id });
      expect(await auditOf('successor.reclaim_attempted', c.consumerId)).toHaveLength(0);
      expect(await verify(self.json().key)).toMatchObject({ valid: true });
      await h.json('DELETE', `/v1/rotation-policies/${c.consumerId}`, undefined, 204);
    });

    it('a rolled-back policy rotation is not restarted at once; a key without a rotation cannot claim', async () => {
      const c = await h.consumerWithKey();
      expect((await asConsumer(c.key, 'POST', '/v1/self/successor')).statusCode).toBe(404);
      await h.json('PUT', `/v1/rotation-policies/${c.consumerId}`, { every: '10d', gracePeriod: '1d' }, 200);
      h.clock.advance(10 * DAY);
      await h.kr.scheduler.tick();
      const [rot] = (await h.json('GET', `/v1/rotations?keyId=${c.keyId}`, undefined, 200)).data;
      await h.json('POST', `/v1/rotations/${rot.id}/rollback`, undefined, 200);
      expect(await verify(c.key)).toMatchObject({ valid: true, deprecated: false });
      await h.kr.scheduler.tick();
      expect((await h.json('GET', `/v1/rotations?keyId=${c.keyId}`, undefined, 200)).data).toHaveLength(1);
      h.clock.advance(10 * DAY + 1);
      await h.kr.scheduler.tick();
      expect((await h.json('GET', `/v1/rotations?keyId=${c.keyId}&state=rolling`, undefined, 200)).data).toHaveLength(
        1,
      );
      await h.json('DELETE', `/v1/rotation-policies/${c.consumerId}`, undefined, 204);
    });

    it('the default policy never rotates root keys', async () => {
      await h.json('PUT', '/v1/rotation-policies/default', { every: '1d', gracePeriod: '1h' }, 200);
      h.clock.advance(400 * DAY);
      await h.kr.scheduler.tick();
      const rootRotations = await h.kr.store.db
        .selectFrom('rotations')
        .select('id')
        .where('consumer_id', '=', 'root')
        .execute();
      expect(rootRotations).toEqual([]);
      // Still usable and not deprecated (checked on the admin API: root keys never pass the verify API).
      expect((await h.request({ method: 'GET', url: '/v1/consumers' })).statusCode).toBe(200);
      expect((await h.json('GET', '/v1/keys?consumerId=root&status=deprecated', undefined, 200)).data).toEqual([]);
      await h.json('DELETE', '/v1/rotation-policies/default', undefined, 204);
    });
  });
}
