import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { up as migrateKeyLineage } from '../../../storage/src/migrations/0009-key-lineage.js';

const MINUTE = 60_000;

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`key limits count per lineage on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect, { KEYROLL_SCHEDULER_INTERVAL_MS: '0' });
    });
    afterAll(() => h?.close());

    const verify = (key: string) => h.json('POST', '/v1/keys/verify', { key }, 200);
    const selfRotate = (key: string) =>
      h.request({
        method: 'POST',
        url: '/v1/self/rotate',
        headers: { 'x-api-key': key },
        auth: null,
        payload: { gracePeriod: 0 },
      });

    it('self-rotating with grace 0 in a loop does not reset a 5/min rate limit', async () => {
      h.clock.set(Math.ceil(h.clock.now() / MINUTE) * MINUTE);
      let { key } = await h.consumerWithKey({ scopes: ['read'], rateLimit: { limit: 5, window: '1m' } });
      let valid = 0;
      for (let round = 0; round < 14; round++) {
        for (let i = 0; i < 5; i++) if ((await verify(key)).valid) valid++;
        const rotated = await selfRotate(key);
        expect(rotated.statusCode, rotated.body).toBe(201);
        key = rotated.json().key;
        h.clock.advance(1000);
      }
      expect(valid).toBe(5);
      expect(await verify(key)).toMatchObject({ valid: false, code: 'RATE_LIMITED' });
      h.clock.advance(MINUTE);
      expect(await verify(key)).toMatchObject({ valid: true, ratelimit: { limit: 5, remaining: 4 } });
    });

    it('the old and the new key share one window and one quota during a rotation overlap', async () => {
      h.clock.set(Math.ceil(h.clock.now() / MINUTE) * MINUTE);
      const c = await h.consumerWithKey({
        scopes: ['read'],
        rateLimit: { limit: 4, window: '1m' },
        quota: { limit: 6, period: 'day' },
      });
      const rotation = await h.json('POST', `/v1/keys/${c.keyId}/rotate`, { gracePeriod: '1h' }, 201);
      const successor: string = rotation.key;
      const answers = [];
      for (const key of [c.key, successor, c.key, successor, c.key, successor]) answers.push(await verify(key));
      expect(answers.map((a) => a.valid)).toEqual([true, true, true, true, false, false]);
      expect(answers[1]).toMatchObject({ deprecated: false, ratelimit: { remaining: 2 }, quota: { remaining: 4 } });
      h.clock.advance(MINUTE);
      expect(await verify(c.key)).toMatchObject({ valid: true, deprecated: true, quota: { remaining: 1 } });
      expect(await verify(successor)).toMatchObject({ valid: true, quota: { remaining: 0 } });
      expect(await verify(successor)).toMatchObject({ valid: false, code: 'QUOTA_EXCEEDED' });
    });

    it('stores the first key of the chain as the lineage of every successor, and the migration fills it in', async () => {
      const c = await h.consumerWithKey({ scopes: ['read'] });
      let key = c.key;
      for (let i = 0; i < 3; i++) key = (await selfRotate(key)).json().key;
      const chain = () =>
        h.kr.store.db
          .selectFrom('keys')
          .select(['id', 'lineage_id', 'version'])
          .where('consumer_id', '=', c.consumerId)
          .orderBy('version')
          .execute();
      const rows = await chain();
      expect(rows.map((r) => r.version)).toEqual([1, 2, 3, 4]);
      expect(rows.every((r) => r.lineage_id === c.keyId)).toBe(true);
      // Rows written before the column existed (or by an older node): the migration's fill-in restores them.
      await h.kr.store.db.updateTable('keys').set({ lineage_id: null }).execute();
      await h.kr.store.db.schema.alterTable('keys').dropColumn('lineage_id').execute();
      // Migrations take an untyped database, as kysely's Migrator hands them one.
      await migrateKeyLineage(h.kr.store.db as Kysely<any>);
      expect(await chain()).toEqual(rows);
      const roots = await h.kr.store.db
        .selectFrom('keys')
        .select(['id', 'lineage_id'])
        .where('consumer_id', '=', 'root')
        .execute();
      expect(roots.every((r) => r.lineage_id === r.id)).toBe(true);
    });
  });
}
