import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

const DAY = 86_400_000;

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`key.expiring notices on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect, { KEYROLL_WEBHOOK_ALLOW_PRIVATE: '1', KEYROLL_KEY_EXPIRING_NOTICE: '7d' });
    });
    afterAll(() => h?.close());

    it('announces a key once when it enters the notice window, and again when its expiry moves', async () => {
      const hook = await h.json('POST', '/v1/webhooks', { url: 'http://127.0.0.1:9/', events: ['key.expiring'] }, 201);
      const { keyId, consumerId } = await h.consumerWithKey({ expiresIn: '10d' });
      const expiry = h.kr.monitoring.expiry;
      expect(await expiry.tick()).toBe(0);
      h.clock.advance(4 * DAY);
      expect(await expiry.tick()).toBe(1);
      expect(await expiry.tick()).toBe(0);
      const later = new Date(h.clock.now() + 30 * DAY).toISOString();
      await h.json('PATCH', `/v1/keys/${keyId}`, { expiresAt: later }, 200);
      expect(await expiry.tick()).toBe(0);
      h.clock.advance(25 * DAY);
      expect(await expiry.tick()).toBe(1);

      const events = await h.json('GET', `/v1/audit?action=key.expiring&targetId=${keyId}`, undefined, 200);
      expect(events.data).toHaveLength(2);
      expect(events.data[1].data).toMatchObject({ consumerId, expiresAt: later });
      await h.kr.monitoring.dispatcher.tick();
      const deliveries = await h.json('GET', `/v1/webhooks/${hook.id}/deliveries`, undefined, 200);
      expect(deliveries.data.map((d: { eventType: string }) => d.eventType)).toEqual(['key.expiring', 'key.expiring']);
      expect(deliveries.data[0].payload).toMatchObject({ type: 'key.expiring', data: { keyId, consumerId } });
    });
  });
}
