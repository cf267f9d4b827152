import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

const HOUR = 3_600_000;
/** One round of the background loop (its default interval). */
const ROUND = 1_000;

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`retired and revoked keys alerted within a round on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect, { KEYROLL_WEBHOOK_ALLOW_PRIVATE: '1' });
      // 10 s into a minute: the minute-based rule would wait ~55 s for this minute to settle.
      h.clock.set(Date.UTC(2026, 4, 1, 8, 0, 10));
      await h.kr.monitoring.tick();
    });
    afterAll(() => h?.close());

    async function deliveriesOf(keyId: string): Promise<{ event_type: string; payload: string }[]> {
      const rows = await h.kr.store.db
        .selectFrom('webhook_deliveries')
        .select(['event_type', 'payload'])
        .where('event_type', '=', 'key.retired_key_used')
        .execute();
      return rows.filter((r) => JSON.parse(r.payload).data.keyId === keyId);
    }
    async function alertsOf(keyId: string): Promise<{ severity: string; data: Record<string, unknown> }[]> {
      const page = await h.json('GET', '/v1/alerts?rule=retired_key_used&limit=100', undefined, 200);
      return page.data.filter((a: { keyId: string }) => a.keyId === keyId);
    }

    it('raises the alert and queues key.retired_key_used one round after a retired key is presented', async () => {
      // Nothing listens there: the test looks at the queued delivery, not at its attempts.
      await h.json('POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/hook', events: ['key.retired_key_used'] }, 201);
      const c = await h.consumerWithKey();
      await h.json('POST', `/v1/keys/${c.keyId}/rotate`, { gracePeriod: '1h' }, 201);
      h.clock.advance(HOUR + ROUND);
      await h.kr.monitoring.tick();
      for (let i = 0; i < 5; i++) {
        expect(await h.kr.verifier.verify(c.key, { ip: '203.0.113.7' })).toMatchObject({ code: 'RETIRED' });
      }
      h.clock.advance(ROUND);
      await h.kr.monitoring.tick();
      const [alert, ...more] = await alertsOf(c.keyId);
      expect(more).toEqual([]);
      expect(alert).toMatchObject({ severity: 'warning' });
      expect(alert?.data).toMatchObject({ code: 'RETIRED', requests: 5, address: '203.0.113.7' });
      expect(await deliveriesOf(c.keyId)).toHaveLength(1);
    });

    it('raises one alert per key, not one per request or per round, and none for the settled minute after', async () => {
      const leaked = await h.consumerWithKey();
      await h.json('POST', `/v1/keys/${leaked.keyId}/revoke`, { reason: 'leaked' }, 200);
      for (let round = 0; round < 5; round++) {
        for (let i = 0; i < 3; i++) await h.kr.verifier.verify(leaked.key);
        h.clock.advance(ROUND);
        await h.kr.monitoring.tick();
      }
      h.clock.advance(2 * 60_000);
      await h.kr.monitoring.tick();
      const found = await alertsOf(leaked.keyId);
      expect(found).toHaveLength(1);
      expect(found[0]).toMatchObject({ severity: 'critical', data: { code: 'REVOKED', requests: 3 } });
      expect(await deliveriesOf(leaked.keyId)).toHaveLength(1);
    });

    it('keeps the uses of a round whose evaluation failed for the next round', async () => {
      const c = await h.consumerWithKey();
      await h.json('POST', `/v1/keys/${c.keyId}/revoke`, {}, 200);
      await h.kr.verifier.verify(c.key);
      const taken = h.kr.monitoring.sightings.take();
      expect(taken).toHaveLength(1);
      h.kr.monitoring.sightings.restore(taken);
      await h.kr.verifier.verify(c.key);
      h.clock.advance(ROUND);
      expect(await h.kr.monitoring.evaluator.tick()).toBe(1);
      expect((await alertsOf(c.keyId))[0]?.data).toMatchObject({ requests: 2 });
    });

    it('judges at most 200 keys per round, the rest on the next rounds', async () => {
      const at = h.clock.now();
      for (let i = 0; i < 250; i++) {
        const keyId = `key_synthetic${String(i).padStart(4, '0')}`;
        h.kr.monitoring.sightings.observe({
          at,
          code: 'REVOKED',
          keyId,
          consumerId: 'csm_synthetic',
          ip: undefined,
          userAgent: undefined,
          durationMs: 0,
        });
      }
      h.clock.advance(ROUND);
      expect(await h.kr.monitoring.evaluator.tick()).toBe(200);
      h.clock.advance(ROUND);
      expect(await h.kr.monitoring.evaluator.tick()).toBe(50);
      expect(h.kr.monitoring.sightings.pending).toBe(false);
    });
  });
}
