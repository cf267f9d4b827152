import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`GET /v1/rotations/:id traffic on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect);
    });
    afterAll(() => h?.close());

    it('shows old vs new key traffic and the clients still presenting the old key', async () => {
      const c = await h.consumerWithKey();
      const rotated = await h.json('POST', `/v1/keys/${c.keyId}/rotate`, { gracePeriod: '1h' }, 201);
      for (let i = 0; i < 3; i++)
        await h.json('POST', '/v1/keys/verify', { key: c.key, ip: '203.0.113.9', userAgent: 'bot/1.0' }, 200);
      await h.json('POST', '/v1/keys/verify', { key: rotated.key, ip: '198.51.100.4' }, 200);

      const rotation = await h.json('GET', `/v1/rotations/${rotated.rotation.id}`, undefined, 200);
      expect(rotation.traffic).toMatchObject({ oldKeyRequests: 3, newKeyRequests: 1, shareOnNew: 0.25 });
      expect(rotation.traffic.buckets.reduce((n: number, b: { oldKey: number }) => n + b.oldKey, 0)).toBe(3);
      expect(rotation.traffic.oldKeyClients).toMatchObject([
        { address: '203.0.113.9', userAgent: 'bot/1.0', requests: 3 },
      ]);
    });

    it("counts traffic from the rotation's start, not from the start of its minute", async () => {
      h.clock.set(Date.UTC(2026, 4, 1, 8, 0, 10));
      await h.kr.monitoring.tick();
      const c = await h.consumerWithKey();
      // Same minute, before the rotation: none of this is progress.
      for (let i = 0; i < 4; i++) await h.kr.verifier.verify(c.key);
      h.clock.advance(5_000);
      const rotated = await h.json('POST', `/v1/keys/${c.keyId}/rotate`, { gracePeriod: '1h' }, 201);
      for (let i = 0; i < 3; i++) await h.kr.verifier.verify(c.key);
      await h.kr.verifier.verify(rotated.key);
      h.clock.advance(1_000);
      await h.kr.monitoring.tick();
      const rotation = await h.json('GET', `/v1/rotations/${rotated.rotation.id}`, undefined, 200);
      const expected = { oldKeyRequests: 3, newKeyRequests: 1, shareOnNew: 0.25 };
      expect(rotation.progress).toMatchObject(expected);
      expect(rotation.traffic).toMatchObject(expected);
      expect(rotation.traffic.buckets[0]).toMatchObject({ oldKey: 3, newKey: 1 });
      const hourly = await h.json(
        'GET',
        `/v1/analytics/rotations/${rotated.rotation.id}?granularity=hour`,
        undefined,
        200,
      );
      expect(hourly).toMatchObject(expected);
      // Later minutes count in full.
      h.clock.advance(60_000);
      await h.kr.verifier.verify(c.key);
      await h.kr.monitoring.tick();
      const later = await h.json('GET', `/v1/rotations/${rotated.rotation.id}`, undefined, 200);
      expect(later.progress).toMatchObject({ oldKeyRequests: 4, newKeyRequests: 1 });
    });
  });
}
