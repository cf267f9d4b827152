import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`rotation and the active-key limit on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect, { KEYROLL_SCHEDULER_INTERVAL_MS: '0', KEYROLL_MAX_ACTIVE_KEYS: '1' });
    });
    afterAll(() => h?.close());

    it('a successor replaces its predecessor, so the limit never blocks a rotation, a claim or a rollback', async () => {
      const c = await h.consumerWithKey();
      const blocked = await h.request({ method: 'POST', url: '/v1/keys', payload: { consumerId: c.consumerId } });
      expect(blocked.json().code).toBe('KEY_LIMIT_REACHED');
      const res = await h.json('POST', `/v1/keys/${c.keyId}/rotate`, { gracePeriod: '1d' }, 201);
      await h.json('POST', `/v1/rotations/${res.rotation.id}/rollback`, undefined, 200);
      const again = await h.json('POST', `/v1/keys/${c.keyId}/rotate`, { gracePeriod: '1d' }, 201);
      const next = await h.request({
        method: 'POST',
        url: '/v1/self/rotate',
        headers: { 'x-api-key': again.key },
        auth: null,
      });
      expect(next.statusCode).toBe(201);
      await h.json('POST', `/v1/consumers/${c.consumerId}/rollover`, { gracePeriod: 0 }, 201);
    });
  });
}
