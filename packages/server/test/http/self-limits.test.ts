import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

const MINUTE = 60_000;

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`self-service limits on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect, {
        KEYROLL_SCHEDULER_INTERVAL_MS: '0',
        KEYROLL_SELF_SERVICE_RATE_LIMIT: '3',
        KEYROLL_SELF_ROTATIONS_PER_DAY: '2',
      });
    });
    afterAll(() => h?.close());

    const self = (key: string) =>
      h.request({ method: 'GET', url: '/v1/self', headers: { 'x-api-key': key }, auth: null });
    const rotate = (key: string) =>
      h.request({
        method: 'POST',
        url: '/v1/self/rotate',
        headers: { 'x-api-key': key },
        payload: { gracePeriod: 0 },
        auth: null,
      });

    it('root keys are refused by self-service (403)', async () => {
      expect((await self(h.rootKey)).statusCode).toBe(403);
      expect((await rotate(h.rootKey)).statusCode).toBe(403);
    });

    it('rate limits self-service per consumer: 429 RATE_LIMITED with Retry-After, reset next minute', async () => {
      const c = await h.consumerWithKey();
      for (let i = 0; i < 3; i++) expect((await self(c.key)).statusCode).toBe(200);
      const refused = await self(c.key);
      expect(refused.statusCode).toBe(429);
      expect(refused.headers['content-type']).toContain('application/problem+json');
      expect(refused.json().code).toBe('RATE_LIMITED');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      const other = await h.consumerWithKey();
      expect((await self(other.key)).statusCode).toBe(200);
      h.clock.advance(MINUTE);
      expect((await self(c.key)).statusCode).toBe(200);
    });

    it('caps self-rotations per consumer per day, completed ones included (counted in the database)', async () => {
      const c = await h.consumerWithKey();
      let key = c.key;
      for (let i = 0; i < 2; i++) {
        const r = await rotate(key);
        expect(r.statusCode).toBe(201);
        key = r.json().key;
      }
      const refused = await rotate(key);
      expect(refused.statusCode).toBe(429);
      expect(refused.json().code).toBe('ROTATION_LIMIT_REACHED');
      expect(Number(refused.headers['retry-after'])).toBe(24 * 3600);
      h.clock.advance(24 * 3_600_000);
      expect((await rotate(key)).statusCode).toBe(201);
    });
  });
}
