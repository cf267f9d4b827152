import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

const DAY = 24 * 3_600_000;

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`successor claims after a self-rotation on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect, { KEYROLL_SCHEDULER_INTERVAL_MS: '0' });
      h.clock.set(Date.UTC(2026, 4, 1, 8, 0, 10));
      await h.kr.monitoring.evaluator.tick();
    });
    afterAll(() => h?.close());

    const verify = (key: string) => h.json('POST', '/v1/keys/verify', { key }, 200);
    const asConsumer = (key: string, url: string, payload?: object) =>
      h.request({ method: 'POST', url, headers: { 'x-api-key': key }, auth: null, ...(payload ? { payload } : {}) });
    const reclaimAlerts = async (consumerId: string) =>
      (await h.json('GET', '/v1/alerts?rule=successor_reclaim&limit=100', undefined, 200)).data.filter(
        (a: { consumerId: string }) => a.consumerId === consumerId,
      );
    /** A consumer whose policy revokes the lineage on a second claim: a false alarm would cost it both keys. */
    async function strictConsumer() {
      const c = await h.consumerWithKey();
      await h.json(
        'PUT',
        `/v1/rotation-policies/${c.consumerId}`,
        { every: '30d', gracePeriod: '2d', onReuse: 'revoke' },
        200,
      );
      return c;
    }

    it('a claim by the key that self-rotated is the same caller: 409 CONFLICT, no reuse alert, no revocation', async () => {
      const c = await strictConsumer();
      const rotated = await asConsumer(c.key, '/v1/self/rotate', { gracePeriod: '1h' });
      expect(rotated.statusCode).toBe(201);
      for (let i = 0; i < 2; i++) {
        const claim = await asConsumer(c.key, '/v1/self/successor');
        expect(claim.statusCode).toBe(409);
        expect(claim.json()).toMatchObject({ code: 'CONFLICT', rotationId: rotated.json().rotation.id });
      }
      h.clock.advance(1_000);
      expect(await h.kr.monitoring.evaluator.tick()).toBe(0);
      expect(await reclaimAlerts(c.consumerId)).toEqual([]);
      expect(await verify(c.key)).toMatchObject({ valid: true, deprecated: true });
      expect(await verify(rotated.json().key)).toMatchObject({ valid: true });
    });

    it('a claim made with the successor the self-rotation returned is no reuse either', async () => {
      const c = await strictConsumer();
      const rotated = await asConsumer(c.key, '/v1/self/rotate', { gracePeriod: '1h' });
      const claim = await asConsumer(rotated.json().key, '/v1/self/successor');
      expect(claim.statusCode).toBe(404);
      h.clock.advance(1_000);
      await h.kr.monitoring.evaluator.tick();
      expect(await reclaimAlerts(c.consumerId)).toEqual([]);
      expect(await verify(rotated.json().key)).toMatchObject({ valid: true });
    });

    it('a second claimant of a server-initiated successor is still a critical reuse', async () => {
      const c = await strictConsumer();
      h.clock.advance(30 * DAY);
      await h.kr.scheduler.tick();
      expect((await asConsumer(c.key, '/v1/self/successor')).statusCode).toBe(201);
      const second = await asConsumer(c.key, '/v1/self/successor');
      expect(second.json()).toMatchObject({ code: 'SUCCESSOR_ALREADY_CLAIMED', revoked: true });
      h.clock.advance(1_000);
      expect(await h.kr.monitoring.evaluator.tick()).toBeGreaterThanOrEqual(1);
      expect(await reclaimAlerts(c.consumerId)).toMatchObject([{ severity: 'critical' }]);
    });
  });
}
