import {
  deletePlan,
  findPlan,
  findPlanIdByName,
  findPlanUser,
  insertPlan,
  listPlans,
  type PlanRecord,
  updatePlan,
} from '@keyroll/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, type TestDatabase } from '../../../../test/support/databases.js';
import { ACTOR, consumer, heads, key, logsAfter, seed } from './records.js';

function plan(id: string, fields: Partial<PlanRecord> = {}): PlanRecord {
  return { id, name: `name of ${id}`, rateLimit: null, quota: null, createdAt: 1000, updatedAt: 1000, ...fields };
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`plan repository on ${dialect.name}`, () => {
    let t: TestDatabase;
    beforeAll(async () => {
      t = await dialect.create();
    });
    afterAll(() => t?.drop());

    it('stores, changes and deletes a plan, each with a change and an audit event', async () => {
      const created = plan('plan_a', {
        rateLimit: { limit: 1, windowMs: 60_000 },
        quota: { limit: 5000, period: 'month' },
      });
      const before = await heads(t.store);
      await t.store.mutate((tx) => insertPlan(tx, created, { at: 1000, actor: ACTOR, data: { quota: created.quota } }));
      expect(await findPlan(t.store.db, 'plan_a')).toEqual(created);
      expect(await findPlanIdByName(t.store.db, 'name of plan_a')).toBe('plan_a');
      const updated = await t.store.mutate((tx) =>
        updatePlan(
          tx,
          created,
          { name: 'free', quota: null },
          { at: 2000, actor: ACTOR, data: { fields: ['name', 'quota'] } },
        ),
      );
      expect(await findPlan(t.store.db, 'plan_a')).toEqual(updated);
      expect(updated).toEqual({ ...created, name: 'free', quota: null, updatedAt: 2000 });
      expect((await listPlans(t.store.db, {})).data.map((p) => p.id)).toEqual(['plan_a']);
      await t.store.mutate((tx) => deletePlan(tx, updated, { at: 3000, actor: ACTOR }));
      expect(await findPlan(t.store.db, 'plan_a')).toBeUndefined();
      expect(await logsAfter(t.store, before.change, before.audit)).toEqual({
        changes: ['plan.created', 'plan.updated', 'plan.deleted'].map((kind) => ({
          kind,
          entity_id: 'plan_a',
          key_hash: null,
        })),
        audit: [
          expect.objectContaining({
            action: 'plan.created',
            target_type: 'plan',
            data: { name: 'name of plan_a', quota: created.quota },
          }),
          expect.objectContaining({ action: 'plan.updated', data: { fields: ['name', 'quota'] } }),
          expect.objectContaining({ action: 'plan.deleted', data: { name: 'free' } }),
        ],
      });
    });

    it('names a live consumer, else an unrevoked key, still on a plan', async () => {
      await t.store.mutate((tx) => insertPlan(tx, plan('plan_b'), { at: 1000, actor: ACTOR }));
      expect(await findPlanUser(t.store.db, 'plan_b')).toBeUndefined();
      await seed(t.store, consumer('consumer_b'), [
        key('key_b1', 'consumer_b', 1000, { planId: 'plan_b', revokedAt: 1000, revokeReason: 'x' }),
      ]);
      expect(await findPlanUser(t.store.db, 'plan_b')).toBeUndefined();
      await seed(t.store, consumer('consumer_c'), [key('key_c1', 'consumer_c', 1000, { planId: 'plan_b' })]);
      expect(await findPlanUser(t.store.db, 'plan_b')).toBe('key_c1');
      await seed(t.store, consumer('consumer_d', 1000, { planId: 'plan_b' }));
      expect(await findPlanUser(t.store.db, 'plan_b')).toBe('consumer_d');
    });
  });
}
