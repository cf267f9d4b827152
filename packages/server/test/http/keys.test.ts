import { generateKey } from '@keyroll/core';
import { createKeyroll, loadConfig } from '@keyroll/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

const DAY = 86_400_000;

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`keys over HTTP on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect, { KEYROLL_MAX_ACTIVE_KEYS: '3' });
    });
    afterAll(() => h?.close());

    const newConsumer = async () => (await h.json('POST', '/v1/consumers', { name: 'keys-test' }, 201)).id as string;

    describe('happy path', () => {
      it('issues a key with every field and shows them on get and list', async () => {
        const consumerId = await newConsumer();
        const created = await h.json(
          'POST',
          '/v1/keys',
          {
            consumerId,
            name: 'Production',
            scopes: ['read', 'trade', 'read'],
            metadata: { env: 'prod', n: 1 },
            expiresAt: '2026-06-01T00:00:00Z',
            allowedIps: ['10.0.0.0/8', '2001:db8::/32', '192.168.1.7'],
          },
          201,
        );
        expect(created.key).toMatch(/^kr_live_[0-9A-Za-z]+$/);
        const view = {
          id: created.id,
          consumerId,
          name: 'Production',
          hint: `kr_live_…${created.key.slice(-4)}`,
          version: 1,
          predecessorId: null,
          status: 'active',
          scopes: ['read', 'trade'],
          metadata: { env: 'prod', n: 1 },
          allowedIps: ['10.0.0.0/8', '2001:db8::/32', '192.168.1.7'],
          createdAt: '2026-01-01T00:00:00.000Z',
          expiresAt: '2026-06-01T00:00:00.000Z',
          retiresAt: null,
          revokedAt: null,
          revokeReason: null,
          lastUsedAt: null,
        };
        expect(created).toMatchObject(view);
        expect(created.id).toMatch(/^key_/);
        const got = await h.json('GET', `/v1/keys/${created.id}`, undefined, 200);
        expect(got).toMatchObject(view);
        expect(got).not.toHaveProperty('key');
        const listed = await h.json('GET', `/v1/keys?consumerId=${consumerId}`, undefined, 200);
        expect(listed.data).toHaveLength(1);
        expect(listed.data[0]).toEqual(got);
      });

      it('accepts expiresIn as a duration string or seconds', async () => {
        const consumerId = await newConsumer();
        const a = await h.json('POST', '/v1/keys', { consumerId, expiresIn: '90d' }, 201);
        expect(a.expiresAt).toBe(new Date(h.clock.now() + 90 * DAY).toISOString());
        const b = await h.json('POST', '/v1/keys', { consumerId, expiresIn: 3600 }, 201);
        expect(b.expiresAt).toBe(new Date(h.clock.now() + 3_600_000).toISOString());
        const c = await h.json('POST', '/v1/keys', { consumerId }, 201);
        expect(c).toMatchObject({ expiresAt: null, name: 'default', scopes: [], metadata: {}, allowedIps: null });
      });

      it('holds several active keys per consumer, each valid on its own', async () => {
        const consumerId = await newConsumer();
        const keys = [];
        for (const name of ['Production', 'CI', 'Staging']) {
          keys.push(await h.json('POST', '/v1/keys', { consumerId, name }, 201));
        }
        expect(new Set(keys.map((k) => k.key)).size).toBe(3);
        for (const k of keys) {
          expect(await h.json('POST', '/v1/keys/verify', { key: k.key }, 200)).toMatchObject({
            valid: true,
            keyId: k.id,
            consumerId,
          });
        }
        const active = await h.json('GET', `/v1/keys?consumerId=${consumerId}&status=active`, undefined, 200);
        expect(active.data.map((k: { name: string }) => k.name).sort()).toEqual(['CI', 'Production', 'Staging']);
      });

      it('changes name, scopes, metadata, expiry and allow-list with PATCH', async () => {
        const { keyId, key } = await h.consumerWithKey({ scopes: ['read'] });
        h.clock.advance(5000);
        const patched = await h.json(
          'PATCH',
          `/v1/keys/${keyId}`,
          { name: 'renamed', scopes: ['read', 'trade'], metadata: { a: 1 }, expiresIn: '1h', allowedIps: ['1.2.3.4'] },
          200,
        );
        expect(patched).toMatchObject({
          name: 'renamed',
          scopes: ['read', 'trade'],
          metadata: { a: 1 },
          expiresAt: new Date(h.clock.now() + 3_600_000).toISOString(),
          allowedIps: ['1.2.3.4'],
          updatedAt: new Date(h.clock.now()).toISOString(),
          version: 1,
        });
        expect(await h.json('GET', `/v1/keys/${keyId}`, undefined, 200)).toEqual(patched);
        expect(await h.json('POST', '/v1/keys/verify', { key, scopes: ['trade'], ip: '1.2.3.4' }, 200)).toMatchObject({
          valid: true,
        });
        const cleared = await h.json('PATCH', `/v1/keys/${keyId}`, { expiresAt: null, allowedIps: null }, 200);
        expect(cleared).toMatchObject({ expiresAt: null, allowedIps: null, name: 'renamed' });
      });

      it('records lastUsedAt once usage is flushed after a verification', async () => {
        const { keyId, key } = await h.consumerWithKey();
        h.clock.advance(60_000);
        const usedAt = h.clock.now();
        await h.json('POST', '/v1/keys/verify', { key }, 200);
        await h.kr.usage.flush();
        expect((await h.json('GET', `/v1/keys/${keyId}`, undefined, 200)).lastUsedAt).toBe(
          new Date(usedAt).toISOString(),
        );
      });

      it('filters the list by consumerId and status', async () => {
        const c1 = await newConsumer();
        const c2 = await newConsumer();
        const a = await h.json('POST', '/v1/keys', { consumerId: c1, name: 'a' }, 201);
        h.clock.advance(1);
        const b = await h.json('POST', '/v1/keys', { consumerId: c1, name: 'b', expiresIn: '1m' }, 201);
        const c = await h.json('POST', '/v1/keys', { consumerId: c2, name: 'c' }, 201);
        await h.json('POST', `/v1/keys/${a.id}/revoke`, {}, 200);
        h.clock.advance(60_000);
        const ids = async (q: string) =>
          (await h.json('GET', `/v1/keys?${q}`, undefined, 200)).data.map((k: { id: string }) => k.id);
        expect(await ids(`consumerId=${c1}`)).toEqual([a.id, b.id]);
        expect(await ids(`consumerId=${c2}`)).toEqual([c.id]);
        expect(await ids(`consumerId=${c1}&status=revoked`)).toEqual([a.id]);
        expect(await ids(`consumerId=${c1}&status=expired`)).toEqual([b.id]);
        expect(await ids(`consumerId=${c1}&status=active`)).toEqual([]);
        expect(await ids('status=revoked')).toContain(a.id);
        expect(await ids('status=revoked')).not.toContain(c.id);
        const listed = await h.json('GET', `/v1/keys?consumerId=${c1}`, undefined, 200);
        expect(listed.data.map((k: { status: string }) => k.status)).toEqual(['revoked', 'expired']);
      });

      it('pages through keys with limit and cursor', async () => {
        const consumerId = await newConsumer();
        const made = [];
        for (let i = 0; i < 3; i++) {
          // Ids sort by creation time to the millisecond; within one millisecond their order is random.
          h.clock.advance(1);
          made.push((await h.json('POST', '/v1/keys', { consumerId }, 201)).id);
        }
        const first = await h.json('GET', `/v1/keys?consumerId=${consumerId}&limit=2`, undefined, 200);
        expect(first.data).toHaveLength(2);
        expect(first.nextCursor).toEqual(expect.any(String));
        const second = await h.json(
          'GET',
          `/v1/keys?consumerId=${consumerId}&limit=2&cursor=${first.nextCursor}`,
          undefined,
          200,
        );
        expect(second.nextCursor).toBeNull();
        expect([...first.data, ...second.data].map((k: { id: string }) => k.id)).toEqual(made);
        const bad = await h.json('GET', '/v1/keys?cursor=not-a-cursor', undefined, 400);
        expect(bad.code).toBe('INVALID_CURSOR');
      });
    });

    describe('expiry and revocation', () => {
      it('is EXPIRED at the instant of expiresAt, valid one millisecond before', async () => {
        const { key, keyId } = await h.consumerWithKey({ expiresIn: '1h' });
        const expiresAt = Date.parse((await h.json('GET', `/v1/keys/${keyId}`, undefined, 200)).expiresAt);
        h.clock.set(expiresAt - 1);
        expect(await h.json('POST', '/v1/keys/verify', { key }, 200)).toMatchObject({ valid: true, code: 'VALID' });
        expect((await h.json('GET', `/v1/keys/${keyId}`, undefined, 200)).status).toBe('active');
        h.clock.set(expiresAt);
        expect(await h.json('POST', '/v1/keys/verify', { key }, 200)).toMatchObject({
          valid: false,
          code: 'EXPIRED',
          keyId,
        });
        expect((await h.json('GET', `/v1/keys/${keyId}`, undefined, 200)).status).toBe('expired');
      });

      it('revokes once: a second revoke is 409 KEY_NOT_ACTIVE and a revoked key cannot be changed', async () => {
        const { keyId, key } = await h.consumerWithKey();
        const revoked = await h.json('POST', `/v1/keys/${keyId}/revoke`, undefined, 200);
        expect(revoked).toMatchObject({ status: 'revoked', revokeReason: 'revoked' });
        expect(revoked.revokedAt).toBe(new Date(h.clock.now()).toISOString());
        expect(await h.json('POST', '/v1/keys/verify', { key }, 200)).toMatchObject({ code: 'REVOKED' });
        expect((await h.json('POST', `/v1/keys/${keyId}/revoke`, { reason: 'again' }, 409)).code).toBe(
          'KEY_NOT_ACTIVE',
        );
        expect((await h.json('PATCH', `/v1/keys/${keyId}`, { name: 'zombie' }, 409)).code).toBe('KEY_NOT_ACTIVE');
        expect((await h.json('GET', `/v1/keys/${keyId}`, undefined, 200)).revokeReason).toBe('revoked');
      });

      it('refuses to revoke the last root key with *, and allows it once another exists', async () => {
        const roots = await h.json('GET', '/v1/keys?consumerId=root&status=active', undefined, 200);
        const star = roots.data.filter((k: { scopes: string[] }) => k.scopes.includes('*'));
        expect(star).toHaveLength(1);
        const bootstrapId = star[0].id;
        // A root key without * does not count as a replacement.
        const narrow = await h.json('POST', '/v1/keys', { consumerId: 'root', scopes: ['keys:read'] }, 201);
        expect((await h.json('POST', `/v1/keys/${bootstrapId}/revoke`, {}, 409)).code).toBe('CONFLICT');
        // Still usable (on the admin API: root keys never pass the verify API).
        expect((await h.request({ method: 'GET', url: '/v1/consumers' })).statusCode).toBe(200);

        // Nor can it lose * by a PATCH.
        expect((await h.json('PATCH', `/v1/keys/${bootstrapId}`, { scopes: ['keys:read'] }, 409)).code).toBe(
          'CONFLICT',
        );
        expect((await h.json('GET', `/v1/keys/${bootstrapId}`, undefined, 200)).scopes).toEqual(['*']);

        const spare = await h.json('POST', '/v1/keys', { consumerId: 'root', scopes: ['*'] }, 201);
        expect(spare.key).toMatch(/^kr_root_/);
        const narrowed = await h.json('PATCH', `/v1/keys/${spare.id}`, { scopes: ['keys:*'] }, 200);
        expect(narrowed.scopes).toEqual(['keys:*']);
        await h.json('POST', `/v1/keys/${spare.id}/revoke`, {}, 200);
        expect((await h.json('POST', `/v1/keys/${bootstrapId}/revoke`, {}, 409)).code).toBe('CONFLICT');
        await h.json('POST', `/v1/keys/${narrow.id}/revoke`, {}, 200);
      });
    });

    describe('verification codes', () => {
      it('answers VALID with what the provider needs to serve the request', async () => {
        const { key, keyId, consumerId } = await h.consumerWithKey({
          scopes: ['read', 'orders:*'],
          metadata: { plan: 'gold' },
          expiresIn: '1d',
        });
        expect(await h.json('POST', '/v1/keys/verify', { key, scopes: ['read', 'orders:create'] }, 200)).toEqual({
          valid: true,
          code: 'VALID',
          keyId,
          consumerId,
          scopes: ['read', 'orders:*'],
          metadata: { plan: 'gold' },
          deprecated: false,
          retiresAt: null,
          expiresAt: new Date(h.clock.now() + DAY).toISOString(),
        });
      });

      it('answers INSUFFICIENT_SCOPE naming the missing scopes', async () => {
        const { key, keyId } = await h.consumerWithKey({ scopes: ['read'] });
        expect(await h.json('POST', '/v1/keys/verify', { key, scopes: ['read', 'trade', 'admin:x'] }, 200)).toEqual(
          expect.objectContaining({
            valid: false,
            code: 'INSUFFICIENT_SCOPE',
            keyId,
            missingScopes: ['trade', 'admin:x'],
          }),
        );
        expect((await h.json('POST', '/v1/keys/verify', { key, scopes: [] }, 200)).code).toBe('VALID');
      });

      it('answers IP_NOT_ALLOWED outside the allow-list, VALID inside it (IPv4 and IPv6)', async () => {
        const { key } = await h.consumerWithKey({ allowedIps: ['10.0.0.0/8', '2001:db8::/32'] });
        const codeFor = async (ip?: string) =>
          (await h.json('POST', '/v1/keys/verify', { key, ...(ip ? { ip } : {}) }, 200)).code;
        expect(await codeFor('10.20.30.40')).toBe('VALID');
        expect(await codeFor('::ffff:10.1.2.3')).toBe('VALID');
        expect(await codeFor('2001:db8::1')).toBe('VALID');
        expect(await codeFor('11.0.0.1')).toBe('IP_NOT_ALLOWED');
        expect(await codeFor('2001:db9::1')).toBe('IP_NOT_ALLOWED');
        expect(await codeFor('not-an-ip')).toBe('IP_NOT_ALLOWED');
      });

      it('answers REVOKED, EXPIRED, NOT_FOUND and MALFORMED without revealing more', async () => {
        const revoked = await h.consumerWithKey();
        await h.json('POST', `/v1/keys/${revoked.keyId}/revoke`, {}, 200);
        expect(await h.json('POST', '/v1/keys/verify', { key: revoked.key }, 200)).toMatchObject({
          valid: false,
          code: 'REVOKED',
        });
        const expired = await h.consumerWithKey({ expiresIn: 60 });
        h.clock.advance(60_000);
        expect((await h.json('POST', '/v1/keys/verify', { key: expired.key }, 200)).code).toBe('EXPIRED');
        expect(await h.json('POST', '/v1/keys/verify', { key: generateKey('kr_live').key }, 200)).toEqual({
          valid: false,
          code: 'NOT_FOUND',
        });
        expect(await h.json('POST', '/v1/keys/verify', { key: 'kr_live_nope' }, 200)).toEqual({
          valid: false,
          code: 'MALFORMED',
        });
        // A revoked key's check comes before its scopes: a wrong scope does not mask the revocation.
        expect((await h.json('POST', '/v1/keys/verify', { key: revoked.key, scopes: ['x'] }, 200)).code).toBe(
          'REVOKED',
        );
      });
    });

    describe('limits and errors', () => {
      it('enforces the configured maximum of active keys with 409 KEY_LIMIT_REACHED', async () => {
        const consumerId = await newConsumer();
        const made = [];
        for (let i = 0; i < 3; i++) made.push(await h.json('POST', '/v1/keys', { consumerId }, 201));
        const problem = await h.json('POST', '/v1/keys', { consumerId }, 409);
        expect(problem).toMatchObject({ status: 409, code: 'KEY_LIMIT_REACHED', limit: 3 });
        // Revoked and expired keys no longer count.
        await h.json('POST', `/v1/keys/${made[0].id}/revoke`, {}, 200);
        const short = await h.json('POST', '/v1/keys', { consumerId, expiresIn: '10s' }, 201);
        expect((await h.json('POST', '/v1/keys', { consumerId }, 409)).code).toBe('KEY_LIMIT_REACHED');
        h.clock.advance(10_000);
        expect((await h.json('GET', `/v1/keys/${short.id}`, undefined, 200)).status).toBe('expired');
        await h.json('POST', '/v1/keys', { consumerId }, 201);
      });

      it('holds the maximum under concurrent requests', async () => {
        const consumerId = await newConsumer();
        const results = await Promise.all(
          Array.from({ length: 8 }, () => h.request({ method: 'POST', url: '/v1/keys', payload: { consumerId } })),
        );
        const codes = results.map((r) => r.statusCode).sort();
        expect(codes).toEqual([201, 201, 201, 409, 409, 409, 409, 409]);
        const active = await h.json('GET', `/v1/keys?consumerId=${consumerId}&status=active`, undefined, 200);
        expect(active.data).toHaveLength(3);
      });

      it.skipIf(!dialect.caps.twoNodes)('holds the maximum across two nodes', async () => {
        const config = loadConfig({
          KEYROLL_DATA_DIR: h.db.dataDir,
          KEYROLL_DATABASE_URL: h.db.url,
          KEYROLL_MAX_ACTIVE_KEYS: '3',
        });
        const second = await createKeyroll(config, { clock: h.clock });
        try {
          const consumerId = await newConsumer();
          const viaSecond = () =>
            second.app.inject({
              method: 'POST',
              url: '/v1/keys',
              headers: { authorization: `Bearer ${h.rootKey}` },
              payload: { consumerId },
            });
          const viaFirst = () => h.request({ method: 'POST', url: '/v1/keys', payload: { consumerId } });
          const results = await Promise.all([
            viaFirst(),
            viaSecond(),
            viaFirst(),
            viaSecond(),
            viaFirst(),
            viaSecond(),
          ]);
          expect(results.filter((r) => r.statusCode === 201)).toHaveLength(3);
          expect(results.filter((r) => r.statusCode === 409)).toHaveLength(3);
        } finally {
          await second.close();
        }
      });

      it('answers 404 for unknown key ids on get, patch and revoke', async () => {
        expect((await h.json('GET', '/v1/keys/key_nope', undefined, 404)).code).toBe('NOT_FOUND');
        expect((await h.json('PATCH', '/v1/keys/key_nope', { name: 'x' }, 404)).code).toBe('NOT_FOUND');
        expect((await h.json('POST', '/v1/keys/key_nope/revoke', {}, 404)).code).toBe('NOT_FOUND');
      });

      it('rejects an expiry in the past and both expiresAt and expiresIn', async () => {
        const consumerId = await newConsumer();
        const past = new Date(h.clock.now() - 1000).toISOString();
        expect((await h.json('POST', '/v1/keys', { consumerId, expiresAt: past }, 400)).code).toBe('VALIDATION_FAILED');
        const both = { consumerId, expiresAt: '2030-01-01T00:00:00Z', expiresIn: '1d' };
        expect((await h.json('POST', '/v1/keys', both, 400)).code).toBe('VALIDATION_FAILED');
        expect((await h.json('POST', '/v1/keys', { consumerId, expiresIn: 0 }, 400)).code).toBe('VALIDATION_FAILED');
      });

      it('never answers a verify for an unknown key with anything but NOT_FOUND', async () => {
        const stranger = generateKey('kr_live').key;
        expect(await h.json('POST', '/v1/keys/verify', { key: stranger }, 200)).toEqual({
          valid: false,
          code: 'NOT_FOUND',
        });
      });
    });
  });
}
