import {
  countKeysWithStatus,
  findKeyByHash,
  findKeyById,
  findUsableKeys,
  insertKey,
  listKeys,
  revokeKey,
  setKeyRetirement,
  updateKey,
} from '@keyroll/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, type TestDatabase } from '../../../../test/support/databases.js';
import { ACTOR, consumer, heads, key, logsAfter, seed } from './records.js';

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`key repository on ${dialect.name}`, () => {
    let t: TestDatabase;
    beforeAll(async () => {
      t = await dialect.create();
    });
    afterAll(() => t?.drop());

    it('stores a key and reads it back decoded, by id and by hash', async () => {
      const issued = key('key_a1', 'consumer_a', 1000, {
        scopes: ['read', 'trade'],
        metadata: { team: 'ops', nested: { n: 1 } },
        allowedIps: ['10.0.0.0/8'],
        rateLimit: { limit: 5, windowMs: 60_000 },
        quota: { limit: 100, period: 'month' },
        expiresAt: 9000,
      });
      const [stored] = await seed(t.store, consumer('consumer_a'), [issued]);
      expect(stored).toEqual({ ...issued, lineageId: 'key_a1' });
      expect(await findKeyById(t.store.db, 'key_a1')).toEqual(stored);
      expect(await findKeyByHash(t.store.db, 'hash-of-key_a1')).toEqual(stored);
      expect(await findKeyById(t.store.db, 'key_missing')).toBeUndefined();
    });

    it('appends the change (with the key hash) and the audit event of an insert', async () => {
      await seed(t.store, consumer('consumer_b'));
      const before = await heads(t.store);
      await t.store.mutate((tx) =>
        insertKey(tx, key('key_b1', 'consumer_b', 2000), { at: 2000, actor: ACTOR, data: { rotationId: 'rot_1' } }),
      );
      expect(await logsAfter(t.store, before.change, before.audit)).toEqual({
        changes: [{ kind: 'key.created', entity_id: 'key_b1', key_hash: 'hash-of-key_b1' }],
        audit: [
          {
            action: 'key.created',
            target_type: 'key',
            target_id: 'key_b1',
            actor: ACTOR,
            data: {
              consumerId: 'consumer_b',
              name: 'name of key_b1',
              hint: 'y_b1',
              version: 1,
              scopes: ['read'],
              rotationId: 'rot_1',
            },
          },
        ],
      });
    });

    it('puts a successor in its predecessor lineage', async () => {
      await seed(t.store, consumer('consumer_c'), [key('key_c1', 'consumer_c')]);
      const second = await t.store.mutate((tx) =>
        insertKey(tx, key('key_c2', 'consumer_c', 1001, { predecessorId: 'key_c1', version: 2 }), {
          at: 1001,
          actor: ACTOR,
        }),
      );
      const third = await t.store.mutate((tx) =>
        insertKey(tx, key('key_c3', 'consumer_c', 1002, { predecessorId: 'key_c2', version: 3 }), {
          at: 1002,
          actor: ACTOR,
        }),
      );
      expect([second.lineageId, third.lineageId]).toEqual(['key_c1', 'key_c1']);
      expect((await findKeyById(t.store.db, 'key_c3'))?.lineageId).toBe('key_c1');
    });

    it('updates only the fields given, with a change and an audit event', async () => {
      const [stored] = await seed(t.store, consumer('consumer_d'), [
        key('key_d1', 'consumer_d', 1000, { quota: { limit: 1, period: 'day' } }),
      ]);
      if (!stored) throw new Error('not seeded');
      const before = await heads(t.store);
      const updated = await t.store.mutate((tx) =>
        updateKey(
          tx,
          stored,
          { name: 'renamed', metadata: { a: [1, 2] }, rateLimit: { limit: 3, windowMs: 1000 } },
          {
            at: 3000,
            actor: ACTOR,
            data: { fields: ['name', 'metadata', 'rateLimit'] },
          },
        ),
      );
      const read = await findKeyById(t.store.db, 'key_d1');
      expect(read).toEqual(updated);
      expect(read).toEqual({
        ...stored,
        name: 'renamed',
        metadata: { a: [1, 2] },
        rateLimit: { limit: 3, windowMs: 1000 },
        updatedAt: 3000,
      });
      expect(await logsAfter(t.store, before.change, before.audit)).toEqual({
        changes: [{ kind: 'key.updated', entity_id: 'key_d1', key_hash: 'hash-of-key_d1' }],
        audit: [
          expect.objectContaining({
            action: 'key.updated',
            target_id: 'key_d1',
            data: { consumerId: 'consumer_d', fields: ['name', 'metadata', 'rateLimit'] },
          }),
        ],
      });
    });

    it('clears nullable JSON fields on update', async () => {
      const [stored] = await seed(t.store, consumer('consumer_e'), [
        key('key_e1', 'consumer_e', 1000, { allowedIps: ['::1'], quota: { limit: 1, period: 'day' } }),
      ]);
      if (!stored) throw new Error('not seeded');
      await t.store.mutate((tx) =>
        updateKey(tx, stored, { allowedIps: null, quota: null }, { at: 1500, actor: ACTOR }),
      );
      expect(await findKeyById(t.store.db, 'key_e1')).toMatchObject({ allowedIps: null, quota: null });
    });

    it('revokes a key with a change (with the key hash) and an audit event', async () => {
      const [stored] = await seed(t.store, consumer('consumer_f'), [key('key_f1', 'consumer_f')]);
      if (!stored) throw new Error('not seeded');
      const before = await heads(t.store);
      await t.store.mutate((tx) => revokeKey(tx, stored, 'leaked', { at: 4000, actor: ACTOR }));
      expect(await findKeyById(t.store.db, 'key_f1')).toMatchObject({
        revokedAt: 4000,
        revokeReason: 'leaked',
        updatedAt: 4000,
      });
      expect(await logsAfter(t.store, before.change, before.audit)).toEqual({
        changes: [{ kind: 'key.revoked', entity_id: 'key_f1', key_hash: 'hash-of-key_f1' }],
        audit: [
          expect.objectContaining({
            action: 'key.revoked',
            target_id: 'key_f1',
            data: { consumerId: 'consumer_f', reason: 'leaked' },
          }),
        ],
      });
    });

    it('moves a key retirement with a change (with the key hash) and an audit event', async () => {
      const [stored] = await seed(t.store, consumer('consumer_r'), [key('key_r1', 'consumer_r')]);
      if (!stored) throw new Error('not seeded');
      const before = await heads(t.store);
      const moved = await t.store.mutate((tx) =>
        setKeyRetirement(tx, stored, 90_000, { at: 5000, actor: ACTOR, data: { fields: ['retiresAt'] } }),
      );
      const read = await findKeyById(t.store.db, 'key_r1');
      expect(read).toEqual(moved);
      expect(read).toEqual({ ...stored, retiresAt: 90_000, updatedAt: 5000 });
      expect(await logsAfter(t.store, before.change, before.audit)).toEqual({
        changes: [{ kind: 'key.updated', entity_id: 'key_r1', key_hash: 'hash-of-key_r1' }],
        audit: [
          expect.objectContaining({
            action: 'key.updated',
            target_id: 'key_r1',
            data: { consumerId: 'consumer_r', retiresAt: new Date(90_000).toISOString(), fields: ['retiresAt'] },
          }),
        ],
      });
    });

    it('leaves no key, change or audit event behind when the mutation fails', async () => {
      await seed(t.store, consumer('consumer_g'));
      const before = await heads(t.store);
      await expect(
        t.store.mutate(async (tx) => {
          await insertKey(tx, key('key_g1', 'consumer_g'), { at: 1000, actor: ACTOR });
          throw new Error('later step failed');
        }),
      ).rejects.toThrow('later step failed');
      expect(await findKeyById(t.store.db, 'key_g1')).toBeUndefined();
      expect(await logsAfter(t.store, before.change, before.audit)).toEqual({ changes: [], audit: [] });
    });

    it('filters keys by consumer and by status at a given time, and counts them', async () => {
      await seed(t.store, consumer('consumer_h'), [
        key('key_h1', 'consumer_h'),
        key('key_h2', 'consumer_h', 1000, { retiresAt: 5000 }),
        key('key_h3', 'consumer_h', 1000, { expiresAt: 2000 }),
        key('key_h4', 'consumer_h', 1000, { revokedAt: 1500, revokeReason: 'x' }),
      ]);
      const ids = async (status?: 'active' | 'deprecated' | 'expired' | 'revoked' | 'retired') =>
        (await listKeys(t.store.db, t.store.dialect, { consumerId: 'consumer_h', status }, {}, 3000)).data.map(
          (k) => k.id,
        );
      expect(await ids()).toEqual(['key_h1', 'key_h2', 'key_h3', 'key_h4']);
      expect(await ids('active')).toEqual(['key_h1']);
      expect(await ids('deprecated')).toEqual(['key_h2']);
      expect(await ids('expired')).toEqual(['key_h3']);
      expect(await ids('revoked')).toEqual(['key_h4']);
      expect(await countKeysWithStatus(t.store.db, 'consumer_h', 'active', 3000)).toBe(1);
      expect(await countKeysWithStatus(t.store.db, 'consumer_h', 'retired', 6000)).toBe(1);
      const page = await listKeys(t.store.db, t.store.dialect, { consumerId: 'consumer_h' }, { limit: 3 }, 3000);
      expect(page.data).toHaveLength(3);
      const rest = await listKeys(
        t.store.db,
        t.store.dialect,
        { consumerId: 'consumer_h' },
        { cursor: page.nextCursor ?? '' },
        3000,
      );
      expect(rest.data.map((k) => k.id)).toEqual(['key_h4']);
    });

    it('finds usable keys but the excluded ones and successors issued by the write under way', async () => {
      await seed(t.store, consumer('consumer_i'), [
        key('key_i1', 'consumer_i'),
        key('key_i2', 'consumer_i', 1000, { retiresAt: 9000 }),
        key('key_i3', 'consumer_i', 1000, { revokedAt: 1000, revokeReason: 'x' }),
        key('key_i4', 'consumer_i', 5000, { predecessorId: 'key_i2', version: 2 }),
      ]);
      const ids = async (exclusions: Parameters<typeof findUsableKeys>[3]) =>
        (await findUsableKeys(t.store.db, 'consumer_i', 5000, exclusions)).map((k) => k.id).sort();
      expect(await ids({ except: 'key_i1' })).toEqual(['key_i2', 'key_i4']);
      expect(await ids({ except: 'key_i1', successorsCreatedAt: 5000 })).toEqual(['key_i2']);
    });
  });
}
