import {
  forgetNodesSilentSince,
  listNodesHeardSince,
  pruneBatch,
  readChangeRetentionBounds,
  removeNode,
  takeLease,
  writeNodeHeartbeat,
} from '@keyroll/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, type TestDatabase } from '../../../../test/support/databases.js';

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`cluster and retention repositories on ${dialect.name}`, () => {
    let t: TestDatabase;
    beforeAll(async () => {
      t = await dialect.create();
    });
    afterAll(() => t?.drop());

    it('upserts heartbeats, lists nodes heard since an instant, and forgets silent ones', async () => {
      const node = (id: string, heartbeatAt: number) => ({
        id,
        address: `${id}:1`,
        appliedSeq: 1,
        startedAt: 1,
        heartbeatAt,
      });
      await writeNodeHeartbeat(t.store.db, node('a', 10));
      await writeNodeHeartbeat(t.store.db, node('b', 50));
      await writeNodeHeartbeat(t.store.db, { ...node('a', 100), appliedSeq: 7 });
      expect(await listNodesHeardSince(t.store.db, 60)).toEqual([{ ...node('a', 100), appliedSeq: 7 }]);
      await forgetNodesSilentSince(t.store.db, 60);
      expect((await listNodesHeardSince(t.store.db, 0)).map((n) => n.id)).toEqual(['a']);
      await removeNode(t.store.db, 'a');
      expect(await listNodesHeardSince(t.store.db, 0)).toEqual([]);
    });

    it('gives a job lease to one holder until it expires', async () => {
      const take = (holder: string, now: number) =>
        t.store.mutate((tx) => takeLease(tx.db, 'job', holder, now, now + 10));
      expect(await take('n1', 0)).toBe(true);
      expect(await take('n2', 5)).toBe(false);
      expect(await take('n1', 5)).toBe(true);
      expect(await take('n2', 16)).toBe(true);
      expect(await take('n1', 20)).toBe(false);
    });

    it('prunes rows past the horizon in batches and keeps the rest', async () => {
      const minutes = Array.from({ length: 5 }, (_, i) => ({
        address: 'a',
        minute: i * 60_000,
        code: 'NOT_FOUND',
        count: 1,
      }));
      await t.store.db.insertInto('unknown_key_minutes').values(minutes).execute();
      expect(await pruneBatch(t.store.db, t.store.dialect, 'unknown_key_minutes', 3 * 60_000, 2)).toBe(2);
      expect(await pruneBatch(t.store.db, t.store.dialect, 'unknown_key_minutes', 3 * 60_000, 2)).toBe(1);
      expect(await pruneBatch(t.store.db, t.store.dialect, 'unknown_key_minutes', 3 * 60_000, 2)).toBe(0);
      const left = await t.store.db.selectFrom('unknown_key_minutes').select('minute').orderBy('minute').execute();
      expect(left.map((r) => Number(r.minute))).toEqual([180_000, 240_000]);
    });

    it('prunes the change log as a prefix below the first sequence number to keep', async () => {
      const seqs: number[] = [];
      for (const at of [100, 200, 300]) {
        seqs.push(await t.store.mutate((tx) => tx.change({ at, kind: 'key.updated', entityId: `k${at}` })));
      }
      expect(await readChangeRetentionBounds(t.store.db, 150)).toEqual({ head: seqs[2], firstSince: seqs[1] });
      expect(await readChangeRetentionBounds(t.store.db, 400)).toEqual({ head: seqs[2], firstSince: null });
      expect(await pruneBatch(t.store.db, t.store.dialect, 'changes', seqs[1] ?? 0, 10)).toBeGreaterThanOrEqual(1);
      const left = await t.store.db.selectFrom('changes').select('seq').orderBy('seq').execute();
      expect(left.map((r) => Number(r.seq))).toEqual(seqs.slice(1));
    });
  });
}
