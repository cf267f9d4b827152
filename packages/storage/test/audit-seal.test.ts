import { randomBytes } from 'node:crypto';
import {
  createStore,
  openAuditHead,
  readAuditHead,
  type Store,
  sealAuditAppends,
  verifyAuditChain,
} from '@keyroll/storage';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, type TestDatabase } from '../../../test/support/databases.js';

const KEY = randomBytes(32);

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`sealed audit chain on ${dialect.name}`, () => {
    let t: TestDatabase;
    let store: Store;
    const others: Store[] = [];
    beforeEach(async () => {
      t = await dialect.create();
      store = sealAuditAppends(t.store, KEY);
    });
    afterEach(async () => {
      await Promise.all(others.splice(0).map((s) => s.close()));
      await t.drop();
    });
    afterAll(() => undefined);

    const append = (s: Store, n: number, tag = 'e') =>
      s.mutate(async (tx) => {
        const ids: string[] = [];
        for (let i = 0; i < n; i++) {
          ids.push(
            await tx.audit({
              at: 1000 + i,
              actor: 'tester',
              action: 'test.audit',
              targetType: 't',
              targetId: `${tag}${i}`,
            }),
          );
        }
        return ids;
      });
    const verify = (options: Parameters<typeof verifyAuditChain>[1] = {}) =>
      verifyAuditChain(t.store.db, { key: KEY, now: 1, ...options });
    const lastSeqs = async (n: number) =>
      (await t.store.db.selectFrom('audit_events').select('seq').orderBy('seq', 'desc').limit(n).execute()).map(
        (r) => r.seq,
      );

    it('seals the head on every append and detects a truncated tail, naming the missing range', async () => {
      await append(store, 10);
      const [tip] = await lastSeqs(1);
      expect(await readAuditHead(t.store.db, KEY)).toMatchObject({ seq: tip, valid: true, alarm: null });
      expect(await verify()).toMatchObject({ ok: true, events: 10, sealedSeq: tip });

      // Someone with database access deletes the last three events.
      const gone = await lastSeqs(3);
      await t.store.db.deleteFrom('audit_events').where('seq', 'in', gone).execute();
      const kept = Math.min(...gone) - 1;
      for (const full of [false, true]) {
        const report = await verify({ full });
        expect(report, `full=${full}`).toMatchObject({
          ok: false,
          reason: 'truncated',
          missing: { after: kept, through: tip },
        });
        expect(report.detail).toContain(`after #${kept} through #${tip} are missing`);
      }
    });

    it('keeps the evidence of a truncation when a node appends afterwards', async () => {
      await append(store, 5);
      const gone = await lastSeqs(2);
      await t.store.db.deleteFrom('audit_events').where('seq', 'in', gone).execute();
      await append(store, 2, 'after');
      const report = await verify({ full: true });
      expect(report).toMatchObject({ ok: false, reason: 'head_alarm' });
      expect(report.detail).toMatch(/events removed or rewritten/);
    });

    it('refuses a head written without the key, and one replaced by an earlier copy', async () => {
      await append(store, 4);
      const original = await t.store.db.selectFrom('audit_head').selectAll().executeTakeFirstOrThrow();
      await append(store, 3);
      const [tip] = await lastSeqs(1);
      await sql`update audit_head set seq = ${original.seq}, hash = ${original.hash}, mac = ${'0'.repeat(64)}`.execute(
        t.store.db,
      );
      expect(await verify()).toMatchObject({ ok: false, reason: 'head_unverifiable' });
      // An earlier, genuine head put back (with the events after it deleted) passes the MAC check:
      // the node remembers the highest head it has seen.
      await sql`update audit_head set mac = ${original.mac}`.execute(t.store.db);
      await t.store.db.deleteFrom('audit_events').where('seq', '>', original.seq).execute();
      expect(await verify({ full: true, minHeadSeq: tip })).toMatchObject({ ok: false, reason: 'head_rolled_back' });
    });

    it('reports a chain with events but no head', async () => {
      await append(store, 2);
      await t.store.db.deleteFrom('audit_head').execute();
      expect(await verify({ full: true })).toMatchObject({ ok: false, reason: 'head_missing' });
    });

    it('re-hashes only the events after the last keyed checkpoint; a full check re-hashes all', async () => {
      await append(store, 30);
      expect(await verify()).toMatchObject({ ok: true, events: 30, checked: 30, full: true, from: 0 });
      await append(store, 5, 'more');
      const [cp] = await t.store.db.selectFrom('audit_checkpoints').select('seq').execute();
      const incremental = await verify();
      expect(incremental).toMatchObject({ ok: true, events: 35, checked: 5, full: false, from: cp?.seq });
      expect(await verify({ full: true })).toMatchObject({ ok: true, events: 35, checked: 35, full: true });

      // A naive edit of an old, already checkpointed event is found by the full check only.
      const old = await t.store.db
        .selectFrom('audit_events')
        .select('id')
        .orderBy('seq')
        .limit(1)
        .offset(3)
        .executeTakeFirstOrThrow();
      await t.store.db.updateTable('audit_events').set({ actor: 'someone-else' }).where('id', '=', old.id).execute();
      expect((await verify()).ok).toBe(true);
      expect(await verify({ full: true })).toMatchObject({
        ok: false,
        brokenAt: { id: old.id, reason: 'hash_mismatch' },
      });
    });

    it('catches an old event rewritten with recomputed hashes even from a checkpoint', async () => {
      await append(store, 8);
      await verify();
      // Rewrite event 2 and re-hash every event after it, as an attacker without the key would.
      const rows = await t.store.db.selectFrom('audit_events').selectAll().orderBy('seq').execute();
      const { auditHash } = await import('@keyroll/storage');
      let prev = rows[1]?.hash ?? '';
      for (const [i, row] of rows.entries()) {
        if (i < 2) continue;
        const changed = { ...row, prev_hash: prev, actor: i === 2 ? 'forger' : row.actor };
        const hash = auditHash(changed);
        await t.store.db
          .updateTable('audit_events')
          .set({ actor: changed.actor, prev_hash: prev, hash })
          .where('seq', '=', row.seq)
          .execute();
        prev = hash;
      }
      expect(await verify()).toMatchObject({ ok: false, reason: 'checkpoint_mismatch' });
      expect(await verify({ full: true })).toMatchObject({ ok: false, reason: 'head_mismatch' });
    });

    it('ignores a checkpoint forged without the key', async () => {
      await append(store, 6);
      const naive = await t.store.db
        .selectFrom('audit_events')
        .select(['id', 'seq'])
        .orderBy('seq')
        .limit(1)
        .offset(2)
        .executeTakeFirstOrThrow();
      await t.store.db.updateTable('audit_events').set({ actor: 'someone-else' }).where('id', '=', naive.id).execute();
      const [tip] = await lastSeqs(1);
      const row = await t.store.db
        .selectFrom('audit_events')
        .select('hash')
        .where('seq', '=', tip ?? 0)
        .executeTakeFirstOrThrow();
      await t.store.db
        .insertInto('audit_checkpoints')
        .values({ seq: tip ?? 0, hash: row.hash, events: 6, mac: 'f'.repeat(64), verified_at: 0 })
        .execute();
      expect(await verify()).toMatchObject({
        ok: false,
        full: true,
        brokenAt: { id: naive.id, reason: 'hash_mismatch' },
      });
    });

    it('hashes in bounded slices and pauses between them', async () => {
      await append(store, 23);
      const slices: number[] = [];
      let pauses = 0;
      const report = await verify({
        sliceSize: 5,
        onSlice: (n) => slices.push(n),
        pause: async () => {
          pauses++;
        },
      });
      expect(report).toMatchObject({ ok: true, events: 23 });
      expect(slices).toEqual([5, 5, 5, 5, 3]);
      expect(pauses).toBe(4);
    });

    it('keeps one consistent head when two nodes append concurrently', async () => {
      const second = createStore({ databaseUrl: t.url, dataDir: t.dataDir, poolSize: 3 });
      others.push(second);
      const a = () => append(store, 2, 'a');
      const b = () => append(sealAuditAppends(second, KEY), 2, 'b');
      if (dialect.caps.twoNodes) {
        await Promise.all([...Array.from({ length: 10 }, a), ...Array.from({ length: 10 }, b)]);
      } else {
        // One process cannot wait on its own SQLite lock (better-sqlite3 blocks): alternate instead.
        for (let i = 0; i < 10; i++) {
          await a();
          await b();
        }
      }
      const [tip] = await lastSeqs(1);
      expect(await readAuditHead(t.store.db, KEY)).toMatchObject({ seq: tip, valid: true, alarm: null });
      expect(await verify()).toMatchObject({ ok: true, events: 40 });
    });

    it('seals an unsealed chain once at start-up, and tells a head sealed with another key', async () => {
      await append(t.store, 3);
      // Asked not to seal a headless chain (a node without KEYROLL_AUDIT_ACCEPT_BROKEN_CHAIN): nothing written.
      expect(await openAuditHead(t.store, KEY, 1, { sealMissing: false })).toMatchObject({ state: 'missing' });
      expect(await readAuditHead(t.store.db, KEY)).toBeNull();
      expect(await openAuditHead(t.store, KEY, 1)).toMatchObject({ state: 'sealed' });
      expect(await openAuditHead(t.store, KEY, 1)).toMatchObject({ state: 'valid' });
      expect(await openAuditHead(t.store, randomBytes(32), 1)).toMatchObject({ state: 'foreign' });
      expect(await verify()).toMatchObject({ ok: true, events: 3 });
    });
  });
}
