import { createStore } from '@keyroll/storage';
import { StorageLimitSource } from '@keyroll/verifier/internal';
import { describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`StorageLimitSource on ${dialect.name}`, () => {
    it('reads consumers and plans once, and again after a change to them', async () => {
      const db = await dialect.create();
      try {
        const now = Date.UTC(2026, 0, 1);
        await db.store.db
          .insertInto('plans')
          .values({
            id: 'pln_1',
            name: 'free',
            rate_limit: JSON.stringify({ limit: 1, windowMs: 60_000 }),
            quota: null,
            created_at: now,
            updated_at: now,
          })
          .execute();
        const consumer = {
          id: 'csm_1',
          name: 'c',
          external_id: null,
          metadata: '{}',
          plan_id: 'pln_1',
          rate_limit: null,
          quota: JSON.stringify({ limit: 5, period: 'day' }),
          created_at: now,
          updated_at: now,
          deleted_at: null,
        };
        await db.store.db.insertInto('consumers').values(consumer).execute();
        // Its own connection, so that closing it plays storage going away.
        const own = createStore({ databaseUrl: db.url, dataDir: db.dataDir });
        const source = new StorageLimitSource({ store: own });

        expect(await source.consumer('csm_1')).toEqual({
          rateLimit: null,
          quota: { limit: 5, period: 'day' },
          planId: 'pln_1',
        });
        expect(await source.plan('pln_1')).toEqual({ rateLimit: { limit: 1, windowMs: 60_000 }, quota: null });
        expect(await source.consumer('csm_nope')).toBeNull();

        await db.store.db
          .updateTable('plans')
          .set({ quota: JSON.stringify({ limit: 9, period: 'month' }) })
          .execute();
        await db.store.db.updateTable('consumers').set({ plan_id: null }).execute();
        expect((await source.plan('pln_1'))?.quota).toBeNull();
        expect((await source.consumer('csm_1'))?.planId).toBe('pln_1');
        source.applyChange({ kind: 'plan.updated', entityId: 'pln_1' });
        source.applyChange({ kind: 'consumer.updated', entityId: 'csm_1' });
        source.applyChange({ kind: 'key.updated', entityId: 'key_1' });
        expect((await source.plan('pln_1'))?.quota).toEqual({ limit: 9, period: 'month' });
        expect((await source.consumer('csm_1'))?.planId).toBeNull();

        await own.close();
        expect(await source.consumer('csm_1')).toMatchObject({ planId: null });
        source.applyChange({ kind: 'consumer.updated', entityId: 'csm_1' });
        await expect(source.consumer('csm_1')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      } finally {
        await db.drop();
      }
    });
  });
}
