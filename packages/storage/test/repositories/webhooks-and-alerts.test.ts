import {
  acknowledgeAlert,
  claimDueDeliveries,
  countOpenDeliveries,
  deleteWebhook,
  findAlert,
  findDelivery,
  findLiveWebhook,
  hasDueDelivery,
  insertWebhook,
  latestAlertRaisedAt,
  listAlerts,
  listAuditEvents,
  listEnabledWebhooks,
  queueDelivery,
  raiseAlert,
  recordDeliveryAttempt,
  updateWebhook,
  type WebhookRecord,
} from '@keyroll/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, type TestDatabase } from '../../../../test/support/databases.js';

const hook: WebhookRecord = {
  id: 'wh_1',
  url: 'https://example.test/hook',
  events: ['key.*', 'rotation.started'],
  consumerId: null,
  description: null,
  enabled: true,
  secret: 'whsec_a',
  previousSecret: null,
  previousSecretUntil: null,
  sinceSeq: 0,
  createdAt: 1,
  updatedAt: 1,
  deletedAt: null,
};

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`webhook and alert repositories on ${dialect.name}`, () => {
    let t: TestDatabase;
    beforeAll(async () => {
      t = await dialect.create();
    });
    afterAll(() => t?.drop());

    it('stores a subscription with its event filter and applies partial changes', async () => {
      await insertWebhook(t.store.db, hook);
      expect(await findLiveWebhook(t.store.db, 'wh_1')).toEqual(hook);
      await updateWebhook(t.store.db, 'wh_1', {
        enabled: false,
        previousSecret: 'whsec_a',
        secret: 'whsec_b',
        updatedAt: 2,
      });
      const changed = { ...hook, enabled: false, previousSecret: 'whsec_a', secret: 'whsec_b', updatedAt: 2 };
      expect(await findLiveWebhook(t.store.db, 'wh_1')).toEqual(changed);
      expect(await listEnabledWebhooks(t.store.db)).toEqual([]);
      await updateWebhook(t.store.db, 'wh_1', { enabled: true, updatedAt: 3 });
      expect((await listEnabledWebhooks(t.store.db)).map((h) => h.id)).toEqual(['wh_1']);
    });

    it('queues a delivery once per event and type, claims it for a lease and records attempts', async () => {
      const payload = { type: 'key.created', data: { keyId: 'k1', note: 'é ✓' } };
      const queued = { webhookId: 'wh_1', eventSeq: 1, eventType: 'key.created', payload, at: 100 };
      await queueDelivery(t.store.db, { ...queued, id: 'dl_1' });
      await queueDelivery(t.store.db, { ...queued, id: 'dl_2' });
      expect(await countOpenDeliveries(t.store.db)).toBe(1);
      expect(await hasDueDelivery(t.store.db, 99)).toBe(false);
      const claimed = await t.store.mutate((tx) => claimDueDeliveries(tx.db, 100, 500, 10));
      expect(claimed).toEqual([
        {
          id: 'dl_1',
          webhookId: 'wh_1',
          attempts: 0,
          body: JSON.stringify(payload),
          url: hook.url,
          secret: 'whsec_b',
          previousSecret: 'whsec_a',
          previousSecretUntil: null,
        },
      ]);
      expect(await hasDueDelivery(t.store.db, 499)).toBe(false);
      await recordDeliveryAttempt(t.store.db, 'dl_1', {
        status: 'retrying',
        attempts: 1,
        lastAttemptAt: 110,
        responseStatus: 503,
        lastError: 'HTTP 503',
        deliveredAt: null,
        nextAttemptAt: 200,
      });
      expect(await findDelivery(t.store.db, 'wh_1', 'dl_1')).toMatchObject({
        payload,
        status: 'retrying',
        attempts: 1,
        nextAttemptAt: 200,
        responseStatus: 503,
      });
      await deleteWebhook(t.store.db, 'wh_1', 300);
      expect(await findLiveWebhook(t.store.db, 'wh_1')).toBeUndefined();
      expect(await findDelivery(t.store.db, 'wh_1', 'dl_1')).toMatchObject({ status: 'dead', nextAttemptAt: null });
      expect(await countOpenDeliveries(t.store.db)).toBe(0);
    });

    it('stores alerts with their data, finds the latest of a rule and subject, and acknowledges', async () => {
      const alert = (id: string, raisedAt: number) => ({
        id,
        rule: 'unknown_key_burst',
        severity: 'warning',
        subject: '10.0.0.1',
        consumerId: null,
        keyId: null,
        message: 'burst',
        data: { attempts: 30, minute: '1970-01-01T00:00:00.000Z' },
        raisedAt,
        acknowledgedAt: null,
        acknowledgedBy: null,
      });
      const raise = ({ raisedAt, acknowledgedAt, acknowledgedBy, ...a }: ReturnType<typeof alert>) =>
        t.store.mutate((tx) => raiseAlert(tx, a, { at: raisedAt, actor: 'system:alerts' }));
      expect(await raise(alert('al_1', 10))).toEqual(alert('al_1', 10));
      await raise(alert('al_2', 20));
      expect(await latestAlertRaisedAt(t.store.db, 'unknown_key_burst', '10.0.0.1', 0)).toBe(20);
      expect(await latestAlertRaisedAt(t.store.db, 'unknown_key_burst', '10.0.0.1', 21)).toBeUndefined();
      expect(await latestAlertRaisedAt(t.store.db, 'failure_rate', '10.0.0.1', 0)).toBeUndefined();
      await acknowledgeAlert(t.store.db, 'al_1', 30, 'root:key_1');
      const open = await listAlerts(t.store.db, { acknowledged: false }, {});
      expect(open.data).toEqual([alert('al_2', 20)]);
      const seen = await listAlerts(t.store.db, { acknowledged: true }, {});
      expect(seen.data).toEqual([{ ...alert('al_1', 10), acknowledgedAt: 30, acknowledgedBy: 'root:key_1' }]);
    });

    it('raising an alert appends exactly one alert.raised audit event for it, in the same transaction', async () => {
      const raised = await t.store.mutate((tx) =>
        raiseAlert(
          tx,
          {
            id: 'al_audited',
            rule: 'key_leaked',
            severity: 'critical',
            subject: 'inc_1',
            consumerId: 'con_1',
            keyId: 'key_1',
            message: 'key key_1 leaked',
            data: { incidentId: 'inc_1', source: 'github' },
          },
          { at: 40, actor: 'system:alerts' },
        ),
      );
      expect(raised).toMatchObject({ id: 'al_audited', raisedAt: 40, acknowledgedAt: null, acknowledgedBy: null });
      const events = await listAuditEvents(t.store.db, { targetId: 'al_audited', limit: 10 });
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        at: 40,
        actor: 'system:alerts',
        action: 'alert.raised',
        targetType: 'alert',
        targetId: 'al_audited',
        data: {
          consumerId: 'con_1',
          keyId: 'key_1',
          rule: 'key_leaked',
          severity: 'critical',
          message: 'key key_1 leaked',
          incidentId: 'inc_1',
          source: 'github',
        },
      });
      // Every stored alert has its one event: the alert and its audit are written together or not at all.
      const alerts = (await listAlerts(t.store.db, {}, { limit: 100 })).data;
      const audited = await listAuditEvents(t.store.db, { action: 'alert.raised', limit: 100 });
      expect(audited.map((e) => e.targetId).sort()).toEqual(alerts.map((a) => a.id).sort());
      await expect(
        t.store.mutate(async (tx) => {
          await raiseAlert(tx, { ...raised, id: 'al_rolled_back' }, { at: 50, actor: 'system:alerts' });
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect(await findAlert(t.store.db, 'al_rolled_back')).toBeUndefined();
      expect(await listAuditEvents(t.store.db, { targetId: 'al_rolled_back', limit: 10 })).toEqual([]);
    });
  });
}
