import { migrateToLatest, verifyAuditChain } from '@keyroll/storage';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, type TestDatabase } from '../../../test/support/databases.js';

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`storage on ${dialect.name}`, () => {
    let t: TestDatabase;
    beforeAll(async () => {
      t = await dialect.create();
    });
    afterAll(() => t?.drop());

    it('migrates idempotently', async () => {
      await migrateToLatest(t.store.db, t.store.dialect);
      const tables = ['consumers', 'keys', 'changes', 'audit_events'] as const;
      for (const table of tables) {
        await expect(t.store.db.selectFrom(table).selectAll().limit(1).execute()).resolves.toBeInstanceOf(Array);
      }
    });

    it('numbers changes in commit order, even when mutations run concurrently', async () => {
      const seqs = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          t.store.mutate(async (tx) => tx.change({ at: i, kind: 'test.concurrent', entityId: `e${i}` })),
        ),
      );
      expect(new Set(seqs).size).toBe(20);
      const rows = await t.store.db.selectFrom('changes').select('seq').orderBy('seq').execute();
      const all = rows.map((r) => r.seq);
      expect(all).toEqual([...all].sort((a, b) => a - b));
    });

    it('rolls back the change and audit rows of a failed mutation', async () => {
      const before = await t.store.db
        .selectFrom('changes')
        .select(sql<number>`count(*)`.as('n'))
        .executeTakeFirstOrThrow();
      await expect(
        t.store.mutate(async (tx) => {
          await tx.change({ at: 1, kind: 'test.failed', entityId: 'x' });
          await tx.audit({ at: 1, actor: 'test', action: 'test.failed', targetType: 't', targetId: 'x' });
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      const after = await t.store.db
        .selectFrom('changes')
        .select(sql<number>`count(*)`.as('n'))
        .executeTakeFirstOrThrow();
      expect(Number(after.n)).toBe(Number(before.n));
      const failed = await t.store.db
        .selectFrom('audit_events')
        .where('action', '=', 'test.failed')
        .selectAll()
        .execute();
      expect(failed).toEqual([]);
    });

    it('chains audit events and finds the first altered one', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        ids.push(
          await t.store.mutate((tx) =>
            tx.audit({
              at: 1000 + i,
              actor: 'tester',
              action: 'test.audit',
              targetType: 't',
              targetId: `t${i}`,
              data: { i },
            }),
          ),
        );
      }
      const good = await verifyAuditChain(t.store.db, { sliceSize: 2 });
      expect(good.ok).toBe(true);
      expect(good.events).toBeGreaterThanOrEqual(5);

      await t.store.db
        .updateTable('audit_events')
        .set({ data: '{"i":99}' })
        .where('id', '=', ids[2] ?? '')
        .execute();
      const bad = await verifyAuditChain(t.store.db, { sliceSize: 2 });
      expect(bad.ok).toBe(false);
      expect(bad.brokenAt).toMatchObject({ id: ids[2], reason: 'hash_mismatch' });
    });
  });
}
