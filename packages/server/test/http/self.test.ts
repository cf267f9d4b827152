import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`GET /v1/self on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect);
    });
    afterAll(() => h?.close());

    const self = (headers: Record<string, string>) =>
      h.request({ method: 'GET', url: '/v1/self', auth: null, headers });

    it('shows the calling key and its consumer, without the secret', async () => {
      const { key, keyId, consumerId } = await h.consumerWithKey({ name: 'CI', scopes: ['read'] });
      const res = await self({ 'x-api-key': key });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.key).toMatchObject({ id: keyId, consumerId, name: 'CI', scopes: ['read'], status: 'active' });
      expect(body.consumer).toMatchObject({ id: consumerId });
      expect(res.body).not.toContain(key.slice(8));
      // Bearer works as well, for clients that only know that header.
      expect((await self({ authorization: `Bearer ${key}` })).json().key.id).toBe(keyId);
    });

    it('answers 401 with WWW-Authenticate for a missing, malformed, unknown, revoked or expired key', async () => {
      const revoked = await h.consumerWithKey();
      await h.json('POST', `/v1/keys/${revoked.keyId}/revoke`, {}, 200);
      const expiring = await h.consumerWithKey({ expiresIn: '1m' });
      const fenced = await h.consumerWithKey({ allowedIps: ['10.0.0.0/8'] });
      h.clock.advance(60_000);
      const cases: [Record<string, string>, string | undefined][] = [
        [{}, undefined],
        [{ 'x-api-key': 'garbage' }, 'MALFORMED'],
        [
          { 'x-api-key': `${revoked.key.slice(0, 12)}${revoked.key.slice(12).split('').reverse().join('')}` },
          'MALFORMED',
        ],
        [{ 'x-api-key': revoked.key }, 'REVOKED'],
        [{ 'x-api-key': expiring.key }, 'EXPIRED'],
        [{ 'x-api-key': fenced.key }, 'IP_NOT_ALLOWED'],
      ];
      for (const [headers, verifyCode] of cases) {
        const res = await self(headers);
        expect(res.statusCode, JSON.stringify(headers)).toBe(401);
        expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="keyroll"/);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.json()).toMatchObject({ code: 'UNAUTHORIZED', ...(verifyCode ? { verifyCode } : {}) });
      }
    });

    it('stops answering once the consumer is deleted', async () => {
      const { key, consumerId } = await h.consumerWithKey();
      expect((await self({ 'x-api-key': key })).statusCode).toBe(200);
      await h.json('DELETE', `/v1/consumers/${consumerId}`, undefined, 204);
      const res = await self({ 'x-api-key': key });
      expect(res.statusCode).toBe(401);
      expect(res.json().verifyCode).toBe('REVOKED');
    });
  });
}
