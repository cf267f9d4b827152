import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { RotationScheduler } from '../../src/rotations/rotation-scheduler.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`rotation scheduler on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect, { KEYROLL_SCHEDULER_INTERVAL_MS: '0' });
    });
    afterAll(() => h?.close());

    const verify = (key: string) => h.json('POST', '/v1/keys/verify', { key }, 200);
    /** Verifies a key (a request from the client) and writes the usage counts. */
    const use = async (key: string) => {
      const r = await verify(key);
      await h.kr.usage.flush();
      return r;
    };
    const rotation = (id: string) => h.json('GET', `/v1/rotations/${id}`, undefined, 200);
    const auditActions = async (targetId: string) =>
      (
        await h.kr.store.db
          .selectFrom('audit_events')
          .select('action')
          .where('target_id', '=', targetId)
          .orderBy('seq')
          .execute()
      ).map((e) => e.action);

    it('completes rotations whose deadline passed (the key retired by its timestamp already)', async () => {
      const c = await h.consumerWithKey();
      const res = await h.json('POST', `/v1/keys/${c.keyId}/rotate`, { gracePeriod: '1h' }, 201);
      h.clock.advance(HOUR - 1);
      await h.kr.scheduler.tick();
      expect((await rotation(res.rotation.id)).state).toBe('rolling');
      h.clock.advance(1);
      expect(await verify(c.key)).toMatchObject({ code: 'RETIRED' });
      const report = await h.kr.scheduler.tick();
      expect(report.leader).toBe(true);
      expect(report.completed).toBeGreaterThanOrEqual(1);
      expect(await rotation(res.rotation.id)).toMatchObject({ state: 'completed', endReason: 'deadline' });
      expect(await auditActions(res.rotation.id)).toEqual(['rotation.started', 'rotation.completed']);
      expect((await h.kr.scheduler.tick()).completed).toBe(0);
    });

    it('when-idle: retires the old key once unused for idleFor, not before minGrace', async () => {
      const c = await h.consumerWithKey();
      const res = await h.json(
        'POST',
        `/v1/keys/${c.keyId}/rotate`,
        { gracePeriod: '7d', retire: { mode: 'when-idle', idleFor: '1h', minGrace: '2h' } },
        201,
      );
      expect(res.rotation.retire).toMatchObject({ mode: 'when-idle', idleFor: '1h', minGrace: '2h', maxGrace: '1w' });
      h.clock.advance(30 * MIN);
      await use(c.key);
      h.clock.advance(80 * MIN); // idle for 80 min, but minGrace (2h) not yet passed
      await h.kr.scheduler.tick();
      expect((await h.json('GET', `/v1/keys/${c.keyId}`, undefined, 200)).status).toBe('deprecated');
      h.clock.advance(10 * MIN); // 2h since the start
      await h.kr.scheduler.tick();
      expect(await rotation(res.rotation.id)).toMatchObject({ state: 'completed', endReason: 'idle' });
      expect(await verify(c.key)).toMatchObject({ valid: false, code: 'RETIRED' });
      expect(await verify(res.key)).toMatchObject({ valid: true });
    });

    it('when-idle: keeps a still-used old key and pushes a deadline back while it is in use', async () => {
      const c = await h.consumerWithKey();
      const res = await h.json(
        'POST',
        `/v1/keys/${c.keyId}/rotate`,
        { gracePeriod: '2h', retire: { mode: 'when-idle', idleFor: '30m', extendBy: '1h', maxExtensions: 2 } },
        201,
      );
      const start = Date.parse(res.rotation.startedAt);
      for (const [at, expected] of [
        [2 * HOUR, 3 * HOUR],
        [3 * HOUR, 4 * HOUR],
      ]) {
        h.clock.set(start + (at ?? 0) - 2 * MIN);
        await use(c.key); // still in use two minutes before the deadline
        h.clock.advance(MIN);
        const report = await h.kr.scheduler.tick();
        expect(report.extended).toBe(1);
        expect((await rotation(res.rotation.id)).retiresAt).toBe(new Date(start + (expected ?? 0)).toISOString());
      }
      h.clock.set(start + 4 * HOUR - 2 * MIN);
      await use(c.key);
      h.clock.advance(MIN);
      expect((await h.kr.scheduler.tick()).extended).toBe(0); // maxExtensions reached
      h.clock.set(start + 4 * HOUR);
      expect(await verify(c.key)).toMatchObject({ code: 'RETIRED' });
      await h.kr.scheduler.tick();
      const done = await rotation(res.rotation.id);
      expect(done).toMatchObject({ state: 'completed', endReason: 'deadline' });
      expect(done.extensions).toHaveLength(2);
      expect(await auditActions(res.rotation.id)).toEqual([
        'rotation.started',
        'rotation.extended',
        'rotation.extended',
        'rotation.completed',
      ]);
    });

    it('when-idle extensions never stretch the old key past its own expiry', async () => {
      const c = await h.consumerWithKey({ expiresIn: '3h' });
      const res = await h.json(
        'POST',
        `/v1/keys/${c.keyId}/rotate`,
        { gracePeriod: '2h', retire: { mode: 'when-idle', idleFor: '30m', extendBy: '5h' } },
        201,
      );
      const start = Date.parse(res.rotation.startedAt);
      h.clock.set(start + 2 * HOUR - MIN);
      await use(c.key);
      await h.kr.scheduler.tick();
      const old = await h.json('GET', `/v1/keys/${c.keyId}`, undefined, 200);
      expect(old.retiresAt).toBe(old.expiresAt);
      expect((await rotation(res.rotation.id)).retiresAt).toBe(old.expiresAt);
    });

    it('after-first-use: the grace clock starts when the successor is first used, capped by maxGrace', async () => {
      const c = await h.consumerWithKey();
      const res = await h.json(
        'POST',
        `/v1/keys/${c.keyId}/rotate`,
        { gracePeriod: '30d', retire: { mode: 'after-first-use', gracePeriod: '1d' } },
        201,
      );
      const start = Date.parse(res.rotation.startedAt);
      expect(res.rotation.retiresAt).toBe(new Date(start + 30 * DAY).toISOString());
      h.clock.advance(2 * DAY);
      expect((await h.kr.scheduler.tick()).firstUse).toBe(0);
      await use(res.key);
      const firstMinute = h.clock.now() - (h.clock.now() % MIN);
      expect((await h.kr.scheduler.tick()).firstUse).toBe(1);
      const got = await rotation(res.rotation.id);
      expect(got.successorFirstUsedAt).toBe(new Date(firstMinute).toISOString());
      expect(got.retiresAt).toBe(new Date(firstMinute + DAY).toISOString());
      h.clock.set(firstMinute + DAY - 1);
      expect(await verify(c.key)).toMatchObject({ valid: true, deprecated: true });
      h.clock.set(firstMinute + DAY);
      expect(await verify(c.key)).toMatchObject({ code: 'RETIRED' });
      await h.kr.scheduler.tick();
      expect((await rotation(res.rotation.id)).state).toBe('completed');
      expect(await auditActions(res.rotation.id)).toEqual([
        'rotation.started',
        'rotation.shortened',
        'rotation.completed',
      ]);
    });

    it('one node at a time holds the lease; a second runner takes over when it lapses', async () => {
      const other = new RotationScheduler({
        store: h.kr.store,
        clock: h.clock,
        engine: h.kr.rotations,
        policies: h.kr.rotationPolicies,
        intervalMs: 0,
        nodeId: 'other-node',
      });
      expect((await h.kr.scheduler.tick()).leader).toBe(true);
      expect((await other.tick()).leader).toBe(false);
      expect((await h.kr.scheduler.tick()).leader).toBe(true);
      h.clock.advance(2 * MIN);
      expect((await other.tick()).leader).toBe(true);
      expect((await h.kr.scheduler.tick()).leader).toBe(false);
      h.clock.advance(2 * MIN);
      expect((await h.kr.scheduler.tick()).leader).toBe(true);
    });

    it('jobs are idempotent: two runners at once complete each rotation once', async () => {
      const runners = ['a', 'b'].map(
        (nodeId) =>
          new RotationScheduler({
            store: h.kr.store,
            clock: h.clock,
            engine: h.kr.rotations,
            policies: h.kr.rotationPolicies,
            intervalMs: 0,
            leaseMs: 0,
            nodeId,
          }),
      );
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        const c = await h.consumerWithKey();
        ids.push((await h.json('POST', `/v1/keys/${c.keyId}/rotate`, { gracePeriod: '1m' }, 201)).rotation.id);
      }
      h.clock.advance(MIN);
      await Promise.all(runners.map((r) => r.tick()));
      for (const id of ids) {
        expect((await auditActions(id)).filter((a) => a === 'rotation.completed')).toHaveLength(1);
        expect((await rotation(id)).state).toBe('completed');
      }
    });
  });
}
