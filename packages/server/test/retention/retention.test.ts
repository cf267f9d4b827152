import { ManualClock } from '@keyroll/core/testing';
import { loadConfig } from '@keyroll/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { RetentionJob } from '../../src/cluster/retention.js';

const DAY = 86_400_000;

describe('retention configuration', () => {
  it('defaults to 90 days of usage, 7 of changes, 30 of webhook deliveries and 90 of acknowledged alerts', () => {
    expect(loadConfig({}).retention).toEqual({
      usageMs: 90 * DAY,
      changesMs: 7 * DAY,
      webhooksMs: 30 * DAY,
      alertsMs: 90 * DAY,
    });
  });

  it('reads durations from KEYROLL_*_RETENTION and names a bad one', () => {
    const config = loadConfig({
      KEYROLL_USAGE_RETENTION: '30d',
      KEYROLL_CHANGES_RETENTION: '36h',
      KEYROLL_WEBHOOK_RETENTION: '14d',
      KEYROLL_ALERT_RETENTION: '1d',
    });
    expect(config.retention).toEqual({ usageMs: 30 * DAY, changesMs: 1.5 * DAY, webhooksMs: 14 * DAY, alertsMs: DAY });
    expect(() => loadConfig({ KEYROLL_CHANGES_RETENTION: 'a week' })).toThrow(/KEYROLL_CHANGES_RETENTION/);
  });
});

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`retention on ${dialect.name}`, () => {
    let h: Harness;
    /** Wall clock of heartbeats and liveness: a node's liveness never hangs on how fast this machine runs. */
    const wall = new ManualClock();

    beforeAll(async () => {
      // Nothing writes in the background while a test counts rows: usage and client signals are only
      // written when flushed by hand (a real-time 1 s flush of a verification made earlier in the file
      // added a row between the prune and the count, depending on how long the test took).
      h = await createHarness(dialect, { KEYROLL_USAGE_FLUSH_MS: '0' }, { cluster: { clock: wall } });
    });
    afterAll(async () => {
      await h?.close();
    });

    /** A job like the node's own, with tiny batches so that every table takes several statements. */
    const job = (nodeId: string, batchSize = 2) =>
      new RetentionJob({
        store: h.kr.store,
        clock: h.clock,
        periods: h.kr.config.retention,
        liveAppliedSeqs: async () => (await h.kr.cluster.registry.liveNodes()).map((n) => n.appliedSeq),
        batchSize,
        nodeId,
        // The real-time budget is tested on its own below; here a slow machine must not end a tick early.
        budgetMs: 3_600_000,
      });
    const count = async (
      table:
        | 'usage_minutes'
        | 'unknown_key_minutes'
        | 'key_clients'
        | 'webhook_deliveries'
        | 'alerts'
        | 'edge_usage_batches',
    ) =>
      Number(
        (
          await h.db.store.db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );

    it('prunes usage, unknown-key counts, stale clients, edge batch ids, finished deliveries and acknowledged alerts exactly past their horizon', async () => {
      const db = h.db.store.db;
      const now = h.clock.now();
      const { consumerId, keyId } = await h.consumerWithKey();
      // Five rows just past each horizon, five exactly on it and one inside (kept).
      const ages = (horizon: number) => [
        ...[1, 2, 3, 4, 5].map((i) => horizon + i * 60_000),
        ...[0, 0, 0, 0, 0].map(() => horizon),
        horizon - 60_000,
      ];
      const usageAges = ages(90 * DAY);
      await db
        .insertInto('usage_minutes')
        .values(
          usageAges.map((age, i) => ({
            key_id: keyId,
            consumer_id: consumerId,
            minute: now - age,
            code: `C${i}`,
            count: 1,
          })),
        )
        .execute();
      await db
        .insertInto('unknown_key_minutes')
        .values(usageAges.map((age, i) => ({ address: `10.0.0.${i}`, minute: now - age, code: 'NOT_FOUND', count: 3 })))
        .execute();
      await db
        .insertInto('key_clients')
        .values(
          usageAges.map((age, i) => ({
            key_id: keyId,
            address: `10.0.1.${i}`,
            user_agent: 'ua',
            first_seen: now - 200 * DAY,
            last_seen: now - age,
            count: 1,
          })),
        )
        .execute();
      // Edge usage batch ids go with the usage counts: a batch resent later could only add to pruned minutes.
      await db
        .insertInto('edge_usage_batches')
        .values(usageAges.map((age, i) => ({ id: `batch-retention-${i}`, received_at: now - age })))
        .execute();
      const deliveryRow = (id: string, status: string, age: number, eventSeq: number) => ({
        id,
        webhook_id: 'wh_retention',
        event_seq: eventSeq,
        event_type: 'key.created',
        payload: '{}',
        status,
        attempts: 1,
        next_attempt_at: null,
        last_attempt_at: now - age,
        response_status: null,
        last_error: null,
        created_at: now - age,
        delivered_at: status === 'delivered' ? now - age : null,
      });
      await db
        .insertInto('webhook_deliveries')
        .values([
          deliveryRow('d-old-delivered', 'delivered', 31 * DAY, 1),
          deliveryRow('d-old-dead', 'dead', 31 * DAY, 2),
          deliveryRow('d-old-pending', 'pending', 400 * DAY, 3),
          deliveryRow('d-old-retrying', 'retrying', 400 * DAY, 4),
          deliveryRow('d-edge-delivered', 'delivered', 30 * DAY, 5),
          deliveryRow('d-new-dead', 'dead', 29 * DAY, 6),
        ])
        .execute();
      const alertRow = (id: string, age: number, acknowledged: boolean) => ({
        id,
        rule: 'unknown_key_burst',
        severity: 'warning',
        subject: id,
        consumer_id: null,
        key_id: null,
        message: 'm',
        data: '{}',
        raised_at: now - age,
        acknowledged_at: acknowledged ? now - age + 1 : null,
        acknowledged_by: acknowledged ? 'root:x' : null,
      });
      await db
        .insertInto('alerts')
        .values([
          alertRow('a-old-ack', 91 * DAY, true),
          alertRow('a-old-open', 400 * DAY, false),
          alertRow('a-edge-ack', 90 * DAY, true),
          alertRow('a-new-ack', 10 * DAY, true),
        ])
        .execute();

      const report = await job('node-a').tick();
      expect(report).toMatchObject({
        leader: true,
        usage_minutes: 5,
        unknown_key_minutes: 5,
        key_clients: 5,
        edge_usage_batches: 5,
        webhook_deliveries: 2,
        alerts: 1,
        partial: false,
      });
      expect(await count('usage_minutes')).toBe(6);
      expect(await count('unknown_key_minutes')).toBe(6);
      expect(await count('key_clients')).toBe(6);
      expect(await count('edge_usage_batches')).toBe(6);
      const deliveries = await db.selectFrom('webhook_deliveries').select('id').orderBy('id').execute();
      expect(deliveries.map((d) => d.id)).toEqual([
        'd-edge-delivered',
        'd-new-dead',
        'd-old-pending',
        'd-old-retrying',
      ]);
      const alerts = await db.selectFrom('alerts').select('id').orderBy('id').execute();
      expect(alerts.map((a) => a.id)).toEqual(['a-edge-ack', 'a-new-ack', 'a-old-open']);
      // Once more: nothing left to do.
      expect(await job('node-a').tick()).toMatchObject({ usage_minutes: 0, webhook_deliveries: 0, alerts: 0 });
    });

    it('prunes the change log past its horizon, but never what a live node has not applied, nor the newest change', async () => {
      const db = h.db.store.db;
      const oldest = Number(
        (
          await db
            .selectFrom('changes')
            .select((eb) => eb.fn.max('seq').as('s'))
            .executeTakeFirst()
        )?.s ?? 0,
      );
      for (let i = 0; i < 5; i++) await h.consumerWithKey();
      h.clock.advance(8 * DAY);
      const seqs = async () =>
        (await db.selectFrom('changes').select('seq').orderBy('seq').execute()).map((r) => Number(r.seq));
      const all = await seqs();
      expect(all.length).toBeGreaterThan(10);
      // A live node (fresh heartbeat) that applied only up to a change in the middle holds the rest back.
      const middle = all[Math.floor(all.length / 2)] ?? 0;
      await db
        .insertInto('cluster_nodes')
        .values({
          id: 'node-lagging',
          address: 'x',
          applied_seq: middle,
          started_at: wall.now(),
          heartbeat_at: wall.now(),
        })
        .execute();
      const first = await job('node-a').tick();
      expect(first.changes).toBe(all.filter((s) => s < middle).length);
      expect(await seqs()).toEqual(all.filter((s) => s >= middle));

      // Once it has gone silent, everything past the horizon goes, except the newest change.
      await db.updateTable('cluster_nodes').set({ heartbeat_at: 0 }).where('id', '=', 'node-lagging').execute();
      await job('node-a').tick();
      expect(await seqs()).toEqual([all.at(-1)]);

      // Sequence numbers keep growing after a prune; changes within the horizon stay, and the old
      // newest one goes once it is no longer the newest.
      await h.consumerWithKey();
      const after = await seqs();
      expect(after[0]).toBe(all.at(-1));
      expect(Math.min(...after.slice(1))).toBeGreaterThan(all.at(-1) ?? 0);
      expect(oldest).toBeLessThan(after[0] ?? 0);
      await job('node-a').tick();
      expect(await seqs()).toEqual(after.slice(1));
      // The node itself never missed anything: keys still verify here.
      const { key } = await h.consumerWithKey();
      expect((await h.json('POST', '/v1/keys/verify', { key }, 200)).code).toBe('VALID');
    });

    it('never deletes audit events: the chain still verifies after a prune', async () => {
      const before = await h.json('GET', '/v1/audit/verify', undefined, 200);
      h.clock.advance(400 * DAY);
      await h.consumerWithKey();
      await job('node-a').tick();
      const after = await h.json('GET', '/v1/audit/verify', undefined, 200);
      expect(after.ok).toBe(true);
      expect(after.events).toBeGreaterThan(before.events);
    });

    it('two nodes ticking at once: one holds the lease and prunes, the other does nothing', async () => {
      const { consumerId, keyId } = await h.consumerWithKey();
      const old = h.clock.now() - 100 * DAY;
      await h.db.store.db
        .insertInto('usage_minutes')
        .values(
          [1, 2, 3, 4, 5, 6, 7].map((i) => ({
            key_id: keyId,
            consumer_id: consumerId,
            minute: old - i * 60_000,
            code: 'VALID',
            count: 1,
          })),
        )
        .execute();
      // Leases are held for three intervals: let any earlier holder's lease run out.
      h.clock.advance(4 * 3_600_000);
      const [a, b] = await Promise.all([job('node-x').tick(), job('node-y').tick()]);
      expect([a.leader, b.leader].filter(Boolean)).toHaveLength(1);
      expect(a.usage_minutes + b.usage_minutes).toBe(7);
      expect(await count('usage_minutes')).toBe(0);
      // The holder keeps the lease on its next tick; the other is still refused.
      const holder = a.leader ? 'node-x' : 'node-y';
      const other = a.leader ? 'node-y' : 'node-x';
      expect((await job(holder).tick()).leader).toBe(true);
      expect((await job(other).tick()).leader).toBe(false);
    });

    it('stops at its time budget and says so; the next tick goes on', async () => {
      const { consumerId, keyId } = await h.consumerWithKey();
      const old = h.clock.now() - 100 * DAY;
      await h.db.store.db
        .insertInto('usage_minutes')
        .values(
          [1, 2, 3].map((i) => ({
            key_id: keyId,
            consumer_id: consumerId,
            minute: old - i * 60_000,
            code: 'VALID',
            count: 1,
          })),
        )
        .execute();
      h.clock.advance(4 * 3_600_000);
      const spent = new RetentionJob({
        store: h.kr.store,
        clock: h.clock,
        periods: h.kr.config.retention,
        liveAppliedSeqs: async () => [],
        budgetMs: 0,
        nodeId: 'node-budget',
      });
      expect(await spent.tick()).toMatchObject({ leader: true, partial: true, usage_minutes: 0 });
      expect(await count('usage_minutes')).toBe(3);
      expect(await job('node-budget').tick()).toMatchObject({ partial: false, usage_minutes: 3 });
    });
  });
}
