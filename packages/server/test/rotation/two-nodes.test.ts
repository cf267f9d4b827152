import { createKeyroll, type Keyroll, loadConfig } from '@keyroll/server';
import { createStore, type Store } from '@keyroll/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialectsWith } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { RotationScheduler } from '../../src/rotations/rotation-scheduler.js';

const MIN = 60_000;

// Two nodes in one process: only on dialects that can (DialectCaps.twoNodes).
for (const dialect of dialectsWith('twoNodes')) {
  describe.skipIf(!dialect.available)(`rotation scheduler on two nodes of one ${dialect.name} database`, () => {
    let h: Harness;
    let store2: Store;
    let node2: Keyroll;
    beforeAll(async () => {
      h = await createHarness(dialect, { KEYROLL_SCHEDULER_INTERVAL_MS: '0' });
      store2 = createStore({ databaseUrl: h.db.url, dataDir: h.db.dataDir, poolSize: 3 });
      const config = loadConfig({
        KEYROLL_DATA_DIR: h.db.dataDir,
        KEYROLL_DATABASE_URL: h.db.url,
        KEYROLL_SCHEDULER_INTERVAL_MS: '0',
      });
      node2 = await createKeyroll(config, { clock: h.clock, store: store2, scheduler: false });
    });
    afterAll(async () => {
      await node2?.close();
      await store2?.close();
      await h?.close();
    });

    it('only one node holds the scheduler lease at a time', async () => {
      const [a, b] = await Promise.all([h.kr.scheduler.tick(), node2.scheduler.tick()]);
      expect([a.leader, b.leader].filter(Boolean)).toHaveLength(1);
      const leader = a.leader ? h.kr.scheduler : node2.scheduler;
      const follower = a.leader ? node2.scheduler : h.kr.scheduler;
      expect((await follower.tick()).leader).toBe(false);
      expect((await leader.tick()).leader).toBe(true);
      // the leader stops (crash): its lease lapses and the other node takes over
      h.clock.advance(2 * MIN);
      expect((await follower.tick()).leader).toBe(true);
      expect((await leader.tick()).leader).toBe(false);
    });

    it('two nodes ticking at once (no lease) still complete each rotation exactly once', async () => {
      const runners = [h.kr, node2].map(
        (kr, i) =>
          new RotationScheduler({
            store: kr.store,
            clock: h.clock,
            engine: kr.rotations,
            policies: kr.rotationPolicies,
            intervalMs: 0,
            leaseMs: 0,
            nodeId: `runner-${i}`,
          }),
      );
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        const c = await h.consumerWithKey();
        ids.push((await h.json('POST', `/v1/keys/${c.keyId}/rotate`, { gracePeriod: '1m' }, 201)).rotation.id);
      }
      h.clock.advance(MIN);
      const reports = await Promise.all(runners.map((r) => r.tick()));
      expect(reports.reduce((n, r) => n + r.completed, 0)).toBe(ids.length);
      const completions = await h.kr.store.db
        .selectFrom('audit_events')
        .select('target_id')
        .where('action', '=', 'rotation.completed')
        .where('target_id', 'in', ids)
        .execute();
      expect(completions).toHaveLength(ids.length);
    });
  });
}
