import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`consumers over HTTP on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect);
    });
    afterAll(() => h?.close());

    describe('happy path', () => {
      it('creates, reads, changes and lists a consumer', async () => {
        const created = await h.json(
          'POST',
          '/v1/consumers',
          { name: 'Acme', externalId: 'acme-1', metadata: { tier: 'pro' }, rateLimit: { limit: 10, window: '1m' } },
          201,
        );
        expect(created).toMatchObject({
          name: 'Acme',
          externalId: 'acme-1',
          metadata: { tier: 'pro' },
          rateLimit: { limit: 10, window: '1m' },
          createdAt: '2026-01-01T00:00:00.000Z',
        });
        expect(created.id).toMatch(/^csm_/);
        expect(await h.json('GET', `/v1/consumers/${created.id}`, undefined, 200)).toEqual(created);

        h.clock.advance(1000);
        const patched = await h.json('PATCH', `/v1/consumers/${created.id}`, { name: 'Acme Inc', metadata: {} }, 200);
        expect(patched).toMatchObject({ id: created.id, name: 'Acme Inc', externalId: 'acme-1', metadata: {} });
        expect(patched.updatedAt).toBe('2026-01-01T00:00:01.000Z');
        expect(await h.json('GET', `/v1/consumers/${created.id}`, undefined, 200)).toEqual(patched);
      });

      it('sets and clears rate limit, quota and externalId with PATCH', async () => {
        const c = await h.json('POST', '/v1/consumers', { name: 'limits', externalId: 'lim-1' }, 201);
        expect(c).toMatchObject({ rateLimit: null, quota: null });
        const limited = await h.json(
          'PATCH',
          `/v1/consumers/${c.id}`,
          { rateLimit: { limit: 100, window: 60 }, quota: { limit: 5000, period: 'month' } },
          200,
        );
        expect(limited).toMatchObject({
          rateLimit: { limit: 100, window: '1m' },
          quota: { limit: 5000, period: 'month' },
          externalId: 'lim-1',
        });
        const cleared = await h.json(
          'PATCH',
          `/v1/consumers/${c.id}`,
          { rateLimit: null, quota: null, externalId: null },
          200,
        );
        expect(cleared).toMatchObject({ rateLimit: null, quota: null, externalId: null, name: 'limits' });
        // The freed external id can be taken again.
        await h.json('POST', '/v1/consumers', { name: 'other', externalId: 'lim-1' }, 201);
      });

      it('pages through consumers with limit and cursor, each exactly once', async () => {
        const made = new Set<string>();
        for (let i = 0; i < 5; i++) made.add((await h.json('POST', '/v1/consumers', { name: `page-${i}` }, 201)).id);
        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const url: string = `/v1/consumers?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
          const page: { data: { id: string }[]; nextCursor: string | null } = await h.json('GET', url, undefined, 200);
          expect(page.data.length).toBeLessThanOrEqual(2);
          seen.push(...page.data.map((c) => c.id));
          cursor = page.nextCursor;
          pages++;
        } while (cursor && pages < 50);
        expect(cursor).toBeNull();
        expect(new Set(seen).size).toBe(seen.length);
        for (const id of made) expect(seen).toContain(id);
        expect(seen).toContain('root');
        const all = await h.json('GET', '/v1/consumers?limit=100', undefined, 200);
        expect(all.data.map((c: { id: string }) => c.id)).toEqual(seen);
        expect(all.nextCursor).toBeNull();
        // An empty cursor (a client passing on a null nextCursor) is the first page.
        expect(await h.json('GET', '/v1/consumers?limit=100&cursor=', undefined, 200)).toEqual(all);
      });

      it('deleting a consumer revokes its keys, hides it, and audits which keys went', async () => {
        const { consumerId, key, keyId } = await h.consumerWithKey();
        const second = await h.json('POST', '/v1/keys', { consumerId, name: 'second' }, 201);
        expect((await h.json('POST', '/v1/keys/verify', { key }, 200)).valid).toBe(true);

        const res = await h.request({ method: 'DELETE', url: `/v1/consumers/${consumerId}` });
        expect(res.statusCode).toBe(204);
        expect(res.body).toBe('');

        expect(await h.json('POST', '/v1/keys/verify', { key }, 200)).toMatchObject({ valid: false, code: 'REVOKED' });
        expect(await h.json('POST', '/v1/keys/verify', { key: second.key }, 200)).toMatchObject({
          valid: false,
          code: 'REVOKED',
        });
        for (const id of [keyId, second.id]) {
          expect(await h.json('GET', `/v1/keys/${id}`, undefined, 200)).toMatchObject({
            status: 'revoked',
            revokeReason: 'consumer_deleted',
          });
        }
        expect((await h.json('GET', `/v1/consumers/${consumerId}`, undefined, 404)).code).toBe('NOT_FOUND');
        const list = await h.json('GET', '/v1/consumers?limit=100', undefined, 200);
        expect(list.data.map((c: { id: string }) => c.id)).not.toContain(consumerId);
        const audit = await h.json('GET', `/v1/audit?targetId=${consumerId}&action=consumer.deleted`, undefined, 200);
        expect(audit.data).toHaveLength(1);
        expect(audit.data[0].data.revokedKeys.sort()).toEqual([keyId, second.id].sort());
        // Each key's revocation is audited on the key too, like any other revocation.
        for (const id of [keyId, second.id]) {
          const revoked = await h.json('GET', `/v1/audit?targetId=${id}&action=key.revoked`, undefined, 200);
          expect(revoked.data).toEqual([
            expect.objectContaining({ targetId: id, data: { consumerId, reason: 'consumer_deleted' } }),
          ]);
        }
      });
    });

    describe('errors', () => {
      it('answers 404 NOT_FOUND for unknown ids on get, patch and delete', async () => {
        for (const [method, body] of [
          ['GET', undefined],
          ['PATCH', { name: 'x' }],
          ['DELETE', undefined],
        ] as const) {
          const problem = await h.json(method, '/v1/consumers/csm_doesnotexist', body, 404);
          expect(problem).toMatchObject({ status: 404, code: 'NOT_FOUND' });
        }
      });

      it('answers 404 when the consumer of a new key is unknown or deleted', async () => {
        expect((await h.json('POST', '/v1/keys', { consumerId: 'csm_nope' }, 404)).code).toBe('NOT_FOUND');
        const gone = await h.json('POST', '/v1/consumers', { name: 'gone' }, 201);
        await h.json('DELETE', `/v1/consumers/${gone.id}`, undefined, 204);
        expect((await h.json('POST', '/v1/keys', { consumerId: gone.id }, 404)).code).toBe('NOT_FOUND');
        expect((await h.json('DELETE', `/v1/consumers/${gone.id}`, undefined, 404)).code).toBe('NOT_FOUND');
      });

      it('answers 409 CONFLICT for a duplicate externalId, on create and on patch', async () => {
        const a = await h.json('POST', '/v1/consumers', { name: 'a', externalId: 'dup-1' }, 201);
        const dup = await h.json('POST', '/v1/consumers', { name: 'b', externalId: 'dup-1' }, 409);
        expect(dup).toMatchObject({ status: 409, code: 'CONFLICT' });
        const b = await h.json('POST', '/v1/consumers', { name: 'b', externalId: 'dup-2' }, 201);
        expect((await h.json('PATCH', `/v1/consumers/${b.id}`, { externalId: 'dup-1' }, 409)).code).toBe('CONFLICT');
        // Setting a consumer's own external id again is no conflict.
        await h.json('PATCH', `/v1/consumers/${a.id}`, { externalId: 'dup-1' }, 200);
      });

      it('refuses to delete the root consumer', async () => {
        const problem = await h.json('DELETE', '/v1/consumers/root', undefined, 409);
        expect(problem.code).toBe('CONFLICT');
        expect(await h.json('GET', '/v1/consumers/root', undefined, 200)).toMatchObject({ id: 'root' });
        expect((await h.json('GET', '/v1/consumers', undefined, 200)).data.length).toBeGreaterThan(0);
      });

      it('answers 400 INVALID_CURSOR for a cursor it did not issue', async () => {
        for (const cursor of ['garbage', Buffer.from('c2:x').toString('base64url'), '%%%']) {
          const problem = await h.json('GET', `/v1/consumers?cursor=${encodeURIComponent(cursor)}`, undefined, 400);
          expect(problem.code).toBe('INVALID_CURSOR');
        }
      });

      it('answers 400 VALIDATION_FAILED for limits out of range', async () => {
        for (const limit of ['0', '101', 'ten', '-1', '1.5']) {
          const problem = await h.json('GET', `/v1/consumers?limit=${limit}`, undefined, 400);
          expect(problem.code).toBe('VALIDATION_FAILED');
        }
      });
    });
  });
}
