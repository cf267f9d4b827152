import { createKeyroll, type Keyroll, loadConfig } from '@keyroll/server';
import { createStore, type Store } from '@keyroll/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

const DAY = 86_400_000;

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`a node cut off for longer than the change retention on ${dialect.name}`, () => {
    let h: Harness;
    let store: Store;
    let b: Keyroll;

    beforeAll(async () => {
      h = await createHarness(dialect);
      store = createStore({ databaseUrl: h.db.url, dataDir: h.db.dataDir, poolSize: 3 });
      // Node B polls (no LISTEN, even on PostgreSQL) and, here, only when told to: it stands for a
      // node that lost its database for days while still answering from its cache.
      const config = loadConfig({ KEYROLL_DATA_DIR: h.db.dataDir, KEYROLL_USAGE_FLUSH_MS: '0' });
      b = await createKeyroll(config, {
        clock: h.clock,
        store,
        scheduler: false,
        cluster: { nodeId: 'node-b', pollMs: 3_600_000, heartbeatMs: 3_600_000 },
      });
    });
    afterAll(async () => {
      await b?.close().catch(() => undefined);
      await store?.close().catch(() => undefined);
      await h?.close();
    });

    const verifyOnB = async (key: string) =>
      (
        await b.app.inject({
          method: 'POST',
          url: '/v1/keys/verify',
          headers: { authorization: `Bearer ${h.rootKey}` },
          payload: { key },
        })
      ).json().code;

    it('drops its whole key cache when it comes back, instead of missing the pruned revocation', async () => {
      const { key, keyId } = await h.consumerWithKey();
      await b.cluster.feed.catchUp();
      expect(await verifyOnB(key)).toBe('VALID'); // cached on B
      await b.usage.flush();

      // B goes silent; meanwhile the key is revoked, a week passes, more changes come, and A prunes.
      await h.db.store.db.updateTable('cluster_nodes').set({ heartbeat_at: 0 }).where('id', '=', 'node-b').execute();
      await h.json('POST', `/v1/keys/${keyId}/revoke`, {}, 200);
      h.clock.advance(8 * DAY);
      await h.consumerWithKey();
      const report = await h.kr.retention.tick();
      expect(report.leader).toBe(true);
      expect(report.changes).toBeGreaterThan(0);
      const oldest = await h.db.store.db
        .selectFrom('changes')
        .select((eb) => eb.fn.min('seq').as('seq'))
        .executeTakeFirstOrThrow();
      expect(Number(oldest.seq)).toBeGreaterThan(b.cluster.feed.appliedSeq + 1);

      // Still cut off, B answers from its stale cache.
      expect(await verifyOnB(key)).toBe('VALID');
      await b.usage.flush();
      // Back: its first read of the log finds the gap, drops every cache and reads afresh.
      await b.cluster.feed.catchUp();
      expect(b.cluster.lookup.cache.size).toEqual({ keys: 0, unknown: 0 });
      expect(await verifyOnB(key)).toBe('REVOKED');
      expect(b.cluster.feed.appliedSeq).toBe(await b.cluster.head());
    });

    it('a node that kept up keeps its cache across a prune and across sequence gaps', async () => {
      const { key } = await h.consumerWithKey();
      await b.cluster.feed.catchUp();
      expect(await verifyOnB(key)).toBe('VALID');
      h.clock.advance(8 * DAY);
      await h.consumerWithKey();
      await b.cluster.feed.catchUp();
      await h.kr.retention.tick();
      await h.consumerWithKey();
      await b.cluster.feed.catchUp();
      expect(b.cluster.lookup.cache.size.keys).toBeGreaterThan(0);
      // A plain sequence gap (a rolled-back insert on PostgreSQL) is not mistaken for pruning.
      const head = await b.cluster.head();
      await h.db.store.db
        .insertInto('changes')
        .values({ seq: head + 5, at: h.clock.now(), kind: 'consumer.updated', entity_id: 'c_gap', key_hash: null })
        .execute();
      await b.cluster.feed.catchUp();
      expect(b.cluster.feed.appliedSeq).toBe(head + 5);
      expect(b.cluster.lookup.cache.size.keys).toBeGreaterThan(0);
    });
  });
}
