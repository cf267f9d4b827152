import { generateKey } from '@keyroll/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { eventually } from '../../../../test/support/eventually.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { send } from '../../../../test/support/http-send.js';
import { expectRefusal } from '../../../../test/support/key-fixtures.js';
import { type LoopbackUpstream, startUpstream } from '../../../../test/support/loopback-upstream.js';

const PRESENTED = 'root_key.presented_to_verifier';

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`root keys are not API keys, on ${dialect.name}`, () => {
    let h: Harness;
    let upstream: LoopbackUpstream;
    let base: string;
    let rootKeyId: string;
    let spareRootKeyId: string;
    beforeAll(async () => {
      upstream = await startUpstream();
      const config = { routes: [{ pathPrefix: '/api', upstream: upstream.url }] };
      h = await createHarness(dialect, { KEYROLL_GATEWAY_CONFIG: JSON.stringify(config) });
      if (!h.kr.gateway) throw new Error('the gateway was not configured');
      base = await h.kr.gateway.listen(0);
      const roots = await h.json('GET', '/v1/keys?consumerId=root', undefined, 200);
      rootKeyId = roots.data[0].id;
    });
    afterAll(async () => {
      await h?.close();
      await upstream?.close();
    });

    const audited = () =>
      h.kr.store.db
        .selectFrom('audit_events')
        .select(['target_id', 'actor', 'data'])
        .where('action', '=', PRESENTED)
        .execute();

    it('POST /v1/keys/verify answers a root key as an unknown key', async () => {
      const unknown = await h.json('POST', '/v1/keys/verify', { key: generateKey('kr_root').key }, 200);
      expect(unknown).toEqual({ valid: false, code: 'NOT_FOUND' });
      for (const scopes of [undefined, ['*'], ['keys:write']]) {
        const body = { key: h.rootKey, ...(scopes && { scopes }), ip: '203.0.113.9' };
        expect(await h.json('POST', '/v1/keys/verify', body, 200)).toEqual(unknown);
      }
      const spare = await h.json('POST', '/v1/keys', { consumerId: 'root', scopes: ['audit:read'] }, 201);
      spareRootKeyId = spare.id;
      expect(await h.json('POST', '/v1/keys/verify', { key: spare.key }, 200)).toEqual(unknown);
    });

    it('the gateway refuses a root key as an unknown key and forwards nothing', async () => {
      const unknown = await send(base, 'GET', '/api/things', { 'x-api-key': generateKey('kr_root').key });
      const rootKeyHeaders: Record<string, string>[] = [
        { 'x-api-key': h.rootKey },
        { authorization: `Bearer ${h.rootKey}` },
      ];
      for (const headers of rootKeyHeaders) {
        const res = await send(base, 'GET', '/api/things', headers);
        expectRefusal(res, 'NOT_FOUND');
        expect(res.body).toEqual(unknown.body);
      }
      expect(() => upstream.last()).toThrow();
    });

    it('self-service refuses a root key too', async () => {
      const res = await h.request({ method: 'GET', url: '/v1/self', headers: { 'x-api-key': h.rootKey }, auth: null });
      expect(res.statusCode).toBe(403);
    });

    it('records the presentations in the audit log, one event per root key and hour', async () => {
      // The event is written after the answer.
      const events = await eventually(async () => {
        const rows = await audited();
        return rows.length >= 2 && rows;
      }, 'the two audit events');
      expect(events.map((e) => e.target_id).sort()).toEqual([rootKeyId, spareRootKeyId].sort());
      const first = events.find((e) => e.target_id === rootKeyId);
      expect(first?.actor).toBe('system:verifier');
      expect(JSON.parse(first?.data ?? '{}')).toMatchObject({ consumerId: 'root', ip: '203.0.113.9' });
      expect(JSON.stringify(events)).not.toContain(h.rootKey);
    });

    it('counts admin API calls as no usage, analytics or client traffic', async () => {
      for (let i = 0; i < 5; i++) await h.json('GET', '/v1/consumers', undefined, 200);
      await h.kr.usage.flush();
      await h.kr.monitoring.signals.flush();
      const usage = await h.kr.store.db
        .selectFrom('usage_minutes')
        .selectAll()
        .where('key_id', '=', rootKeyId)
        .execute();
      expect(usage).toEqual([]);
      const clients = await h.kr.store.db
        .selectFrom('key_clients')
        .selectAll()
        .where('key_id', '=', rootKeyId)
        .execute();
      expect(clients).toEqual([]);
      const root = await h.json('GET', `/v1/keys/${rootKeyId}`, undefined, 200);
      expect(root.lastUsedAt).toBeNull();
      const analytics = await h.json('GET', '/v1/analytics/usage?consumerId=root', undefined, 200);
      expect(JSON.stringify(analytics)).not.toContain(rootKeyId);
    });

    it('still admits root keys on the admin API, and refuses consumer keys there', async () => {
      expect((await h.request({ method: 'GET', url: '/v1/consumers' })).statusCode).toBe(200);
      const c = await h.consumerWithKey({ scopes: ['*'] });
      const res = await h.request({ method: 'GET', url: '/v1/consumers', auth: c.key });
      expect(res.statusCode).toBe(403);
    });
  });
}
