import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`costs in POST /v1/keys/verify on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect);
    });
    afterAll(() => h?.close());

    it('refuses a cost outside [0, 1,000,000] with a 400 naming it, and counts nothing', async () => {
      const c = await h.consumerWithKey({ quota: { limit: 10, period: 'day' } });
      for (const cost of [-1_000_000, -1, 1.5, 1_000_001, 2 ** 53, '5', null]) {
        const res = await h.json('POST', '/v1/keys/verify', { key: c.key, cost }, 400);
        expect(res).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
        expect(res.detail).toContain('cost');
      }
      expect(await h.json('POST', '/v1/keys/verify', { key: c.key, cost: 10 }, 200)).toMatchObject({
        valid: true,
        quota: { limit: 10, remaining: 0 },
      });
    });

    it('takes no verifier option the body does not name', async () => {
      const c = await h.consumerWithKey({ rateLimit: { limit: 1, window: '1h' } });
      await h.json('POST', '/v1/keys/verify', { key: c.key }, 200);
      const res = await h.json('POST', '/v1/keys/verify', { key: c.key, skipLimits: true }, 400);
      expect(res.code).toBe('VALIDATION_FAILED');
      expect(await h.json('POST', '/v1/keys/verify', { key: c.key }, 200)).toMatchObject({ code: 'RATE_LIMITED' });
    });
  });
}
