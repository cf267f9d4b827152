import { generateKey } from '@keyroll/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

const MINUTE = 60_000;

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`leak policies, reports and incidents on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect, { KEYROLL_SCHEDULER_INTERVAL_MS: '0', KEYROLL_WEBHOOK_ALLOW_PRIVATE: '1' });
    });
    afterAll(() => h?.close());

    const verify = (key: string, extra: Record<string, unknown> = {}) =>
      h.json('POST', '/v1/keys/verify', { key, ...extra }, 200);
    const claim = (key: string) =>
      h.request({ method: 'POST', url: '/v1/self/successor', headers: { 'x-api-key': key }, auth: null });
    const report = (body: Record<string, unknown>) => h.request({ method: 'POST', url: '/v1/leaks', payload: body });
    const count = async (table: 'audit_events' | 'incidents' | 'rotations' | 'keys' | 'alerts') =>
      Number(
        (
          await h.kr.store.db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );

    it('leak policies: built-in default, per consumer, validated, removable', async () => {
      expect(await h.json('GET', '/v1/leak-policies/default', undefined, 200)).toMatchObject({
        target: 'default',
        action: 'rollover',
        gracePeriod: '15m',
        builtIn: true,
      });
      const c = await h.consumerWithKey();
      expect((await h.request({ method: 'GET', url: `/v1/leak-policies/${c.consumerId}` })).statusCode).toBe(404);
      const put = await h.json(
        'PUT',
        `/v1/leak-policies/${c.consumerId}`,
        { action: 'rollover', gracePeriod: '1h' },
        200,
      );
      expect(put).toMatchObject({
        target: c.consumerId,
        consumerId: c.consumerId,
        action: 'rollover',
        gracePeriod: '1h',
      });
      expect((await h.json('GET', '/v1/leak-policies', undefined, 200)).data).toHaveLength(1);

      const bad = [
        { action: 'explode' },
        { action: 'revoke', gracePeriod: '1h' },
        { action: 'rollover', gracePeriod: 0 },
        { action: 'rollover', gracePeriod: '30d' },
        { action: 'rollover', extra: 1 },
        {},
      ];
      for (const body of bad) {
        const res = await h.request({ method: 'PUT', url: `/v1/leak-policies/${c.consumerId}`, payload: body });
        expect(res.statusCode, JSON.stringify(body)).toBe(400);
        expect(res.json().code).toBe('VALIDATION_FAILED');
      }
      const unknown = await h.request({
        method: 'PUT',
        url: '/v1/leak-policies/csm_nope',
        payload: { action: 'revoke' },
      });
      expect(unknown.statusCode).toBe(404);
      const readOnly = await h.rootKeyWith(['keys:read']);
      const refused = await h.request({
        method: 'PUT',
        url: '/v1/leak-policies/default',
        payload: { action: 'revoke' },
        auth: readOnly,
      });
      expect(refused.statusCode).toBe(403);
      expect((await h.request({ method: 'GET', url: '/v1/leak-policies/default', auth: null })).statusCode).toBe(401);

      await h.json('DELETE', `/v1/leak-policies/${c.consumerId}`, undefined, 204);
      expect((await h.request({ method: 'DELETE', url: `/v1/leak-policies/${c.consumerId}` })).statusCode).toBe(404);
    });

    it('POST /v1/leaks validates its input with stable codes', async () => {
      const c = await h.consumerWithKey();
      const cases: [Record<string, unknown>, number, string][] = [
        [{ source: 'support' }, 400, 'VALIDATION_FAILED'],
        [{ key: c.key, keyId: c.keyId, source: 'support' }, 400, 'VALIDATION_FAILED'],
        [{ keyId: c.keyId }, 400, 'VALIDATION_FAILED'],
        [{ key: 'kr_live_nope', source: 'support' }, 400, 'VALIDATION_FAILED'],
        [{ key: generateKey('kr_live').key, source: 'support' }, 404, 'NOT_FOUND'],
        [{ keyId: 'key_nope', source: 'support' }, 404, 'NOT_FOUND'],
        [{ keyId: c.keyId, source: '' }, 400, 'VALIDATION_FAILED'],
      ];
      const before = await count('audit_events');
      for (const [body, status, code] of cases) {
        const res = await report(body);
        expect(res.statusCode, JSON.stringify(body)).toBe(status);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.json().code).toBe(code);
        expect(res.body).not.toContain(c.key);
      }
      expect(
        (await h.request({ method: 'POST', url: '/v1/leaks', payload: { keyId: c.keyId, source: 's' }, auth: null }))
          .statusCode,
      ).toBe(401);
      expect(await count('audit_events')).toBe(before);
    });

    it('revoke policy: the key is invalid at once; a second report changes nothing', async () => {
      const c = await h.consumerWithKey();
      await h.json('PUT', `/v1/leak-policies/${c.consumerId}`, { action: 'revoke' }, 200);
      const first = await report({ keyId: c.keyId, source: 'support', url: 'https://tickets.example/42' });
      expect(first.statusCode).toBe(201);
      const body = first.json();
      expect(body).toMatchObject({ created: true, incidentId: body.incident.id });
      expect(body.incident).toMatchObject({
        status: 'contained',
        action: 'revoke',
        keyId: c.keyId,
        keyStatus: 'revoked',
      });
      expect((await verify(c.key)).code).toBe('REVOKED');

      const before = { audit: await count('audit_events'), incidents: await count('incidents') };
      const again = await report({ key: c.key, source: 'logs' });
      expect(again.statusCode).toBe(200);
      expect(again.json()).toMatchObject({ created: false, incidentId: body.incident.id });
      expect({ audit: await count('audit_events'), incidents: await count('incidents') }).toEqual(before);
      const alerts = (await h.json('GET', `/v1/alerts?rule=key_leaked&consumerId=${c.consumerId}`, undefined, 200))
        .data;
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({ severity: 'critical', keyId: c.keyId });
    });

    it('notify policy: alert and webhook only; contained once someone revokes the key', async () => {
      const c = await h.consumerWithKey();
      await h.json('PUT', `/v1/leak-policies/${c.consumerId}`, { action: 'notify' }, 200);
      const { incident } = (await report({ keyId: c.keyId, source: 'scanner-x' })).json();
      expect(incident).toMatchObject({ status: 'open', action: 'notify', revokesAt: null });
      expect((await verify(c.key)).valid).toBe(true);
      expect(incident.checklist.map((i: { item: string }) => i.item).join('\n')).toContain('Revoke or rotate');

      await h.json('POST', `/v1/keys/${c.keyId}/revoke`, {}, 200);
      expect(await h.kr.leaks.tick()).toBe(1);
      const after = await h.json('GET', `/v1/incidents/${incident.id}`, undefined, 200);
      expect(after).toMatchObject({ status: 'contained', containedAt: new Date(h.clock.now()).toISOString() });
      expect(after.timeline.map((e: { type: string }) => e.type)).toEqual(['reported', 'contained']);
      expect(await h.kr.leaks.tick()).toBe(0);
    });

    it('rollover: deprecated now, first claim wins, a second claim revokes the lineage; webhooks to provider and consumer', async () => {
      const c = await h.consumerWithKey();
      const provider = await h.json(
        'POST',
        '/v1/webhooks',
        { url: 'http://127.0.0.1:9/p', events: ['key.leaked', 'incident.updated'] },
        201,
      );
      const own = await h.json(
        'POST',
        '/v1/webhooks',
        { url: 'http://127.0.0.1:9/c', events: ['*'], consumerId: c.consumerId },
        201,
      );
      await verify(c.key, { ip: '203.0.113.7', userAgent: 'acme-sdk/1.0' });
      await verify(c.key, { ip: '203.0.113.7', userAgent: 'acme-sdk/1.0' });

      const reportedAt = h.clock.now();
      const res = await report({ key: c.key, source: 'support' });
      expect(res.statusCode).toBe(201);
      const { incident } = res.json();
      expect(incident).toMatchObject({
        status: 'open',
        action: 'rollover',
        gracePeriod: '15m',
        revokesAt: new Date(reportedAt + 15 * MINUTE).toISOString(),
      });
      expect(incident.recentUse).toEqual([
        { address: '203.0.113.7', userAgent: 'acme-sdk/1.0', count: 2, lastSeen: expect.any(String) },
      ]);
      expect(await verify(c.key)).toMatchObject({
        valid: true,
        deprecated: true,
        retiresAt: new Date(reportedAt + 15 * MINUTE).toISOString(),
      });
      const rotation = await h.json('GET', `/v1/rotations/${incident.rotationId}`, undefined, 200);
      expect(rotation).toMatchObject({ origin: 'leak', newKeyId: null, state: 'rolling', oldKeyId: c.keyId });

      // The owner's SDK claims first and switches.
      h.clock.advance(MINUTE);
      const owner = await claim(c.key);
      expect(owner.statusCode).toBe(201);
      expect((await verify(owner.json().key)).valid).toBe(true);
      expect(await h.kr.leaks.tick()).toBe(1);

      // Someone else holding the leaked key claims too: the lineage is revoked, a critical alert raised.
      h.clock.advance(MINUTE);
      const attacker = await claim(c.key);
      expect(attacker.statusCode).toBe(409);
      expect(attacker.json()).toMatchObject({ code: 'SUCCESSOR_ALREADY_CLAIMED', revoked: true });
      expect((await verify(c.key)).code).toBe('REVOKED');
      expect((await verify(owner.json().key)).code).toBe('REVOKED');
      expect(await h.kr.leaks.tick()).toBe(1);
      await h.kr.monitoring.tick();
      const reclaim = (
        await h.json('GET', `/v1/alerts?rule=successor_reclaim&consumerId=${c.consumerId}`, undefined, 200)
      ).data;
      expect(reclaim[0]).toMatchObject({ severity: 'critical' });

      const detail = await h.json('GET', `/v1/incidents/${incident.id}`, undefined, 200);
      expect(detail.status).toBe('contained');
      const steps = detail.timeline.map((e: { type: string }) => e.type);
      expect(steps.filter((t: string) => t !== 'last_use')).toEqual([
        'reported',
        'successor_claimed',
        'reuse_detected',
        'contained',
      ]);
      expect(steps).toContain('last_use');
      expect(detail.checklist.some((i: { item: string }) => i.item.includes('claimed twice'))).toBe(true);

      const deliveries = await h.kr.store.db
        .selectFrom('webhook_deliveries')
        .select(['webhook_id', 'event_type', 'payload'])
        .where('event_type', 'in', ['key.leaked', 'incident.updated'])
        .execute();
      const of = (id: string) => deliveries.filter((d) => d.webhook_id === id).map((d) => d.event_type);
      const changes = ['key.leaked', 'incident.updated', 'incident.updated', 'incident.updated'];
      expect(of(own.id).sort()).toEqual([...changes].sort());
      expect(of(provider.id).filter((t) => t === 'key.leaked').length).toBeGreaterThanOrEqual(1);
      const leaked = deliveries.find((d) => d.webhook_id === own.id && d.event_type === 'key.leaked');
      expect(JSON.parse(leaked?.payload ?? '{}').data).toMatchObject({ keyId: c.keyId, incidentId: incident.id });
      expect(JSON.stringify(deliveries)).not.toContain(c.key);
    });

    it('rollover: nobody claims; the leaked key stops at the end of the grace and is revoked', async () => {
      const c = await h.consumerWithKey();
      const reportedAt = h.clock.now();
      const { incident } = (await report({ keyId: c.keyId, source: 'support' })).json();
      h.clock.set(reportedAt + 15 * MINUTE - 1);
      await h.kr.scheduler.tick();
      expect(await verify(c.key)).toMatchObject({ valid: true, deprecated: true });
      h.clock.set(reportedAt + 15 * MINUTE);
      // The deadline holds without any job (timestamps decide), and the scheduler does not hold it.
      expect((await verify(c.key)).valid).toBe(false);
      expect((await h.kr.scheduler.tick()).extended).toBe(0);
      expect(await h.kr.leaks.tick()).toBe(1);
      expect((await verify(c.key)).code).toBe('REVOKED');
      const detail = await h.json('GET', `/v1/incidents/${incident.id}`, undefined, 200);
      expect(detail).toMatchObject({
        status: 'contained',
        containedAt: new Date(reportedAt + 15 * MINUTE).toISOString(),
      });
    });

    it('rollover of a key already held for an unclaimed policy successor: the leak grace still ends it', async () => {
      const c = await h.consumerWithKey();
      await h.json('PUT', `/v1/rotation-policies/${c.consumerId}`, { every: '30d', gracePeriod: '1d' }, 200);
      h.clock.advance(30 * 24 * 60 * MINUTE);
      expect((await h.kr.scheduler.tick()).started).toBe(1);
      const [rotation] = (await h.json('GET', `/v1/rotations?keyId=${c.keyId}`, undefined, 200)).data;
      expect(rotation).toMatchObject({ origin: 'policy', newKeyId: null });

      const reportedAt = h.clock.now();
      const { incident } = (await report({ keyId: c.keyId, source: 'support' })).json();
      expect(incident).toMatchObject({ action: 'rollover', rotationId: rotation.id, status: 'open' });
      expect(await verify(c.key)).toMatchObject({ valid: true, deprecated: true });
      // The owner may still claim the policy successor meanwhile; the claim is on the incident.
      expect((await claim(c.key)).statusCode).toBe(201);
      await h.kr.scheduler.tick();
      h.clock.set(reportedAt + 15 * MINUTE);
      await h.kr.scheduler.tick();
      expect(await h.kr.leaks.tick()).toBe(1);
      expect((await verify(c.key)).code).toBe('REVOKED');
      const detail = await h.json('GET', `/v1/incidents/${incident.id}`, undefined, 200);
      expect(detail).toMatchObject({ status: 'contained', successorClaimedAt: expect.any(String) });
      await h.json('DELETE', `/v1/rotation-policies/${c.consumerId}`, undefined, 204);
    });

    it('lists incidents in the usual page shape, survives a restart of the service objects', async () => {
      const first = await h.json('GET', '/v1/incidents?limit=1', undefined, 200);
      expect(first.data).toHaveLength(1);
      expect(typeof first.nextCursor).toBe('string');
      const rest = await h.json('GET', `/v1/incidents?limit=100&cursor=${first.nextCursor}`, undefined, 200);
      expect(rest.nextCursor).toBeNull();
      expect(rest.data.length).toBeGreaterThan(1);
      const bad = await h.request({ method: 'GET', url: '/v1/incidents?cursor=nope' });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().code).toBe('INVALID_CURSOR');
      expect((await h.request({ method: 'GET', url: '/v1/incidents/inc_nope' })).json().code).toBe('NOT_FOUND');
      const open = await h.json('GET', '/v1/incidents?status=open', undefined, 200);
      for (const i of open.data) expect(i.status).toBe('open');
    });
  });
}
