import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`admin lockout and unclaimed successors on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect, { KEYROLL_SCHEDULER_INTERVAL_MS: '0' });
    });
    afterAll(() => h?.close());

    const verify = (key: string) => h.json('POST', '/v1/keys/verify', { key }, 200);

    it('a late tick never cuts off an unclaimed policy successor: valid at every instant, never completed', async () => {
      const c = await h.consumerWithKey();
      await h.json('PUT', `/v1/rotation-policies/${c.consumerId}`, { every: '1d', gracePeriod: '1h' }, 200);
      h.clock.advance(DAY);
      await h.kr.scheduler.tick();
      const [r] = (await h.json('GET', `/v1/rotations?keyId=${c.keyId}`, undefined, 200)).data;
      expect(r).toMatchObject({ newKeyId: null, state: 'rolling' });
      // The process is paused past the claim-by date: between the missed deadline and the next tick the key works.
      h.clock.set(Date.parse(r.retiresAt) + 5 * HOUR);
      expect(await verify(c.key)).toMatchObject({ valid: true, deprecated: true });
      const report = await h.kr.scheduler.tick();
      expect(report).toMatchObject({ completed: 0, extended: 1 });
      const moved = await h.json('GET', `/v1/rotations/${r.id}`, undefined, 200);
      expect(moved.state).toBe('rolling');
      expect(Date.parse(moved.retiresAt)).toBe(h.clock.now() + HOUR);
      expect(await verify(c.key)).toMatchObject({ valid: true });
      // Once claimed, the old key gets a real deadline, with at least half a grace period of overlap.
      const claim = await h.request({ method: 'POST', url: '/v1/self/successor', headers: { 'x-api-key': c.key } });
      expect(claim.statusCode).toBe(201);
      h.clock.advance(HOUR);
      await h.kr.scheduler.tick();
      expect((await verify(c.key)).code).toBe('RETIRED');
      expect(await verify(claim.json().key)).toMatchObject({ valid: true });
      await h.json('DELETE', `/v1/rotation-policies/${c.consumerId}`, undefined, 204);
    });

    it('a root key without * cannot change the root policy (403)', async () => {
      const rotator = await h.rootKeyWith(['keys:rotate', 'keys:read']);
      const put = await h.request({
        method: 'PUT',
        url: '/v1/rotation-policies/root',
        payload: { every: '1s', gracePeriod: '1s' },
        auth: rotator,
      });
      expect(put.statusCode).toBe(403);
      expect(put.json().code).toBe('FORBIDDEN');
      const del = await h.request({ method: 'DELETE', url: '/v1/rotation-policies/root', auth: rotator });
      expect(del.statusCode).toBe(403);
    });

    it('a root policy never retires an unclaimed root key; a root key with its scopes claims the successor', async () => {
      const spare = await h.rootKeyWith(['*']);
      await h.json('PUT', '/v1/rotation-policies/root', { every: '1d', gracePeriod: '1h' }, 200);
      h.clock.advance(2 * DAY);
      expect((await h.kr.scheduler.tick()).started).toBeGreaterThan(0);
      // The scheduler does not run for ten days (node down): every root key still administers.
      h.clock.advance(10 * DAY);
      await h.json('GET', '/v1/keys?consumerId=root', undefined, 200, h.rootKey);
      await h.json('GET', '/v1/keys?consumerId=root', undefined, 200, spare);
      const report = await h.kr.scheduler.tick();
      expect(report.completed).toBe(0);
      const rolling = (await h.json('GET', '/v1/rotations?consumerId=root&state=rolling', undefined, 200)).data;
      expect(rolling.length).toBeGreaterThan(0);
      for (const r of rolling) expect(Date.parse(r.retiresAt)).toBeGreaterThan(h.clock.now());

      // Self-service is for consumer keys; the admin API hands a root key its successor.
      const self = await h.request({ method: 'POST', url: '/v1/self/successor', headers: { 'x-api-key': h.rootKey } });
      expect(self.statusCode).toBe(403);
      let mine: { oldKeyId: string } | undefined;
      for (const r of rolling) {
        const old = await h.json('GET', `/v1/keys/${r.oldKeyId}`, undefined, 200);
        if (old.scopes.includes('*')) mine = r;
      }
      if (!mine) throw new Error('no rotation of a * root key');
      const narrow = await h.request({
        method: 'POST',
        url: `/v1/keys/${mine.oldKeyId}/successor`,
        auth: await h.rootKeyWith(['keys:rotate']),
      });
      expect(narrow.statusCode).toBe(403);
      const claim = await h.json('POST', `/v1/keys/${mine.oldKeyId}/successor`, undefined, 201, spare);
      await h.json('GET', '/v1/keys?consumerId=root', undefined, 200, claim.key);
      await h.json('DELETE', '/v1/rotation-policies/root', undefined, 204, claim.key);
    });

    it('rotating a root key needs its scopes; the last * key cannot be rotated with grace 0 (409)', async () => {
      const rotator = await h.rootKeyWith(['keys:rotate']);
      const victim = await h.json('POST', '/v1/keys', { consumerId: 'root', scopes: ['*'] }, 201);
      const bypass = await h.request({
        method: 'POST',
        url: `/v1/keys/${victim.id}/rotate`,
        payload: { gracePeriod: 0, scopes: ['keys:rotate'] },
        auth: rotator,
      });
      expect(bypass.statusCode).toBe(403);
      expect((await h.json('GET', `/v1/keys/${victim.id}`, undefined, 200)).status).toBe('active');
      // Revoke every other * key, then try an emergency rollover of the last one.
      const roots = (await h.json('GET', '/v1/keys?consumerId=root&limit=100', undefined, 200, victim.key)).data;
      for (const k of roots) {
        if (k.id !== victim.id && k.scopes.includes('*') && ['active', 'deprecated'].includes(k.status)) {
          await h.json('POST', `/v1/keys/${k.id}/revoke`, {}, 200, victim.key);
        }
      }
      const last = await h.request({
        method: 'POST',
        url: `/v1/keys/${victim.id}/rotate`,
        payload: { gracePeriod: 0 },
        auth: victim.key,
      });
      expect(last.statusCode).toBe(409);
      expect(last.json().code).toBe('CONFLICT');
      const rollover = await h.request({
        method: 'POST',
        url: '/v1/consumers/root/rollover',
        payload: { gracePeriod: 0 },
        auth: victim.key,
      });
      expect(rollover.statusCode).toBe(409);
      const overlap = await h.json('POST', `/v1/keys/${victim.id}/rotate`, { gracePeriod: '1h' }, 201, victim.key);
      await h.json('GET', '/v1/keys?consumerId=root', undefined, 200, overlap.key);
    });
  });

  describe.skipIf(!dialect.available)(`policy grace and the scheduler interval on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect, { KEYROLL_SCHEDULER_INTERVAL_MS: '30000' });
    });
    afterAll(() => h?.close());

    it('a policy grace shorter than 3 scheduler intervals is a 400 naming the minimum', async () => {
      const res = await h.request({
        method: 'PUT',
        url: '/v1/rotation-policies/default',
        payload: { every: '1s', gracePeriod: '1s' },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED', min: '90s' });
      await h.json('PUT', '/v1/rotation-policies/default', { every: '1d', gracePeriod: '90s' }, 200);
      await h.json('DELETE', '/v1/rotation-policies/default', undefined, 204);
    });
  });
}
