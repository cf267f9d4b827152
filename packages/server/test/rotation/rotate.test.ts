import { sha256Hex } from '@keyroll/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`key rotation over HTTP on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect, { KEYROLL_SCHEDULER_INTERVAL_MS: '0' });
    });
    afterAll(() => h?.close());

    const verify = (key: string) => h.json('POST', '/v1/keys/verify', { key }, 200);

    it('issues an inheriting successor and keeps the old key valid, deprecated, until retiresAt', async () => {
      const c = await h.consumerWithKey({
        name: 'Production',
        scopes: ['read', 'trade'],
        metadata: { team: 'a' },
        allowedIps: ['0.0.0.0/0'],
      });
      const started = h.clock.now();
      const res = await h.json('POST', `/v1/keys/${c.keyId}/rotate`, { gracePeriod: '7d' }, 201);
      expect(res.key).toMatch(/^kr_live_/);
      expect(res.rotation).toMatchObject({
        state: 'rolling',
        oldKeyId: c.keyId,
        newKeyId: res.newKeyId,
        consumerId: c.consumerId,
        successorClaimed: true,
        gracePeriod: '1w',
        retire: { mode: 'deadline' },
        retiresAt: new Date(started + 7 * DAY).toISOString(),
      });
      const successor = await h.json('GET', `/v1/keys/${res.newKeyId}`, undefined, 200);
      expect(successor).toMatchObject({
        name: 'Production',
        scopes: ['read', 'trade'],
        metadata: { team: 'a' },
        allowedIps: ['0.0.0.0/0'],
        consumerId: c.consumerId,
        predecessorId: c.keyId,
        version: 2,
        status: 'active',
        expiresAt: null,
      });
      const old = await h.json('GET', `/v1/keys/${c.keyId}`, undefined, 200);
      expect(old).toMatchObject({ status: 'deprecated', retiresAt: new Date(started + 7 * DAY).toISOString() });

      expect(await h.json('POST', '/v1/keys/verify', { key: c.key, ip: '10.0.0.1' }, 200)).toMatchObject({
        valid: true,
        code: 'VALID',
        deprecated: true,
        retiresAt: new Date(started + 7 * DAY).toISOString(),
      });
      h.clock.advance(7 * DAY - 1);
      expect(await h.json('POST', '/v1/keys/verify', { key: c.key, ip: '10.0.0.1' }, 200)).toMatchObject({
        valid: true,
        deprecated: true,
      });
      h.clock.advance(1);
      expect(await verify(c.key)).toMatchObject({ valid: false, code: 'RETIRED' });
      expect(await h.json('POST', '/v1/keys/verify', { key: res.key, ip: '10.0.0.1' }, 200)).toMatchObject({
        valid: true,
        deprecated: false,
      });
    });

    it('never loses or stretches an expiry', async () => {
      const c = await h.consumerWithKey({ expiresIn: '30d' });
      h.clock.advance(20 * DAY);
      const now = h.clock.now();
      const res = await h.json('POST', `/v1/keys/${c.keyId}/rotate`, { gracePeriod: '14d' }, 201);
      // the old key expires in 10 days: it retires then, not 14 days from now
      expect(res.rotation.retiresAt).toBe(new Date(now + 10 * DAY).toISOString());
      const old = await h.json('GET', `/v1/keys/${c.keyId}`, undefined, 200);
      expect(old.retiresAt).toBe(old.expiresAt);
      // the successor gets the same 30-day lifetime, counted from now
      const successor = await h.json('GET', `/v1/keys/${res.newKeyId}`, undefined, 200);
      expect(successor.expiresAt).toBe(new Date(now + 30 * DAY).toISOString());

      const given = new Date(now + 5 * DAY).toISOString();
      const res2 = await h.json(
        'POST',
        `/v1/keys/${res.newKeyId}/rotate`,
        { gracePeriod: '1h', expiresAt: given },
        201,
      );
      expect((await h.json('GET', `/v1/keys/${res2.newKeyId}`, undefined, 200)).expiresAt).toBe(given);
      expect((await h.json('GET', `/v1/keys/${res2.newKeyId}`, undefined, 200)).version).toBe(3);
    });

    it('applies overrides to the successor', async () => {
      const c = await h.consumerWithKey({ name: 'CI', scopes: ['read', 'trade'] });
      const res = await h.json(
        'POST',
        `/v1/keys/${c.keyId}/rotate`,
        { gracePeriod: '1h', name: 'CI v2', scopes: ['read'], metadata: { v: 2 } },
        201,
      );
      expect(await h.json('GET', `/v1/keys/${res.newKeyId}`, undefined, 200)).toMatchObject({
        name: 'CI v2',
        scopes: ['read'],
        metadata: { v: 2 },
      });
    });

    it('rotates only active keys (409 otherwise)', async () => {
      const c = await h.consumerWithKey();
      await h.json('POST', `/v1/keys/${c.keyId}/rotate`, { gracePeriod: '1h' }, 201);
      const again = await h.request({
        method: 'POST',
        url: `/v1/keys/${c.keyId}/rotate`,
        payload: { gracePeriod: '1h' },
      });
      expect(again.statusCode).toBe(409);
      expect(again.json().code).toBe('ROTATION_IN_PROGRESS');
      const r = await h.consumerWithKey();
      await h.json('POST', `/v1/keys/${r.keyId}/revoke`, {}, 200);
      const revoked = await h.request({
        method: 'POST',
        url: `/v1/keys/${r.keyId}/rotate`,
        payload: { gracePeriod: '1h' },
      });
      expect(revoked.statusCode).toBe(409);
      expect(revoked.json().code).toBe('KEY_NOT_ACTIVE');
      const missing = await h.request({
        method: 'POST',
        url: '/v1/keys/key_nope/rotate',
        payload: { gracePeriod: '1h' },
      });
      expect(missing.statusCode).toBe(404);
      const bad = await h.request({
        method: 'POST',
        url: `/v1/keys/${r.keyId}/rotate`,
        payload: { gracePeriod: 'soon' },
      });
      expect(bad.statusCode).toBe(400);
    });

    it('lets exactly one of concurrent rotations of a key succeed', async () => {
      const c = await h.consumerWithKey();
      const results = await Promise.all(
        Array.from({ length: 8 }, () =>
          h.request({ method: 'POST', url: `/v1/keys/${c.keyId}/rotate`, payload: { gracePeriod: '1h' } }),
        ),
      );
      const codes = results.map((r) => r.statusCode).sort();
      expect(codes).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
      const list = await h.json('GET', `/v1/rotations?keyId=${c.keyId}`, undefined, 200);
      expect(list.data).toHaveLength(1);
    });

    it('emergency rollover (gracePeriod 0) revokes the old key in the same step', async () => {
      const c = await h.consumerWithKey();
      const res = await h.json('POST', `/v1/keys/${c.keyId}/rotate`, { gracePeriod: 0 }, 201);
      expect(res.rotation).toMatchObject({ state: 'completed', endReason: 'emergency', reason: 'compromised' });
      expect(await verify(c.key)).toMatchObject({ valid: false, code: 'REVOKED' });
      expect(await verify(res.key)).toMatchObject({ valid: true });
      expect((await h.json('GET', `/v1/keys/${c.keyId}`, undefined, 200)).revokeReason).toBe('compromised');

      const d = await h.consumerWithKey();
      await h.json('POST', `/v1/keys/${d.keyId}/rotate`, { gracePeriod: '0s', reason: 'pasted in a ticket' }, 201);
      expect((await h.json('GET', `/v1/keys/${d.keyId}`, undefined, 200)).revokeReason).toBe('pasted in a ticket');
    });

    it('rolls over every active key of a consumer in one step', async () => {
      const c = await h.consumerWithKey({ name: 'one' });
      const two = await h.json('POST', '/v1/keys', { consumerId: c.consumerId, name: 'two' }, 201);
      const gone = await h.json('POST', '/v1/keys', { consumerId: c.consumerId, name: 'gone' }, 201);
      await h.json('POST', `/v1/keys/${gone.id}/revoke`, {}, 200);
      const res = await h.json('POST', `/v1/consumers/${c.consumerId}/rollover`, { gracePeriod: 0 }, 201);
      expect(res.rotations).toHaveLength(2);
      expect(res.rotations.map((r: { rotation: { oldKeyId: string } }) => r.rotation.oldKeyId).sort()).toEqual(
        [c.keyId, two.id].sort(),
      );
      expect(await verify(c.key)).toMatchObject({ code: 'REVOKED' });
      expect(await verify(two.key)).toMatchObject({ code: 'REVOKED' });
      for (const r of res.rotations) expect(await verify(r.key)).toMatchObject({ valid: true });
      const missing = await h.request({
        method: 'POST',
        url: '/v1/consumers/csm_nope/rollover',
        payload: { gracePeriod: 0 },
      });
      expect(missing.statusCode).toBe(404);
    });

    it('rolls back: the old key is active again with its expiry, the successor revoked', async () => {
      const c = await h.consumerWithKey({ expiresIn: '90d' });
      const before = await h.json('GET', `/v1/keys/${c.keyId}`, undefined, 200);
      const res = await h.json('POST', `/v1/keys/${c.keyId}/rotate`, { gracePeriod: '1d' }, 201);
      const rolled = await h.json('POST', `/v1/rotations/${res.rotation.id}/rollback`, undefined, 200);
      expect(rolled).toMatchObject({ state: 'rolled_back' });
      const old = await h.json('GET', `/v1/keys/${c.keyId}`, undefined, 200);
      expect(old).toMatchObject({ status: 'active', retiresAt: null, expiresAt: before.expiresAt });
      expect(await verify(res.key)).toMatchObject({ code: 'REVOKED' });
      expect((await h.json('GET', `/v1/keys/${res.newKeyId}`, undefined, 200)).revokeReason).toBe('rollback');
      const twice = await h.request({ method: 'POST', url: `/v1/rotations/${res.rotation.id}/rollback` });
      expect(twice.statusCode).toBe(409);
      expect(twice.json().code).toBe('ROTATION_NOT_ROLLING');
      // and it can be rotated again
      await h.json('POST', `/v1/keys/${c.keyId}/rotate`, { gracePeriod: '1d' }, 201);
    });

    it('completes (retires the old key now) and extends (never past the expiry)', async () => {
      const c = await h.consumerWithKey();
      const res = await h.json('POST', `/v1/keys/${c.keyId}/rotate`, { gracePeriod: '1d' }, 201);
      h.clock.advance(HOUR);
      const done = await h.json('POST', `/v1/rotations/${res.rotation.id}/complete`, undefined, 200);
      expect(done).toMatchObject({ state: 'completed', endReason: 'operator' });
      expect(await verify(c.key)).toMatchObject({ code: 'RETIRED' });
      expect(await verify(res.key)).toMatchObject({ valid: true });
      expect((await h.request({ method: 'POST', url: `/v1/rotations/${res.rotation.id}/complete` })).statusCode).toBe(
        409,
      );

      const e = await h.consumerWithKey({ expiresIn: '3d' });
      const r2 = await h.json('POST', `/v1/keys/${e.keyId}/rotate`, { gracePeriod: '1d' }, 201);
      const start = Date.parse(r2.rotation.startedAt);
      const ext = await h.json('POST', `/v1/rotations/${r2.rotation.id}/extend`, { by: '1d' }, 200);
      expect(ext.retiresAt).toBe(new Date(start + 2 * DAY).toISOString());
      expect(ext.extensions).toHaveLength(1);
      expect(ext.extensions[0]).toMatchObject({ by: '1d', to: new Date(start + 2 * DAY).toISOString() });
      const capped = await h.json('POST', `/v1/rotations/${r2.rotation.id}/extend`, { by: '7d' }, 200);
      const old = await h.json('GET', `/v1/keys/${e.keyId}`, undefined, 200);
      expect(capped.retiresAt).toBe(old.expiresAt);
      expect(old.retiresAt).toBe(old.expiresAt);
      h.clock.advance(2 * DAY + HOUR);
      expect(await verify(e.key)).toMatchObject({ valid: true, deprecated: true });
      h.clock.advance(DAY);
      expect(await verify(e.key)).toMatchObject({ valid: false, code: 'RETIRED' });
      const late = await h.request({
        method: 'POST',
        url: `/v1/rotations/${r2.rotation.id}/extend`,
        payload: { by: '1d' },
      });
      expect(late.statusCode).toBe(409);
    });

    it('reports progress: requests on old and new key, the share on the new one, the old key last seen', async () => {
      const c = await h.consumerWithKey();
      const res = await h.json('POST', `/v1/keys/${c.keyId}/rotate`, { gracePeriod: '1d' }, 201);
      h.clock.advance(2 * 60_000);
      for (let i = 0; i < 3; i++) await verify(c.key);
      const lastOld = h.clock.now();
      h.clock.advance(60_000);
      await verify(res.key);
      await h.kr.usage.flush();
      const got = await h.json('GET', `/v1/rotations/${res.rotation.id}`, undefined, 200);
      expect(got.progress).toMatchObject({
        oldKeyRequests: 3,
        newKeyRequests: 1,
        shareOnNew: 0.25,
        oldKeyLastUsedAt: new Date(lastOld).toISOString(),
      });
      const list = await h.json('GET', `/v1/rotations?state=rolling&consumerId=${c.consumerId}`, undefined, 200);
      expect(list.data.map((r: { id: string }) => r.id)).toEqual([res.rotation.id]);
      const none = await h.json('GET', `/v1/rotations?state=completed&consumerId=${c.consumerId}`, undefined, 200);
      expect(none.data).toEqual([]);
      expect((await h.request({ method: 'GET', url: '/v1/rotations/rot_nope' })).statusCode).toBe(404);
    });

    it('writes audit events with consumerId and change-log entries with the key hashes, in the same transaction', async () => {
      const c = await h.consumerWithKey();
      const res = await h.json('POST', `/v1/keys/${c.keyId}/rotate`, { gracePeriod: '1d' }, 201);
      await h.json('POST', `/v1/rotations/${res.rotation.id}/extend`, { by: '1h' }, 200);
      await h.json('POST', `/v1/rotations/${res.rotation.id}/rollback`, undefined, 200);
      const events = await h.kr.store.db
        .selectFrom('audit_events')
        .select(['action', 'data'])
        .where('target_id', '=', res.rotation.id)
        .orderBy('seq')
        .execute();
      expect(events.map((e) => e.action)).toEqual(['rotation.started', 'rotation.extended', 'rotation.rolled_back']);
      for (const e of events) expect(JSON.parse(e.data).consumerId).toBe(c.consumerId);
      const changes = await h.kr.store.db
        .selectFrom('changes')
        .select(['kind', 'key_hash'])
        .where('entity_id', 'in', [c.keyId, res.newKeyId])
        .orderBy('seq')
        .execute();
      const oldHash = sha256Hex(c.key);
      const newHash = sha256Hex(res.key);
      expect(changes).toEqual(
        expect.arrayContaining([
          { kind: 'key.created', key_hash: newHash },
          { kind: 'rotation.started', key_hash: oldHash },
          { kind: 'rotation.extended', key_hash: oldHash },
          { kind: 'rotation.rolled_back', key_hash: oldHash },
          { kind: 'key.revoked', key_hash: newHash },
        ]),
      );
      expect((await h.json('GET', '/v1/audit/verify', undefined, 200)).ok).toBe(true);
    });

    it('rejects inconsistent retirement rules and durations with 400', async () => {
      const c = await h.consumerWithKey();
      for (const body of [
        { gracePeriod: '1d', retire: { mode: 'when-idle' } },
        { gracePeriod: '1d', retire: { mode: 'when-idle', idleFor: '1h', minGrace: '2d' } },
        { gracePeriod: '1d', retire: { mode: 'when-idle', idleFor: '1h', maxExtensions: 2 } },
        { gracePeriod: '1d', retire: { mode: 'deadline', idleFor: '1h' } },
        { gracePeriod: '1d', retire: { mode: 'after-first-use', gracePeriod: '2d' } },
        { gracePeriod: '1d', retire: { mode: 'sometime' } },
        { gracePeriod: 0, retire: { mode: 'when-idle', idleFor: '1h' } },
        { gracePeriod: -5 },
        { gracePeriod: '1d', expiresAt: '2020-01-01T00:00:00Z' },
        { gracePeriod: '1d', surprise: true },
      ]) {
        const res = await h.request({ method: 'POST', url: `/v1/keys/${c.keyId}/rotate`, payload: body });
        expect(res.statusCode, JSON.stringify(body)).toBe(400);
        expect(res.json().code).toBe('VALIDATION_FAILED');
      }
      expect((await h.json('GET', `/v1/keys/${c.keyId}`, undefined, 200)).status).toBe('active');
      const r = await h.json('POST', `/v1/keys/${c.keyId}/rotate`, { gracePeriod: '1d' }, 201);
      const zero = await h.request({
        method: 'POST',
        url: `/v1/rotations/${r.rotation.id}/extend`,
        payload: { by: 0 },
      });
      expect(zero.statusCode).toBe(400);
    });

    it('pages through rotations', async () => {
      const c = await h.consumerWithKey();
      const ids: string[] = [];
      let keyId = c.keyId;
      for (let i = 0; i < 3; i++) {
        const r = await h.json('POST', `/v1/keys/${keyId}/rotate`, { gracePeriod: '1d' }, 201);
        ids.push(r.rotation.id);
        keyId = r.newKeyId;
        h.clock.advance(1); // ids sort by creation time to the millisecond
      }
      const first = await h.json('GET', `/v1/rotations?consumerId=${c.consumerId}&limit=2`, undefined, 200);
      expect(first.data.map((r: { id: string }) => r.id)).toEqual(ids.slice(0, 2));
      const second = await h.json(
        'GET',
        `/v1/rotations?consumerId=${c.consumerId}&limit=2&cursor=${first.nextCursor}`,
        undefined,
        200,
      );
      expect(second.data.map((r: { id: string }) => r.id)).toEqual(ids.slice(2));
      expect(second.nextCursor).toBeNull();
    });

    it('documents its routes in the OpenAPI description', async () => {
      const doc = await h.json('GET', '/openapi.json', undefined, 200, null);
      for (const path of [
        '/v1/keys/{id}/rotate',
        '/v1/consumers/{id}/rollover',
        '/v1/rotations',
        '/v1/rotations/{id}',
        '/v1/rotations/{id}/rollback',
        '/v1/rotations/{id}/complete',
        '/v1/rotations/{id}/extend',
        '/v1/rotation-policies/{target}',
        '/v1/self/rotate',
        '/v1/self/successor',
      ]) {
        expect(Object.keys(doc.paths)).toContain(path);
      }
    });

    it('needs the keys:rotate scope', async () => {
      const reader = await h.rootKeyWith(['keys:read', 'keys:write']);
      const c = await h.consumerWithKey();
      const res = await h.request({
        method: 'POST',
        url: `/v1/keys/${c.keyId}/rotate`,
        payload: { gracePeriod: '1h' },
        auth: reader,
      });
      expect(res.statusCode).toBe(403);
    });
  });
}
