import { queueDelivery } from '@keyroll/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { assertBuilt, cli, cliJson } from './run-cli.js';

beforeAll(assertBuilt);

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`keyroll plans, webhooks, policies and alerts on ${dialect.name}`, () => {
    let h: Harness;
    let env: Record<string, string>;
    beforeAll(async () => {
      h = await createHarness(dialect, { KEYROLL_WEBHOOK_ALLOW_PRIVATE: '1' });
      env = { KEYROLL_URL: await h.kr.app.listen({ host: '127.0.0.1', port: 0 }), KEYROLL_ROOT_KEY: h.rootKey };
    });
    afterAll(() => h?.close());

    it('search: consumers and keys by name, external id, hint or id', async () => {
      const consumer = await h.json('POST', '/v1/consumers', { name: 'Initech 100%', externalId: 'INI-42' }, 201);
      const key = await h.json('POST', '/v1/keys', { consumerId: consumer.id, name: 'Mainframe' }, 201);
      const found = await cliJson(['search', 'ini-42'], env);
      expect(found.consumers.data.map((c: { id: string }) => c.id)).toEqual([consumer.id]);
      expect(found.keys.data.map((k: { id: string }) => k.id)).toEqual([key.id]);
      const byHint = await cliJson(['search', key.key.slice(-4)], env);
      expect(byHint.keys.data.map((k: { id: string }) => k.id)).toContain(key.id);
      expect((await cliJson(['search', '0%'], env)).consumers.data).toHaveLength(1);
      const human = await cli(['search', 'mainframe'], env);
      expect(human.stdout).toMatch(/^Consumers \(0\)\n\(none\)\n\nKeys \(1\)/);
      expect(human.stdout).toContain(key.id);
    });

    it('plans: create, list, get, update, delete', async () => {
      const plan = await cliJson(
        ['plans', 'create', '--name', 'free', '--rate-limit', '60/1m', '--quota', '5000/month'],
        env,
      );
      expect(plan).toMatchObject({ name: 'free', rateLimit: { limit: 60 }, quota: { limit: 5000, period: 'month' } });
      expect(await h.json('GET', `/v1/plans/${plan.id}`, undefined, 200)).toEqual(plan);
      expect((await cliJson(['plans', 'list'], env)).data.map((p: { id: string }) => p.id)).toEqual([plan.id]);
      const human = await cli(['plans', 'list'], env);
      expect(human.stdout).toMatch(/^id\s+name\s+rateLimit/);
      expect(human.stdout).toContain('free');

      const refilling = await cliJson(['plans', 'update', plan.id, '--quota', '1000+100/day'], env);
      expect(refilling.quota).toEqual({ limit: 1000, refill: { amount: 100, every: 'day' } });
      const both = await cliJson(['plans', 'update', plan.id, '--quota', '1000/month+50/1h'], env);
      expect(both.quota).toEqual({ limit: 1000, period: 'month', refill: { amount: 50, every: '1h' } });
      expect((await cli(['plans', 'update', plan.id, '--quota', '1000'], env)).code).toBe(1);

      const updated = await cliJson(['plans', 'update', plan.id, '--quota', 'none', '--name', 'gratis'], env);
      expect(updated).toMatchObject({ name: 'gratis', quota: null, rateLimit: { limit: 60 } });
      expect(await cliJson(['plans', 'get', plan.id], env)).toEqual(updated);
      expect(await cliJson(['plans', 'delete', plan.id], env)).toEqual({ id: plan.id, deleted: true });
      expect((await h.request({ method: 'GET', url: `/v1/plans/${plan.id}` })).statusCode).toBe(404);

      const bad = await cli(['plans', 'create', '--name', 'x', '--rate-limit', 'lots'], env);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain('--rate-limit');
    });

    it('webhooks: create, list, get, deliveries, redeliver, delete', async () => {
      const consumer = await h.json('POST', '/v1/consumers', { name: 'hooked' }, 201);
      const hook = await cliJson(
        ['webhooks', 'create', '--endpoint', 'http://127.0.0.1:9/keyroll', '--events', 'key.*,rotation.started'],
        env,
      );
      expect(hook).toMatchObject({ url: 'http://127.0.0.1:9/keyroll', events: ['key.*', 'rotation.started'] });
      expect(hook.secret).toMatch(/^whsec_/);
      const listed = await cliJson(['webhooks', 'list'], env);
      expect(listed.data.map((w: { id: string }) => w.id)).toEqual([hook.id]);
      expect(JSON.stringify(listed)).not.toContain(hook.secret);
      expect((await cliJson(['webhooks', 'get', hook.id], env)).id).toBe(hook.id);

      await h.json('POST', '/v1/keys', { consumerId: consumer.id }, 201);
      const deliveries = await cliJson(['webhooks', 'deliveries', hook.id, '--status', 'pending'], env);
      expect(deliveries).toEqual(
        await h.json('GET', `/v1/webhooks/${hook.id}/deliveries?status=pending&limit=100`, undefined, 200),
      );
      const human = await cli(['webhooks', 'deliveries', hook.id], env);
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(/^(id\s+eventType\s+status|\(none\))/);

      const payload = { type: 'key.created', data: { keyId: 'key_cli' } };
      const queued = { id: 'dl_cli', webhookId: hook.id, eventSeq: 1, eventType: 'key.created', payload };
      await queueDelivery(h.db.store.db, { ...queued, at: h.clock.now() });
      const redelivered = await cliJson(['webhooks', 'redeliver', hook.id, 'dl_cli'], env);
      expect(redelivered).toMatchObject({ id: 'dl_cli', status: 'pending', attempts: 0 });
      const again = await cli(['webhooks', 'redeliver', hook.id, 'dl_cli'], env);
      expect(again).toMatchObject({ code: 0, stdout: 'delivery dl_cli is pending\n' });

      expect(await cliJson(['webhooks', 'delete', hook.id], env)).toEqual({ id: hook.id, deleted: true });
      const gone = await cli(['webhooks', 'deliveries', hook.id, '--json'], env);
      expect(gone.code).toBe(1);
      expect(JSON.parse(gone.stdout).error).toMatchObject({ code: 'NOT_FOUND', status: 404 });
    });

    it('policies: set, get, list, delete', async () => {
      const set = await cliJson(
        ['policies', 'set', 'default', '--every', '90d', '--grace', '7d', '--on-reuse', 'revoke'],
        env,
      );
      expect(set).toMatchObject({ target: 'default', onReuse: 'revoke' });
      expect(await cliJson(['policies', 'get', 'default'], env)).toEqual(set);
      expect((await cliJson(['policies', 'list'], env)).data).toEqual([set]);
      expect(await cliJson(['policies', 'delete', 'default'], env)).toEqual({ target: 'default', deleted: true });
      expect((await cliJson(['policies', 'list'], env)).data).toEqual([]);
    });

    it('alerts: list open ones, get, ack', async () => {
      h.clock.set(Date.UTC(2026, 4, 1, 8, 0, 10));
      await h.kr.monitoring.evaluator.tick();
      const leaked = await h.consumerWithKey();
      await h.json('POST', `/v1/keys/${leaked.keyId}/revoke`, { reason: 'leaked' }, 200);
      h.clock.advance(3_600_000);
      await h.kr.monitoring.evaluator.tick();
      await h.kr.verifier.verify(leaked.key);
      h.clock.advance(60_000);
      expect(await h.kr.monitoring.evaluator.tick()).toBe(1);

      const open = await cliJson(['alerts', 'list', '--open'], env);
      expect(open.data).toHaveLength(1);
      const [alert] = open.data;
      expect(alert).toMatchObject({ rule: 'retired_key_used', keyId: leaked.keyId, acknowledgedAt: null });
      expect(await cliJson(['alerts', 'get', alert.id], env)).toEqual(alert);
      const acked = await cliJson(['alerts', 'ack', alert.id], env);
      expect(acked.acknowledgedBy).toMatch(/^root:/);
      expect((await cliJson(['alerts', 'list', '--open'], env)).data).toEqual([]);
      expect((await cliJson(['alerts', 'list', '--rule', 'retired_key_used'], env)).data).toHaveLength(1);
    });
  });
}
