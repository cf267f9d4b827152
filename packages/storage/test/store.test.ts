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

    it('gives concurrent mutations distinct change numbers', async () => {
      const seqs = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          t.store.mutate(async (tx) => tx.change({ at: i, kind: 'consumer.updated', entityId: `e${i}` })),
        ),
      );
      expect(new Set(seqs).size).toBe(20);
    });

    // SQLite has one writer connection per process, so mutations cannot interleave there; on
    // PostgreSQL a sequence hands out numbers outside transactions, and only the mutation lock keeps
    // a later number from committing before an earlier one.
    it.skipIf(!dialect.caps.concurrentMutations)(
      'a follower reading "after its last seq" never skips a change that commits late',
      async () => {
        const max = await t.store.db
          .selectFrom('changes')
          .select((eb) => eb.fn.max('seq').as('seq'))
          .executeTakeFirstOrThrow();
        let cursor = Number(max.seq ?? 0);
        const seen: number[] = [];
        const follow = async (): Promise<void> => {
          const rows = await t.store.db
            .selectFrom('changes')
            .select('seq')
            .where('seq', '>', cursor)
            .orderBy('seq')
            .execute();
          for (const r of rows) seen.push(Number(r.seq));
          cursor = seen.at(-1) ?? cursor;
        };

        let release = (): void => undefined;
        const gate = new Promise<void>((r) => {
          release = r;
        });
        let appended = (_seq: number): void => undefined;
        const firstAppended = new Promise<number>((r) => {
          appended = r;
        });
        // The first mutation takes its number, then stays open.
        const first = t.store.mutate(async (tx) => {
          const seq = await tx.change({ at: 1, kind: 'consumer.updated', entityId: 'first' });
          appended(seq);
          await gate;
          return seq;
        });
        await firstAppended;
        // A second one starts meanwhile, on another connection.
        let secondSettled = false;
        const second = t.store
          .mutate(async (tx) => tx.change({ at: 2, kind: 'consumer.updated', entityId: 'second' }))
          .finally(() => {
            secondSettled = true;
          });
        // Until it has either committed or is queued behind the first (an advisory lock not granted).
        for (;;) {
          const waiting = await sql<{ n: number }>`
            select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted`.execute(t.store.db);
          if (secondSettled || (waiting.rows[0]?.n ?? 0) > 0) break;
        }
        await follow(); // a follower polling while the first is still open
        release();
        const numbers = await Promise.all([first, second]);
        await follow();
        expect(seen).toEqual([...numbers].sort((a, b) => a - b));
      },
    );

    it('rolls back the change and audit rows of a failed mutation', async () => {
      const before = await t.store.db
        .selectFrom('changes')
        .select(sql<number>`count(*)`.as('n'))
        .executeTakeFirstOrThrow();
      await expect(
        t.store.mutate(async (tx) => {
          await tx.change({ at: 1, kind: 'consumer.updated', entityId: 'x' });
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
