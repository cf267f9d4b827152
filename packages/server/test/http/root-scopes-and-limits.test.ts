import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`root-key scopes, self-rotation bound, readiness on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect, { KEYROLL_SCHEDULER_INTERVAL_MS: '0', KEYROLL_MAX_ACTIVE_KEYS: '3' });
    });
    afterAll(() => h?.close());

    it('refuses root-key scopes that grant nothing keyroll knows, on create and on patch', async () => {
      for (const scopes of [['keys:wrte'], ['read'], ['nope:*'], ['keys:read', 'audit:writ']]) {
        const res = await h.request({ method: 'POST', url: '/v1/keys', payload: { consumerId: 'root', scopes } });
        expect(res.statusCode, JSON.stringify(scopes)).toBe(400);
        expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'scopes' });
      }
      const ok = await h.json('POST', '/v1/keys', { consumerId: 'root', scopes: ['keys:*', 'audit:read'] }, 201);
      const patched = await h.request({
        method: 'PATCH',
        url: `/v1/keys/${ok.id}`,
        payload: { scopes: ['keys:wrte'] },
      });
      expect(patched.statusCode).toBe(400);
      expect((await h.json('GET', `/v1/keys/${ok.id}`, undefined, 200)).scopes).toEqual(['keys:*', 'audit:read']);
      // consumer keys carry the provider's own scopes, whatever they are called
      const c = await h.consumerWithKey({ scopes: ['read', 'trade'] });
      expect(c.keyId).toMatch(/^key_/);
    });

    it('bounds how many keys self-rotations can leave in their grace windows', async () => {
      const c = await h.consumerWithKey();
      let key = c.key;
      for (let i = 0; i < 3; i++) {
        const res = await h.request({
          method: 'POST',
          url: '/v1/self/rotate',
          headers: { 'x-api-key': key },
          auth: null,
        });
        expect(res.statusCode).toBe(201);
        key = res.json().key;
      }
      const refused = await h.request({
        method: 'POST',
        url: '/v1/self/rotate',
        headers: { 'x-api-key': key },
        auth: null,
      });
      expect(refused.statusCode).toBe(409);
      expect(refused.json()).toMatchObject({ code: 'KEY_LIMIT_REACHED', limit: 3 });
      expect(await h.json('POST', '/v1/keys/verify', { key }, 200)).toMatchObject({ valid: true, deprecated: false });
      const usable = await h.json('GET', `/v1/keys?consumerId=${c.consumerId}&status=deprecated`, undefined, 200);
      expect(usable.data).toHaveLength(3);
    });

    it('refuses unknown query parameters on list routes, so a typo never lists everything', async () => {
      for (const url of [
        '/v1/keys?consumer_id=csm_x',
        '/v1/consumers?limt=5',
        '/v1/rotations?status=rolling',
        '/v1/audit?target=key_x',
        '/v1/plans?x=1',
        '/v1/webhooks?consumer=csm_x',
      ]) {
        const res = await h.request({ method: 'GET', url });
        expect(res.statusCode, url).toBe(400);
        expect(res.json().code).toBe('VALIDATION_FAILED');
      }
      expect((await h.request({ method: 'GET', url: '/v1/keys?consumerId=csm_x&status=active' })).statusCode).toBe(200);
    });

    it('does not show storage errors on the unauthenticated /readyz', async () => {
      const res = await h.request({ method: 'GET', url: '/readyz', auth: null });
      expect(res.statusCode).toBe(200);
      expect(res.body).not.toContain('lastError');
    });
  });
}
