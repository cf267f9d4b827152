import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`lone UTF-16 surrogates on ${dialect.name}`, () => {
    let h: Harness;
    let consumerId: string;
    let keyId: string;
    beforeAll(async () => {
      h = await createHarness(dialect);
      ({ consumerId, keyId } = await h.consumerWithKey());
    });
    afterAll(() => h?.close());

    it('answers a lone surrogate in any string field with 400 INVALID_UNICODE, storing nothing', async () => {
      const cases: [method: 'POST' | 'PATCH', url: string, payload: Record<string, unknown>][] = [
        ['POST', '/v1/consumers', { name: 'a\ud800b' }],
        ['POST', '/v1/consumers', { name: 'trailing high \udbff' }],
        ['POST', '/v1/consumers', { name: '\udc00 leading low' }],
        ['POST', '/v1/consumers', { name: 'a', externalId: 'x\udfff' }],
        ['POST', '/v1/consumers', { name: 'a', metadata: { 'k\ud83d': 'v' } }],
        ['POST', '/v1/consumers', { name: 'a', metadata: { k: ['v', { deep: '\ude00' }] } }],
        ['PATCH', `/v1/consumers/${consumerId}`, { name: 'n\ud800' }],
        ['POST', '/v1/keys', { consumerId, name: '\ud800' }],
        ['POST', '/v1/keys', { consumerId, name: 'ok', metadata: { note: 'half \ud83d of an emoji' } }],
        ['PATCH', `/v1/keys/${keyId}`, { name: 'n\udc00' }],
        ['POST', `/v1/keys/${keyId}/revoke`, { reason: '\ud800' }],
        ['POST', '/v1/keys/verify', { key: 'kr_live_\ud800' }],
      ];
      const consumersBefore = (await h.json('GET', '/v1/consumers?limit=100', undefined, 200)).data.length;
      for (const [method, url, payload] of cases) {
        const res = await h.request({ method, url, payload });
        const what = `${method} ${url} ${JSON.stringify(payload)}`;
        expect(res.statusCode, what).toBe(400);
        expect(res.headers['content-type'], what).toMatch(/^application\/problem\+json/);
        expect(res.json(), what).toMatchObject({ code: 'INVALID_UNICODE', status: 400 });
        expect(res.json().detail, what).toMatch(/lone UTF-16 surrogate/);
      }
      expect((await h.json('GET', '/v1/consumers?limit=100', undefined, 200)).data).toHaveLength(consumersBefore);
      expect(await h.json('GET', `/v1/keys/${keyId}`, undefined, 200)).toMatchObject({ status: 'active' });
    });

    it('answers a raw JSON escape of a lone surrogate the same way', async () => {
      const res = await h.request({
        method: 'POST',
        url: '/v1/consumers',
        headers: { 'content-type': 'application/json' },
        payload: '{"name":"raw \\ud800 escape"}',
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('INVALID_UNICODE');
    });

    it('accepts well-formed text outside the BMP (surrogate pairs)', async () => {
      const name = 'rocket 🚀 team 𝄞';
      const created = await h.json('POST', '/v1/consumers', { name, metadata: { '😀': '𝄞' } }, 201);
      expect(created.name).toBe(name);
      const read = await h.json('GET', `/v1/consumers/${created.id}`, undefined, 200);
      expect(read).toMatchObject({ name, metadata: { '😀': '𝄞' } });
    });
  });
}
