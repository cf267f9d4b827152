import {
  PG_CHANGE_CHANNEL,
  PG_CHANGE_ROW_CHANNEL,
  parseChangeRow,
  readAuditHead,
  readChangesAfter,
  sealAuditAppends,
  verifyAuditChain,
} from '@keyroll/storage';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, type TestDatabase } from '../../../test/support/databases.js';
import { eventually } from '../../../test/support/eventually.js';

const postgres = DIALECTS.find((d) => d.name === 'postgres');

// A mutation on PostgreSQL opens its transaction and takes the cluster-wide lock in one round trip,
// and appends a change and announces it in another; these pin down what that must still do.
describe.skipIf(!postgres?.available)('PostgreSQL mutations and change notices', () => {
  let db: TestDatabase;
  let listener: pg.Client;
  const notices: { channel: string; payload: string | undefined }[] = [];

  beforeAll(async () => {
    db = await postgres!.create();
    listener = new pg.Client({ connectionString: db.url });
    await listener.connect();
    listener.on('notification', (n) => notices.push({ channel: n.channel, payload: n.payload }));
    await listener.query(`LISTEN ${PG_CHANGE_CHANNEL}; LISTEN ${PG_CHANGE_ROW_CHANNEL}`);
  });
  afterAll(async () => {
    await listener?.end();
    await db?.drop();
  });

  it('announces each change at commit: the whole row, then its sequence number, in order', async () => {
    notices.length = 0;
    const [a, b] = await db.store.mutate(async (tx) => [
      await tx.change({ at: 1_700_000_000_123, kind: 'key.revoked', entityId: 'key_a', keyHash: 'h'.repeat(64) }),
      await tx.change({ at: 1_700_000_000_124, kind: 'consumer.updated', entityId: 'consumer_b' }),
    ]);
    await eventually(() => notices.length === 4);
    expect(notices).toEqual([
      { channel: PG_CHANGE_ROW_CHANNEL, payload: expect.any(String) },
      { channel: PG_CHANGE_CHANNEL, payload: String(a) },
      { channel: PG_CHANGE_ROW_CHANNEL, payload: expect.any(String) },
      { channel: PG_CHANGE_CHANNEL, payload: String(b) },
    ]);
    const announced = [notices[0], notices[2]].map((n) => parseChangeRow(n?.payload ?? ''));
    // Exactly what a follower would have read from the log.
    expect(announced).toEqual(await readChangesAfter(db.store.db, (a ?? 0) - 1, 10));
    expect(announced[0]).toEqual({
      seq: a,
      at: 1_700_000_000_123,
      kind: 'key.revoked',
      entityId: 'key_a',
      keyHash: 'h'.repeat(64),
    });
  });

  it('announces nothing for a mutation that rolls back', async () => {
    notices.length = 0;
    await expect(
      db.store.mutate(async (tx) => {
        await tx.change({ at: 1, kind: 'key.updated', entityId: 'key_gone', keyHash: null });
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    await db.store.mutate((tx) => tx.change({ at: 2, kind: 'key.updated', entityId: 'key_kept', keyHash: null }));
    await eventually(() => notices.length === 2);
    expect(notices.map((n) => parseChangeRow(n.payload ?? '')?.entityId ?? null)).toEqual(['key_kept', null]);
    const rows = await db.store.db.selectFrom('changes').select('entity_id').execute();
    expect(rows.map((r) => r.entity_id)).not.toContain('key_gone');
  });

  it('fails a mutation whose transaction an error aborted, even when the mutation caught the error', async () => {
    const before = await db.store.db.selectFrom('changes').select('seq').execute();
    await expect(
      db.store.mutate(async (tx) => {
        await tx.change({ at: 3, kind: 'key.updated', entityId: 'key_aborted', keyHash: null });
        await sql`select no_such_column from changes`.execute(tx.db).catch(() => undefined);
      }),
    ).rejects.toThrow(/rolled back/);
    expect(await db.store.db.selectFrom('changes').select('seq').execute()).toHaveLength(before.length);
    // The connection went back to the pool outside any transaction: the next mutations commit.
    for (let i = 0; i < 6; i++) {
      await db.store.mutate((tx) =>
        tx.change({ at: 4, kind: 'key.updated', entityId: `key_after_${i}`, keyHash: null }),
      );
    }
    const after = await db.store.db.selectFrom('changes').select('entity_id').execute();
    expect(after.map((r) => r.entity_id)).toContain('key_after_5');
  });

  it('serialises mutations: overlapping ones take the lock in turn', async () => {
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const first = db.store.mutate(async () => {
      order.push('first in');
      await held;
      order.push('first out');
    });
    await eventually(() => order.length === 1);
    const second = db.store.mutate(async () => {
      order.push('second in');
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(order).toEqual(['first in']);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first in', 'first out', 'second in']);
  });

  it('seals audit appends with the head and the last event read in one query', async () => {
    const key = new Uint8Array(32).fill(7);
    const sealed = sealAuditAppends(db.store, key);
    const event = { actor: 'test', action: 'key.updated', targetType: 'key', targetId: 'key_x' };
    await sealed.mutate((tx) => tx.audit({ at: 10, ...event }));
    await sealed.mutate((tx) => tx.audit({ at: 11, ...event }));
    const last = await db.store.db.selectFrom('audit_events').selectAll().orderBy('seq', 'desc').limit(2).execute();
    expect(last[0]?.prev_hash).toBe(last[1]?.hash);
    expect(await readAuditHead(db.store.db, key)).toEqual({
      seq: last[0]?.seq,
      hash: last[0]?.hash,
      alarm: null,
      valid: true,
    });
  });

  it('keeps the sealed chain intact across a rolled-back append (a sequence number taken and lost)', async () => {
    const key = new Uint8Array(32).fill(7); // the key of the test above: the head it sealed must verify
    const sealed = sealAuditAppends(db.store, key);
    const event = { actor: 'test', action: 'key.updated', targetType: 'key', targetId: 'key_y' };
    await sealed.mutate((tx) => tx.audit({ at: 20, ...event }));
    await expect(
      sealed.mutate(async (tx) => {
        await tx.audit({ at: 21, ...event });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    await sealed.mutate((tx) => tx.audit({ at: 22, ...event }));
    const [last, before] = await db.store.db
      .selectFrom('audit_events')
      .selectAll()
      .orderBy('seq', 'desc')
      .limit(2)
      .execute();
    expect(last?.at).toBe(22);
    expect(last?.prev_hash).toBe(before?.hash);
    expect(Number(last?.seq)).toBeGreaterThan(Number(before?.seq) + 1); // the lost number is a gap
    expect(await readAuditHead(db.store.db, key)).toMatchObject({ seq: last?.seq, hash: last?.hash, alarm: null });
    const report = await verifyAuditChain(db.store.db, { key, full: true });
    expect(report).toMatchObject({ ok: true, sealedSeq: last?.seq });
  });
});

describe('parseChangeRow', () => {
  it('reads a row notice and refuses anything else', () => {
    expect(parseChangeRow('[5, 1700000000000, "key.revoked", "key_a", null]')).toEqual({
      seq: 5,
      at: 1_700_000_000_000,
      kind: 'key.revoked',
      entityId: 'key_a',
      keyHash: null,
    });
    for (const bad of [
      '5',
      '',
      '{}',
      '[5, 1, "k", "e"]',
      '["5", 1, "k", "e", null]',
      '[5, 1, "k", "e", 7]',
      '[5.5, 1, "k", "e", null]',
    ]) {
      expect(parseChangeRow(bad)).toBeNull();
    }
  });
});
