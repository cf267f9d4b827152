import { generateKey } from '@keyroll/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { startReceiver } from '../webhooks/receiver.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`alert rules on ${dialect.name}`, () => {
    let h: Harness;
    /** A consumer with steady traffic, whose baseline the failure-rate scenario builds on. */
    let steady: { consumerId: string; key: string } | undefined;
    beforeAll(async () => {
      h = await createHarness(dialect, { KEYROLL_WEBHOOK_ALLOW_PRIVATE: '1' });
      // Start each scenario 10 s into a minute; a minute is judged once it has settled.
      h.clock.set(Date.UTC(2026, 4, 1, 8, 0, 10));
      await h.kr.monitoring.evaluator.tick();
    });
    afterAll(() => h?.close());

    async function verifyTimes(n: number, key: string, options: { ip?: string; scopes?: string[] } = {}) {
      for (let i = 0; i < n; i++) await h.kr.verifier.verify(key, options);
    }
    /** Ends the current minute and evaluates it; returns the alerts raised. */
    async function nextMinute(): Promise<number> {
      h.clock.advance(MINUTE);
      return h.kr.monitoring.evaluator.tick();
    }
    async function alerts(query = ''): Promise<
      {
        id: string;
        rule: string;
        consumerId: string | null;
        keyId: string | null;
        data: Record<string, unknown>;
        severity: string;
      }[]
    > {
      return (await h.json('GET', `/v1/alerts?limit=100${query}`, undefined, 200)).data;
    }

    it('stays silent on normal traffic and on low-volume failures', async () => {
      steady = await h.consumerWithKey({ scopes: ['read'] });
      const tiny = await h.consumerWithKey({ scopes: ['read'] });
      const other = await h.consumerWithKey();
      for (let m = 0; m < 12; m++) {
        await verifyTimes(40, steady.key, { ip: '198.51.100.10', scopes: ['read'] });
        await verifyTimes(m % 3, steady.key, { ip: '198.51.100.10', scopes: ['trade'] });
        await verifyTimes(4, tiny.key, { scopes: ['trade'] });
        await verifyTimes(3, generateKey('kr_live').key, { ip: '198.51.100.11' });
        await verifyTimes(10, other.key);
        expect(await nextMinute()).toBe(0);
      }
      expect(await alerts()).toEqual([]);
    });

    it('raises failure_rate when a consumer jumps above its own baseline', async () => {
      if (!steady) throw new Error('previous scenario did not run');
      await verifyTimes(30, steady.key, { scopes: ['read'] });
      await verifyTimes(20, steady.key, { scopes: ['trade'] });
      expect(await nextMinute()).toBe(1);
      const [alert] = await alerts('&rule=failure_rate');
      expect(alert).toMatchObject({ rule: 'failure_rate', consumerId: steady.consumerId, severity: 'warning' });
      expect(alert?.data).toMatchObject({ requests: 50, failed: 20, rate: 0.4 });
      // The same spike a minute later is within the cooldown.
      await verifyTimes(30, steady.key, { scopes: ['read'] });
      await verifyTimes(20, steady.key, { scopes: ['trade'] });
      expect(await nextMinute()).toBe(0);
    });

    it('raises unknown_key_burst for one address guessing keys, not for a few mistakes elsewhere', async () => {
      await verifyTimes(15, generateKey('kr_live').key, { ip: '203.0.113.50' });
      await verifyTimes(10, 'kr_live_guess', { ip: '203.0.113.50' });
      await verifyTimes(5, generateKey('kr_live').key, { ip: '203.0.113.51' });
      expect(await nextMinute()).toBe(1);
      const [alert] = await alerts('&rule=unknown_key_burst');
      expect(alert?.data).toMatchObject({ address: '203.0.113.50', attempts: 25 });
    });

    it('raises retired_key_used for a retired or revoked key in use, sent as key.retired_key_used and alert.raised', async () => {
      const rx = await startReceiver();
      const hook = await h.json(
        'POST',
        '/v1/webhooks',
        { url: rx.url, events: ['key.retired_key_used', 'alert.raised'] },
        201,
      );
      const c = await h.consumerWithKey();
      await h.json('POST', `/v1/keys/${c.keyId}/rotate`, { gracePeriod: '1h' }, 201);
      const leaked = await h.consumerWithKey();
      await h.json('POST', `/v1/keys/${leaked.keyId}/revoke`, { reason: 'leaked' }, 200);
      h.clock.advance(HOUR);
      expect(await h.kr.monitoring.evaluator.tick()).toBe(0);
      await verifyTimes(2, c.key);
      await verifyTimes(1, leaked.key);
      expect(await nextMinute()).toBe(2);
      const found = await alerts('&rule=retired_key_used');
      expect(found.map((a) => [a.keyId, a.severity, a.data.code])).toEqual(
        expect.arrayContaining([
          [c.keyId, 'warning', 'RETIRED'],
          [leaked.keyId, 'critical', 'REVOKED'],
        ]),
      );
      await h.kr.monitoring.dispatcher.tick();
      await h.kr.monitoring.deliveries.tick();
      const got = await rx.waitFor(4);
      const types = got.map((r) => JSON.parse(r.body) as { type: string; data: { keyId: string; consumerId: string } });
      expect(
        types
          .filter((e) => e.type === 'key.retired_key_used')
          .map((e) => e.data.keyId)
          .sort(),
      ).toEqual([c.keyId, leaked.keyId].sort());
      expect(types.find((e) => e.data.keyId === c.keyId)?.data.consumerId).toBe(c.consumerId);
      await verifyTimes(1, c.key);
      expect(await nextMinute()).toBe(0);
      await h.json('DELETE', `/v1/webhooks/${hook.id}`, undefined, 204);
      await rx.close();
    });

    it('raises rotation_deadline when a rotation nears its deadline with traffic on the old key', async () => {
      const busy = await h.consumerWithKey();
      const moved = await h.consumerWithKey();
      const rotation = await h.json('POST', `/v1/keys/${busy.keyId}/rotate`, { gracePeriod: '30h' }, 201);
      const movedRotation = await h.json('POST', `/v1/keys/${moved.keyId}/rotate`, { gracePeriod: '30h' }, 201);
      await verifyTimes(5, busy.key);
      expect(await nextMinute()).toBe(0);
      h.clock.advance(7 * HOUR);
      await verifyTimes(5, busy.key);
      await verifyTimes(5, movedRotation.key);
      expect(await nextMinute()).toBe(1);
      const [alert] = await alerts('&rule=rotation_deadline');
      expect(alert).toMatchObject({ keyId: busy.keyId, consumerId: busy.consumerId });
      expect(alert?.data).toMatchObject({
        rotationId: rotation.rotation.id,
        newKeyId: rotation.newKeyId,
        requestsLastHour: 5,
      });
      await verifyTimes(5, busy.key);
      expect(await nextMinute()).toBe(0);
    });

    it('raises successor_reclaim on a second claim of a successor', async () => {
      const c = await h.consumerWithKey();
      expect(await nextMinute()).toBe(0);
      await h.kr.store.mutate((tx) =>
        tx.audit({
          at: h.clock.now(),
          actor: 'consumer:key_x',
          action: 'successor.reclaim_attempted',
          targetType: 'rotation',
          targetId: 'rot_synthetic',
          data: { consumerId: c.consumerId, oldKeyId: c.keyId, newKeyId: 'key_new', onReuse: 'reject' },
        }),
      );
      expect(await h.kr.monitoring.evaluator.tick()).toBe(1);
      expect(await h.kr.monitoring.evaluator.tick()).toBe(0);
      const [alert] = await alerts('&rule=successor_reclaim');
      expect(alert).toMatchObject({ severity: 'critical', consumerId: c.consumerId, keyId: c.keyId });
      expect(alert?.data).toMatchObject({ rotationId: 'rot_synthetic' });
    });

    it('stores, audits, counts and acknowledges alerts', async () => {
      const all = await alerts();
      expect(all.length).toBe(6);
      const audit = await h.json('GET', '/v1/audit?action=alert.raised&limit=100', undefined, 200);
      expect(audit.data).toHaveLength(6);
      expect(audit.data.every((e: { data: Record<string, unknown> }) => 'consumerId' in e.data)).toBe(true);
      const first = all[0];
      if (!first) throw new Error('no alert');
      const acked = await h.json('POST', `/v1/alerts/${first.id}/acknowledge`, undefined, 200);
      expect(acked.acknowledgedAt).not.toBeNull();
      expect((await alerts('&acknowledged=false')).map((a) => a.id)).not.toContain(first.id);
      const reader = await h.rootKeyWith(['alerts:read']);
      expect(
        (await h.request({ method: 'POST', url: `/v1/alerts/${first.id}/acknowledge`, auth: reader })).statusCode,
      ).toBe(403);
      const metrics = (await h.request({ method: 'GET', url: '/metrics', auth: null })).body;
      expect(metrics).toMatch(/keyroll_alerts_raised_total\{rule="retired_key_used"\} 2/);
      expect(metrics).toMatch(/keyroll_alerts_raised_total\{rule="failure_rate"\} 1/);
      await h.json('GET', '/v1/alerts/alr_nope', undefined, 404);
    });
  });
}
