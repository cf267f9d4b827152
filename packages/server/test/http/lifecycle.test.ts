import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`key lifecycle over HTTP on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect);
    });
    afterAll(() => h?.close());

    it('creates a consumer, issues a key, verifies it, revokes it', async () => {
      const consumer = await h.json('POST', '/v1/consumers', { name: 'Acme Bots', metadata: { tier: 'pro' } }, 201);
      expect(consumer).toMatchObject({ name: 'Acme Bots', metadata: { tier: 'pro' } });
      expect(consumer.id).toMatch(/^csm_/);

      const created = await h.json(
        'POST',
        '/v1/keys',
        { consumerId: consumer.id, name: 'Production', scopes: ['read', 'trade'] },
        201,
      );
      expect(created.key).toMatch(/^kr_live_/);
      expect(created).toMatchObject({
        name: 'Production',
        version: 1,
        status: 'active',
        scopes: ['read', 'trade'],
        consumerId: consumer.id,
      });
      expect(created.hint).toBe(`kr_live_…${created.key.slice(-4)}`);

      const verified = await h.json('POST', '/v1/keys/verify', { key: created.key, scopes: ['read'] }, 200);
      expect(verified).toMatchObject({
        valid: true,
        code: 'VALID',
        keyId: created.id,
        consumerId: consumer.id,
        deprecated: false,
      });

      const got = await h.json('GET', `/v1/keys/${created.id}`, undefined, 200);
      expect(got.key).toBeUndefined();
      expect(got.status).toBe('active');

      const revoked = await h.json('POST', `/v1/keys/${created.id}/revoke`, { reason: 'leaked' }, 200);
      expect(revoked).toMatchObject({ status: 'revoked', revokeReason: 'leaked' });
      expect(await h.json('POST', '/v1/keys/verify', { key: created.key }, 200)).toMatchObject({
        valid: false,
        code: 'REVOKED',
      });
    });
  });
}
