import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

interface AuditEvent {
  id: string;
  seq: number;
  at: string;
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  data: Record<string, unknown>;
  hash: string;
  prevHash: string;
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`audit log over HTTP on ${dialect.name}`, () => {
    let h: Harness;
    let consumerId: string;
    let keyId: string;
    let bootstrapKeyId: string;

    beforeAll(async () => {
      h = await createHarness(dialect);
      ({ consumerId, keyId } = await h.consumerWithKey({ name: 'Production' }));
      h.clock.advance(1000);
      await h.json('PATCH', `/v1/keys/${keyId}`, { name: 'Prod' }, 200);
      await h.json('PATCH', `/v1/consumers/${consumerId}`, { name: 'Renamed' }, 200);
      await h.json('POST', `/v1/keys/${keyId}/revoke`, { reason: 'leaked' }, 200);
      await h.json('DELETE', `/v1/consumers/${consumerId}`, undefined, 204);
      bootstrapKeyId = (await h.json('GET', '/v1/keys?consumerId=root', undefined, 200)).data[0].id;
    });
    afterAll(() => h?.close());

    const all = async (query = ''): Promise<AuditEvent[]> =>
      (await h.json('GET', `/v1/audit?limit=100${query}`, undefined, 200)).data;

    it('lists every mutation in order, chained, with who did it and the consumer it concerns', async () => {
      const events = await all();
      expect(events.map((e) => e.action)).toEqual([
        'consumer.created',
        'key.created',
        'consumer.created',
        'key.created',
        'key.updated',
        'consumer.updated',
        'key.revoked',
        'consumer.deleted',
      ]);
      expect(events[0]).toMatchObject({ actor: 'system:bootstrap', targetId: 'root', targetType: 'consumer' });
      expect(events[1]).toMatchObject({ actor: 'system:bootstrap', targetId: bootstrapKeyId, targetType: 'key' });
      for (const e of events.slice(2)) expect(e.actor).toBe(`root:${bootstrapKeyId}`);
      for (const [i, e] of events.entries()) {
        if (i > 0) {
          expect(e.seq).toBeGreaterThan(events[i - 1]?.seq ?? Number.POSITIVE_INFINITY);
          expect(e.prevHash).toBe(events[i - 1]?.hash);
        }
        expect(e.id).toMatch(/^evt_/);
        expect(e.hash).toMatch(/^[0-9a-f]{64}$/);
        // Webhooks are built from audit data: every event names its consumer.
        expect(e.data.consumerId, `${e.action} data.consumerId`).toBe(i < 2 ? 'root' : consumerId);
      }
      expect(events.find((e) => e.action === 'key.revoked')).toMatchObject({
        targetId: keyId,
        data: { consumerId, reason: 'leaked' },
      });
      expect(events.find((e) => e.action === 'key.updated')?.at).toBe('2026-01-01T00:00:01.000Z');
    });

    it('filters by target and action and pages with a cursor', async () => {
      expect((await all(`&targetId=${keyId}`)).map((e) => e.action)).toEqual([
        'key.created',
        'key.updated',
        'key.revoked',
      ]);
      expect((await all('&action=consumer.created')).map((e) => e.targetId)).toEqual(['root', consumerId]);
      expect((await all(`&targetId=${consumerId}&action=consumer.deleted`)).map((e) => e.targetId)).toEqual([
        consumerId,
      ]);
      expect(await all('&action=nothing.happened')).toEqual([]);

      const everything = await all();
      const seen: AuditEvent[] = [];
      let cursor: string | null = null;
      do {
        const url: string = `/v1/audit?limit=3${cursor ? `&cursor=${cursor}` : ''}`;
        const page: { data: AuditEvent[]; nextCursor: string | null } = await h.json('GET', url, undefined, 200);
        seen.push(...page.data);
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toEqual(everything);
      // A cursor of the right shape but not from this list is refused, not read as "from the start".
      const forged = Buffer.from('c1:not-a-seq').toString('base64url');
      expect((await h.json('GET', `/v1/audit?cursor=${forged}`, undefined, 400)).code).toBe('INVALID_CURSOR');
    });

    it('verifies the chain, then names the first altered event', async () => {
      const events = await all();
      const ok = await h.json('GET', '/v1/audit/verify?full=true', undefined, 200);
      expect(ok).toMatchObject({ ok: true, events: events.length, head: events.at(-1)?.hash, full: true });

      const third = events[2];
      const sixth = events[5];
      if (!third || !sixth) throw new Error('expected at least six events');
      // Someone with database access rewrites history: two rows, the later one first.
      await sql`update audit_events set actor = ${'root:someone-else'} where id = ${sixth.id}`.execute(h.db.store.db);
      await sql`update audit_events set data = ${'{"name":"forged"}'} where id = ${third.id}`.execute(h.db.store.db);
      const broken = await h.json('GET', '/v1/audit/verify?full=true', undefined, 200);
      expect(broken).toMatchObject({
        ok: false,
        events: 2,
        head: events[1]?.hash,
        brokenAt: { seq: third.seq, id: third.id, reason: 'hash_mismatch' },
      });

      // Restoring the first row exposes the next one.
      await sql`update audit_events set data = ${JSON.stringify(third.data)} where id = ${third.id}`.execute(
        h.db.store.db,
      );
      expect((await h.json('GET', '/v1/audit/verify?full=true', undefined, 200)).brokenAt).toMatchObject({
        id: sixth.id,
      });
      await sql`update audit_events set actor = ${sixth.actor} where id = ${sixth.id}`.execute(h.db.store.db);
      expect((await h.json('GET', '/v1/audit/verify?full=true', undefined, 200)).ok).toBe(true);

      // A deleted row breaks the link of the one after it.
      await sql`delete from audit_events where id = ${events[3]?.id ?? ''}`.execute(h.db.store.db);
      expect(await h.json('GET', '/v1/audit/verify?full=true', undefined, 200)).toMatchObject({
        ok: false,
        brokenAt: { id: events[4]?.id, reason: 'link_mismatch' },
      });
    });
  });
}
