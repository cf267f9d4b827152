import {
  type ChangeKind,
  hasChangesUpTo,
  listAuditEvents,
  readChangeLogHead,
  readChangesAfter,
} from '@keyroll/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, type TestDatabase } from '../../../../test/support/databases.js';

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`change log and audit log reads on ${dialect.name}`, () => {
    let t: TestDatabase;
    beforeAll(async () => {
      t = await dialect.create();
    });
    afterAll(() => t?.drop());

    it('reads the change log after a sequence number, in order and in batches', async () => {
      expect(await readChangeLogHead(t.store.db)).toBe(0);
      expect(await hasChangesUpTo(t.store.db, 0)).toBe(false);
      const kinds: ChangeKind[] = ['consumer.created', 'key.created', 'key.revoked'];
      const seqs: number[] = [];
      for (const [i, kind] of kinds.entries()) {
        seqs.push(
          await t.store.mutate((tx) =>
            tx.change({ at: 100 + i, kind, entityId: `e${i}`, keyHash: kind.startsWith('key') ? `h${i}` : null }),
          ),
        );
      }
      expect(await readChangeLogHead(t.store.db)).toBe(seqs[2]);
      expect(await readChangesAfter(t.store.db, 0, 2)).toEqual([
        { seq: seqs[0], at: 100, kind: 'consumer.created', entityId: 'e0', keyHash: null },
        { seq: seqs[1], at: 101, kind: 'key.created', entityId: 'e1', keyHash: 'h1' },
      ]);
      expect((await readChangesAfter(t.store.db, seqs[1] ?? 0, 10)).map((c) => c.entityId)).toEqual(['e2']);
      expect(await hasChangesUpTo(t.store.db, seqs[0] ?? 0)).toBe(true);
      await t.store.db
        .deleteFrom('changes')
        .where('seq', '<=', seqs[1] ?? 0)
        .execute();
      expect(await hasChangesUpTo(t.store.db, seqs[1] ?? 0)).toBe(false);
    });

    it('lists audit events decoded, filtered and after a sequence number', async () => {
      for (const [i, action] of ['key.created', 'key.revoked', 'key.created'].entries()) {
        await t.store.mutate((tx) =>
          tx.audit({
            at: 200 + i,
            actor: 'system:test',
            action,
            targetType: 'key',
            targetId: `k${i % 2}`,
            data: { i },
          }),
        );
      }
      const all = await listAuditEvents(t.store.db, { limit: 10 });
      expect(all.map((e) => [e.action, e.targetId, e.data])).toEqual([
        ['key.created', 'k0', { i: 0 }],
        ['key.revoked', 'k1', { i: 1 }],
        ['key.created', 'k0', { i: 2 }],
      ]);
      expect(all[1]?.prevHash).toBe(all[0]?.hash);
      expect((await listAuditEvents(t.store.db, { targetId: 'k0', limit: 10 })).map((e) => e.data)).toEqual([
        { i: 0 },
        { i: 2 },
      ]);
      expect((await listAuditEvents(t.store.db, { action: 'key.revoked', limit: 10 })).map((e) => e.targetId)).toEqual([
        'k1',
      ]);
      expect(await listAuditEvents(t.store.db, { afterSeq: all[0]?.seq, limit: 1 })).toEqual([all[1]]);
    });
  });
}
