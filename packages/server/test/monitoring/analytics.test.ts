import { generateKey } from '@keyroll/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`analytics on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect);
    });
    afterAll(() => h?.close());

    async function verifyTimes(
      n: number,
      key: string,
      options: { ip?: string; userAgent?: string; scopes?: string[] } = {},
    ) {
      for (let i = 0; i < n; i++) await h.kr.verifier.verify(key, options);
    }

    it('reports usage over time per key, per consumer and overall, by code', async () => {
      h.clock.set(Date.UTC(2026, 1, 1, 10, 0));
      const a = await h.consumerWithKey();
      const a2 = await h.json('POST', '/v1/keys', { consumerId: a.consumerId, name: 'CI' }, 201);
      const b = await h.consumerWithKey();
      await verifyTimes(5, a.key);
      await verifyTimes(2, a.key, { scopes: ['trade'] });
      h.clock.advance(HOUR);
      await verifyTimes(3, a2.key);
      await verifyTimes(4, b.key);
      const from = new Date(Date.UTC(2026, 1, 1, 10, 0)).toISOString();
      const to = new Date(Date.UTC(2026, 1, 1, 12, 0)).toISOString();

      const byKey = await h.json(
        'GET',
        `/v1/analytics/usage?keyId=${a.keyId}&from=${from}&to=${to}&granularity=hour`,
        undefined,
        200,
      );
      expect(byKey).toMatchObject({ keyId: a.keyId, total: 7, codes: { VALID: 5, INSUFFICIENT_SCOPE: 2 } });
      expect(byKey.buckets).toHaveLength(2);
      expect(byKey.buckets[0]).toMatchObject({ start: from, total: 7 });

      const byConsumer = await h.json(
        'GET',
        `/v1/analytics/usage?consumerId=${a.consumerId}&from=${from}&to=${to}&granularity=hour`,
        undefined,
        200,
      );
      expect(byConsumer.total).toBe(10);
      expect(byConsumer.buckets.map((b: { total: number }) => b.total)).toEqual([7, 3]);

      const overall = await h.json(
        'GET',
        `/v1/analytics/usage?from=${from}&to=${to}&granularity=minute`,
        undefined,
        200,
      );
      expect(overall.buckets).toHaveLength(120);
      expect(overall.codes.VALID).toBeGreaterThanOrEqual(12);

      const day = await h.json('GET', `/v1/analytics/usage?consumerId=${b.consumerId}&granularity=day`, undefined, 200);
      expect(day.total).toBe(4);
      await h.json(
        'GET',
        `/v1/analytics/usage?granularity=minute&from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z`,
        undefined,
        400,
      );
      await h.json('GET', `/v1/analytics/usage?from=${to}&to=${from}`, undefined, 400);
    });

    it('reports failures by code and consumer, retired-key uses, and unknown keys by address', async () => {
      h.clock.set(Date.UTC(2026, 2, 1, 10, 0));
      const c = await h.consumerWithKey();
      const rotated = await h.json('POST', `/v1/keys/${c.keyId}/rotate`, { gracePeriod: '1h' }, 201);
      h.clock.advance(2 * HOUR);
      await verifyTimes(3, c.key, { ip: '198.51.100.7' });
      await verifyTimes(1, rotated.key, { scopes: ['admin'] });
      await verifyTimes(6, generateKey('kr_live').key, { ip: '203.0.113.9' });
      await verifyTimes(2, 'kr_live_not-a-key', { ip: '203.0.113.9' });
      await verifyTimes(1, generateKey('kr_live').key, { ip: '192.0.2.1' });

      const range = `from=${new Date(Date.UTC(2026, 2, 1)).toISOString()}&to=${new Date(Date.UTC(2026, 2, 2)).toISOString()}`;
      const failures = await h.json('GET', `/v1/analytics/failures?${range}`, undefined, 200);
      expect(failures.byCode).toEqual({ RETIRED: 3, INSUFFICIENT_SCOPE: 1 });
      expect(failures.byConsumer).toEqual([
        { consumerId: c.consumerId, total: 4, codes: { RETIRED: 3, INSUFFICIENT_SCOPE: 1 } },
      ]);
      expect(failures.retiredKeyUses).toEqual([
        {
          keyId: c.keyId,
          consumerId: c.consumerId,
          requests: 3,
          lastSeenAt: new Date(Date.UTC(2026, 2, 1, 12, 0)).toISOString(),
        },
      ]);

      const unknown = await h.json('GET', `/v1/analytics/unknown-keys?${range}`, undefined, 200);
      expect(unknown.sources).toEqual([
        { address: '203.0.113.9', total: 8, codes: { NOT_FOUND: 6, MALFORMED: 2 }, lastSeenAt: expect.any(String) },
        { address: '192.0.2.1', total: 1, codes: { NOT_FOUND: 1 }, lastSeenAt: expect.any(String) },
      ]);
    });

    it('lists keys expiring or retiring soon and keys idle for long', async () => {
      h.clock.set(Date.UTC(2026, 3, 1));
      const soon = await h.consumerWithKey({ expiresIn: '3d' });
      const later = await h.consumerWithKey({ expiresIn: '30d' });
      const rotating = await h.consumerWithKey();
      await h.json('POST', `/v1/keys/${rotating.keyId}/rotate`, { gracePeriod: '5d' }, 201);
      const expiring = await h.json('GET', '/v1/analytics/expiring?within=7d&limit=100', undefined, 200);
      const ids = expiring.data.map((k: { id: string }) => k.id);
      expect(ids).toContain(soon.keyId);
      expect(ids).toContain(rotating.keyId);
      expect(ids).not.toContain(later.keyId);
      expect(expiring.data.find((k: { id: string }) => k.id === rotating.keyId)).toMatchObject({
        endsBy: 'retirement',
      });
      expect(expiring.data.find((k: { id: string }) => k.id === soon.keyId)).toMatchObject({ endsBy: 'expiry' });
      expect(ids.indexOf(soon.keyId)).toBeLessThan(ids.indexOf(rotating.keyId));

      h.clock.advance(100 * DAY);
      const used = await h.consumerWithKey();
      h.clock.advance(DAY);
      await verifyTimes(1, later.key);
      const idle = await h.json('GET', '/v1/analytics/idle?idleFor=90d&limit=100', undefined, 200);
      const idleIds = idle.data.map((k: { id: string }) => k.id);
      expect(idleIds).not.toContain(used.keyId);
      expect(idleIds).not.toContain(soon.keyId);
      await h.json('GET', '/v1/analytics/idle?idleFor=soon', undefined, 400);
    });

    it('shows rotation traffic and the clients still on the old key', async () => {
      h.clock.set(Date.UTC(2026, 8, 1, 9, 0));
      const c = await h.consumerWithKey();
      const rotated = await h.json('POST', `/v1/keys/${c.keyId}/rotate`, { gracePeriod: '7d' }, 201);
      await verifyTimes(4, c.key, { ip: '198.51.100.1', userAgent: 'legacy-bot/1.0' });
      await verifyTimes(2, c.key, { ip: '198.51.100.2', userAgent: 'cron/2' });
      h.clock.advance(10 * MINUTE);
      await verifyTimes(6, rotated.key, { ip: '198.51.100.3', userAgent: 'app/3' });
      h.clock.advance(MINUTE);
      const traffic = await h.json('GET', `/v1/analytics/rotations/${rotated.rotation.id}`, undefined, 200);
      expect(traffic).toMatchObject({
        rotationId: rotated.rotation.id,
        granularity: 'minute',
        oldKeyRequests: 6,
        newKeyRequests: 6,
        shareOnNew: 0.5,
      });
      expect(traffic.buckets[0]).toMatchObject({ oldKey: 6, newKey: 0 });
      expect(traffic.oldKeyClients).toHaveLength(2);
      expect(traffic.oldKeyClients).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ address: '198.51.100.1', userAgent: 'legacy-bot/1.0', requests: 4 }),
          expect.objectContaining({ address: '198.51.100.2', userAgent: 'cron/2', requests: 2 }),
        ]),
      );
      await h.json('GET', '/v1/analytics/rotations/rot_nope', undefined, 404);
      const reader = await h.rootKeyWith(['keys:read']);
      expect((await h.request({ method: 'GET', url: '/v1/analytics/failures', auth: reader })).statusCode).toBe(403);
    });
  });
}
