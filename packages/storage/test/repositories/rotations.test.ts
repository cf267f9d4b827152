import type { RotationRecord } from '@keyroll/core';
import {
  countRollingSelfRotations,
  deleteRotationPolicy,
  findKeyById,
  findKeysDueUnderPolicy,
  findRollingRotationIds,
  findRollingRotationOfKey,
  findRotation,
  findRotationPolicy,
  firstValidUseMinute,
  insertRotation,
  keyLastUsedAt,
  listRotationPolicies,
  listRotations,
  type RotationPolicyRecord,
  recordRotationReminder,
  requestsFromMinute,
  saveRotationPolicy,
  selfRotationStartsAfter,
  updateRotation,
} from '@keyroll/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, type TestDatabase } from '../../../../test/support/databases.js';
import { ACTOR, consumer, heads, key, logsAfter, seed } from './records.js';

const NO_EFFECTS = { keys: [], changes: [], audit: [] };

function rotation(
  id: string,
  consumerId: string,
  oldKeyId: string,
  fields: Partial<RotationRecord> = {},
): RotationRecord {
  return {
    id,
    consumerId,
    oldKeyId,
    newKeyId: null,
    state: 'rolling',
    origin: 'admin',
    policyId: null,
    rule: { mode: 'deadline' },
    graceMs: 60_000,
    onReuse: 'reject',
    reason: null,
    startedAt: 1000,
    deadlineAt: 61_000,
    claimedAt: null,
    firstUsedAt: null,
    extensions: [],
    endedAt: null,
    endReason: null,
    createdBy: ACTOR,
    ...fields,
  };
}

