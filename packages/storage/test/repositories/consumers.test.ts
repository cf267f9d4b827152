import {
  deleteConsumer,
  findConsumer,
  findConsumerIdByExternalId,
  findKeyById,
  findLiveConsumer,
  listLiveConsumers,
  updateConsumer,
} from '@keyroll/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, type TestDatabase } from '../../../../test/support/databases.js';
import { ACTOR, consumer, heads, key, logsAfter, seed } from './records.js';

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`consumer repository on ${dialect.name}`, () => {
    let t: TestDatabase;
    beforeAll(async () => {
      t = await dialect.create();
    });
    afterAll(() => t?.drop());

    it('stores a consumer and reads it back decoded, with a change and an audit event', async () => {
      const created = consumer('consumer_a', 1000, {
        externalId: 'ext-a',
        metadata: { tier: 'gold' },
        planId: null,
        rateLimit: { limit: 10, windowMs: 1000 },
        quota: { limit: 5, period: 'day' },
      });
      const before = await heads(t.store);
      await seed(t.store, created);
      expect(await findConsumer(t.store.db, 'consumer_a')).toEqual(created);
      expect(await findLiveConsumer(t.store.db, 'consumer_a')).toEqual(created);
      expect(await findConsumerIdByExternalId(t.store.db, 'ext-a')).toBe('consumer_a');
      expect(await logsAfter(t.store, before.change, before.audit)).toEqual({
        changes: [{ kind: 'consumer.created', entity_id: 'consumer_a', key_hash: null }],
        audit: [
          {
            action: 'consumer.created',
            target_type: 'consumer',
            target_id: 'consumer_a',
            actor: ACTOR,
            data: { consumerId: 'consumer_a', name: 'name of consumer_a' },
          },
        ],
      });
    });

    it('updates only the fields given', async () => {
      await seed(
        t.store,
        consumer('consumer_b', 1000, { metadata: { keep: true }, quota: { limit: 1, period: 'day' } }),
      );
      const before = await heads(t.store);
      await t.store.mutate((tx) =>
        updateConsumer(
          tx,
          'consumer_b',
          { name: 'renamed', quota: null },
          { at: 2000, actor: ACTOR, data: { fields: ['name', 'quota'] } },
        ),
      );
      expect(await findConsumer(t.store.db, 'consumer_b')).toMatchObject({
        name: 'renamed',
        metadata: { keep: true },
        quota: null,
        updatedAt: 2000,
      });
      expect(await logsAfter(t.store, before.change, before.audit)).toEqual({
        changes: [{ kind: 'consumer.updated', entity_id: 'consumer_b', key_hash: null }],
        audit: [expect.objectContaining({ data: { consumerId: 'consumer_b', fields: ['name', 'quota'] } })],
      });
    });

    it('deleting a consumer revokes each of its keys the one way keys are revoked: a change and an audit event per key', async () => {
      await seed(t.store, consumer('consumer_c'), [
        key('key_c1', 'consumer_c'),
        key('key_c2', 'consumer_c'),
        key('key_c3', 'consumer_c', 1000, { revokedAt: 1000, revokeReason: 'earlier' }),
      ]);
      const before = await heads(t.store);
      const revoked = await t.store.mutate((tx) => deleteConsumer(tx, 'consumer_c', { at: 3000, actor: ACTOR }));
      expect(revoked.sort()).toEqual(['key_c1', 'key_c2']);
      const logs = await logsAfter(t.store, before.change, before.audit);
      expect(logs.changes).toEqual([
        ...['key_c1', 'key_c2'].map((id) => ({ kind: 'key.revoked', entity_id: id, key_hash: `hash-of-${id}` })),
        { kind: 'consumer.deleted', entity_id: 'consumer_c', key_hash: null },
      ]);
      expect(logs.audit).toEqual([
        ...['key_c1', 'key_c2'].map((id) => ({
          action: 'key.revoked',
          target_type: 'key',
          target_id: id,
          actor: ACTOR,
          data: { consumerId: 'consumer_c', reason: 'consumer_deleted' },
        })),
        {
          action: 'consumer.deleted',
          target_type: 'consumer',
          target_id: 'consumer_c',
          actor: ACTOR,
          data: { consumerId: 'consumer_c', revokedKeys: revoked },
        },
      ]);
      expect(await findKeyById(t.store.db, 'key_c1')).toMatchObject({
        revokedAt: 3000,
        revokeReason: 'consumer_deleted',
      });
      expect(await findKeyById(t.store.db, 'key_c3')).toMatchObject({ revokedAt: 1000, revokeReason: 'earlier' });
      expect(await findLiveConsumer(t.store.db, 'consumer_c')).toBeUndefined();
      expect(await findConsumer(t.store.db, 'consumer_c')).toMatchObject({ deletedAt: 3000 });
    });

    it('lists only consumers that are not deleted', async () => {
      await seed(t.store, consumer('consumer_d'));
      await t.store.mutate((tx) => deleteConsumer(tx, 'consumer_d', { at: 4000, actor: ACTOR }));
      const listed = (await listLiveConsumers(t.store.db, t.store.dialect, { limit: 100 })).data.map((c) => c.id);
      expect(listed).toContain('consumer_a');
      expect(listed).not.toContain('consumer_d');
    });
  });
}