function policy(id: string, target: string, fields: Partial<RotationPolicyRecord> = {}): RotationPolicyRecord {
  return {
    id,
    target,
    consumerId: target === 'default' ? null : target,
    everyMs: 10_000,
    graceMs: 1000,
    retire: { mode: 'deadline' } as RotationPolicyRecord['retire'],
    notifyBeforeMs: null,
    onReuse: 'reject',
    createdAt: 1000,
    updatedAt: 1000,
    ...fields,
  };
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`rotation repositories on ${dialect.name}`, () => {
    let t: TestDatabase;
    beforeAll(async () => {
      t = await dialect.create();
    });
    afterAll(() => t?.drop());

    it('starts and steps a rotation: key patches and changes carry the key hash, audit events follow in order', async () => {
      const [old, successor] = await seed(t.store, consumer('c_rot'), [
        key('key_rot_old', 'c_rot'),
        key('key_rot_new', 'c_rot', 1000, { version: 2, predecessorId: 'key_rot_old' }),
      ]);
      if (!old || !successor) throw new Error('seed');
      const before = await heads(t.store);
      const started = rotation('rot_a', 'c_rot', old.id, { newKeyId: successor.id });
      await t.store.mutate((tx) =>
        insertRotation(
          tx,
          started,
          {
            keys: [{ keyId: old.id, retiresAt: 61_000 }],
            changes: [{ kind: 'rotation.started', keyId: old.id }],
            audit: [
              { action: 'rotation.started', targetType: 'rotation', targetId: 'rot_a', data: { oldKeyId: old.id } },
            ],
          },
          [old],
          { at: 1000, actor: ACTOR },
        ),
      );
      expect(await findRotation(t.store.db, 'rot_a')).toEqual(started);
      const stored = await t.store.db.selectFrom('rotations').selectAll().where('id', '=', 'rot_a').executeTakeFirst();
      expect(stored).toMatchObject({
        state: 'rolling',
        retire: '{"mode":"deadline"}',
        extensions: '[]',
        updated_at: 1000,
      });
      expect((await findKeyById(t.store.db, old.id))?.retiresAt).toBe(61_000);
      await t.store.mutate((tx) =>
        updateRotation(
          tx,
          'rot_a',
          {
            patch: { state: 'completed', endedAt: 2000, endReason: 'operator' },
            keys: [{ keyId: old.id, retiresAt: 2000 }],
            changes: [{ kind: 'rotation.completed', keyId: old.id }],
            audit: [{ action: 'rotation.completed', targetType: 'rotation', targetId: 'rot_a', data: {} }],
          },
          [old, successor],
          { at: 2000, actor: ACTOR },
        ),
      );
      expect(await findRotation(t.store.db, 'rot_a')).toEqual({
        ...started,
        state: 'completed',
        endedAt: 2000,
        endReason: 'operator',
      });
      expect(await findKeyById(t.store.db, old.id)).toMatchObject({ retiresAt: 2000, updatedAt: 2000 });
      expect(await logsAfter(t.store, before.change, before.audit)).toEqual({
        changes: [
          { kind: 'rotation.started', entity_id: old.id, key_hash: old.hash },
          { kind: 'rotation.completed', entity_id: old.id, key_hash: old.hash },
        ],
        audit: [
          {
            action: 'rotation.started',
            target_type: 'rotation',
            target_id: 'rot_a',
            actor: ACTOR,
            data: { oldKeyId: old.id },
          },
          { action: 'rotation.completed', target_type: 'rotation', target_id: 'rot_a', actor: ACTOR, data: {} },
        ],
      });
    });

    it('refuses a change about a key the step did not read, writing nothing', async () => {
      const [k] = await seed(t.store, consumer('c_unread'), [key('key_unread', 'c_unread')]);
      if (!k) throw new Error('seed');
      const effects = { ...NO_EFFECTS, changes: [{ kind: 'key.revoked' as const, keyId: k.id }] };
      await expect(
        t.store.mutate((tx) =>
          insertRotation(tx, rotation('rot_unread', 'c_unread', k.id), effects, [], { at: 1, actor: ACTOR }),
        ),
      ).rejects.toThrow(/did not read/);
      expect(await findRotation(t.store.db, 'rot_unread')).toBeUndefined();
    });

    it('finds, lists and counts rotations by state, origin, consumer and key', async () => {
      const keys = await seed(t.store, consumer('c_list'), [
        key('key_l1', 'c_list'),
        key('key_l2', 'c_list'),
        key('key_l3', 'c_list'),
      ]);
      const [k1, k2, k3] = keys.map((k) => k.id) as [string, string, string];
      await t.store.mutate(async (tx) => {
        const at = { at: 1000, actor: ACTOR };
        await insertRotation(
          tx,
          rotation('rot_l1', 'c_list', k1, { origin: 'self', startedAt: 5000, deadlineAt: 9000 }),
          NO_EFFECTS,
          [],
          at,
        );
        await insertRotation(
          tx,
          rotation('rot_l2', 'c_list', k2, { origin: 'self', startedAt: 6000, newKeyId: k3, deadlineAt: 8000 }),
          NO_EFFECTS,
          [],
          at,
        );
        await insertRotation(
          tx,
          rotation('rot_l3', 'c_list', k3, { origin: 'self', state: 'completed', startedAt: 7000 }),
          NO_EFFECTS,
          [],
          at,
        );
      });
      expect((await findRollingRotationOfKey(t.store.db, k1))?.id).toBe('rot_l1');
      expect(await findRollingRotationOfKey(t.store.db, k3)).toBeUndefined();
      const ids = (page: { data: { id: string }[] }) => page.data.map((r) => r.id);
      expect(ids(await listRotations(t.store.db, { consumerId: 'c_list' }, {}))).toEqual([
        'rot_l1',
        'rot_l2',
        'rot_l3',
      ]);
      expect(ids(await listRotations(t.store.db, { consumerId: 'c_list', keyId: k3 }, {}))).toEqual([
        'rot_l2',
        'rot_l3',
      ]);
      expect(ids(await listRotations(t.store.db, { consumerId: 'c_list', state: 'completed' }, {}))).toEqual([
        'rot_l3',
      ]);
      const rolling = await findRollingRotationIds(t.store.db, 1000);
      expect(rolling.filter((id) => id.startsWith('rot_l'))).toEqual(['rot_l2', 'rot_l1']);
      expect(await countRollingSelfRotations(t.store.db, 'c_list')).toBe(2);
      expect(await selfRotationStartsAfter(t.store.db, 'c_list', 5000, 10)).toEqual([7000, 6000]);
      expect(await selfRotationStartsAfter(t.store.db, 'c_list', 0, 1)).toEqual([7000]);
    });

    it('reads a key’s first valid use, its requests from a minute on and its last use', async () => {
      const [k] = await seed(t.store, consumer('c_use'), [key('key_use', 'c_use', 1000, { lastUsedAt: 180_000 })]);
      if (!k) throw new Error('seed');
      expect(await firstValidUseMinute(t.store.db, k.id)).toBeNull();
      await t.store.db
        .insertInto('usage_minutes')
        .values([
          { key_id: k.id, consumer_id: 'c_use', minute: 60_000, code: 'RATE_LIMITED', count: 2 },
          { key_id: k.id, consumer_id: 'c_use', minute: 120_000, code: 'VALID', count: 3 },
          { key_id: k.id, consumer_id: 'c_use', minute: 180_000, code: 'VALID', count: 4 },
        ])
        .execute();
      expect(await firstValidUseMinute(t.store.db, k.id)).toBe(120_000);
      expect(await requestsFromMinute(t.store.db, k.id, 60_000)).toBe(9);
      expect(await requestsFromMinute(t.store.db, k.id, 120_000)).toBe(7);
      expect(await requestsFromMinute(t.store.db, k.id, 240_000)).toBe(0);
      expect(await keyLastUsedAt(t.store.db, k.id)).toBe(180_000);
      expect(await keyLastUsedAt(t.store.db, 'key_unknown')).toBeNull();
    });

    it('sets, replaces and deletes a policy, each with a change and an audit event', async () => {
      await seed(t.store, consumer('c_pol'));
      const before = await heads(t.store);
      const set = policy('policy_p', 'c_pol');
      await t.store.mutate((tx) => saveRotationPolicy(tx, set, false, { at: 1000, actor: ACTOR }));
      const replaced = { ...set, everyMs: 20_000, updatedAt: 2000 };
      await t.store.mutate((tx) => saveRotationPolicy(tx, replaced, true, { at: 2000, actor: ACTOR }));
      expect(await findRotationPolicy(t.store.db, 'c_pol')).toEqual(replaced);
      expect((await listRotationPolicies(t.store.db)).map((p) => p.target)).toContain('c_pol');
      await t.store.mutate((tx) => deleteRotationPolicy(tx, replaced, { at: 3000, actor: ACTOR }));
      expect(await findRotationPolicy(t.store.db, 'c_pol')).toBeUndefined();
      const { changes, audit } = await logsAfter(t.store, before.change, before.audit);
      expect(changes).toEqual(
        ['rotation_policy.set', 'rotation_policy.set', 'rotation_policy.deleted'].map((kind) => ({
          kind,
          entity_id: 'policy_p',
          key_hash: null,
        })),
      );
      expect(audit.map((a) => a.data)).toEqual([
        { consumerId: 'c_pol', target: 'c_pol', every: 10_000, gracePeriodMs: 1000, onReuse: 'reject' },
        { consumerId: 'c_pol', target: 'c_pol', every: 20_000, gracePeriodMs: 1000, onReuse: 'reject' },
        { consumerId: 'c_pol', target: 'c_pol' },
      ]);
      expect(audit.every((a) => a.target_type === 'rotation_policy' && a.target_id === 'policy_p')).toBe(true);
    });

    it('finds the keys due under a policy and records each reminder once', async () => {
      await seed(t.store, consumer('c_due'), [
        key('key_due_old', 'c_due', 1000),
        key('key_due_young', 'c_due', 9000),
        key('key_due_revoked', 'c_due', 1000, { revokedAt: 2000, revokeReason: 'test' }),
        key('key_due_rolled', 'c_due', 1000),
      ]);
      await t.store.mutate((tx) =>
        insertRotation(
          tx,
          rotation('rot_due', 'c_due', 'key_due_rolled', { state: 'rolled_back', endedAt: 5000 }),
          NO_EFFECTS,
          [],
          { at: 1000, actor: ACTOR },
        ),
      );
      const scope = { policy: policy('policy_due', 'c_due'), defaultTarget: 'default', exceptConsumerId: 'root' };
      const due = await findKeysDueUnderPolicy(t.store.db, scope, 10_000, 5000, 100);
      expect(due.map((k) => k.id)).toEqual(['key_due_old']);
      const before = await heads(t.store);
      const reminder = { keyId: 'key_due_old', consumerId: 'c_due', policyId: 'policy_due', dueAt: 11_000 };
      expect(await t.store.mutate((tx) => recordRotationReminder(tx, reminder, { at: 10_000, actor: ACTOR }))).toBe(
        true,
      );
      expect(await t.store.mutate((tx) => recordRotationReminder(tx, reminder, { at: 10_001, actor: ACTOR }))).toBe(
        false,
      );
      expect(await logsAfter(t.store, before.change, before.audit)).toEqual({
        changes: [{ kind: 'rotation.reminder', entity_id: 'key_due_old', key_hash: null }],
        audit: [
          {
            action: 'rotation.reminder',
            target_type: 'key',
            target_id: 'key_due_old',
            actor: ACTOR,
            data: {
              consumerId: 'c_due',
              keyId: 'key_due_old',
              policyId: 'policy_due',
              rotatesAt: new Date(11_000).toISOString(),
            },
          },
        ],
      });
    });
  });
}
