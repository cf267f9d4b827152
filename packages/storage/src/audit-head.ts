import { type Kysely, sql } from 'kysely';
import { type AppendedAudit, type AuditTail, appendAuditRow, auditEventRow } from './append.js';
import { type AuditKey, headMac, macMatches } from './audit-mac.js';
import type { AuditHeadTable, Database } from './schema.js';
import type { AuditInput, Store } from './store.js';

const HEAD = 'head';

/** The sealed head as stored, and whether its MAC holds under this node's key. */
export interface SealedHead {
  seq: number;
  hash: string;
  alarm: string | null;
  /** `false`: written without this key (forged, or the nodes do not share one key). */
  valid: boolean;
}

/** Reads the sealed head; `null` when none was ever written. */
export async function readAuditHead(db: Kysely<Database>, key: AuditKey): Promise<SealedHead | null> {
  const row = await db.selectFrom('audit_head').selectAll().where('name', '=', HEAD).executeTakeFirst();
  return row ? sealedHead(row, key) : null;
}

/**
 * Wraps a store so that every audit event appended through it also re-seals the head in the same
 * transaction (serialised with every other mutation, on one node or many). An append that finds the
 * chain no longer ending at the sealed head records why in the head's sticky, MACed `alarm`.
 */
export function sealAuditAppends(store: Store, key: AuditKey): Store {
  return {
    ...store,
    mutate: (fn) =>
      store.mutate((tx) =>
        fn({ ...tx, audit: (e) => (tx.dialect === 'postgres' ? appendSealedPostgres : appendSealed)(tx.db, key, e) }),
      ),
  };
}

/** What {@link openAuditHead} found. */
export interface OpenedHead {
  /**
   * `empty`: no events yet; `sealed`: sealed now; `valid`: sealed with this key; `foreign`: not;
   * `missing`: events but no head, left unsealed because `sealMissing` was false.
   */
  state: 'empty' | 'sealed' | 'valid' | 'foreign' | 'missing';
  seq: number;
}

/**
 * At start-up: seals the current end of a chain that has no head yet (an upgraded database: trust on
 * first use) unless `sealMissing` is false (then `missing`), and tells whether an existing head was
 * sealed with this key (`foreign` when not).
 */
export async function openAuditHead(
  store: Store,
  key: AuditKey,
  at: number,
  options: { sealMissing?: boolean } = {},
): Promise<OpenedHead> {
  return store.mutate(async (tx) => {
    const head = await readAuditHead(tx.db, key);
    if (head) return { state: head.valid ? 'valid' : 'foreign', seq: head.seq };
    const last = await tx.db
      .selectFrom('audit_events')
      .select(['seq', 'hash'])
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!last) return { state: 'empty', seq: 0 };
    if (options.sealMissing === false) return { state: 'missing', seq: last.seq };
    await writeHead(tx.db, key, last.seq, last.hash, null, at);
    return { state: 'sealed', seq: last.seq };
  });
}

async function appendSealed(db: Kysely<Database>, key: AuditKey, e: AuditInput): Promise<string> {
  const { head, tail } = await readHeadAndTail(db, key);
  const row = await appendAuditRow(db, e, tail);
  await writeHead(db, key, row.seq, row.hash, alarmFor(head, row), e.at);
  return row.id;
}

/**
 * {@link appendSealed} in two round trips: the head, the last event and the new event's sequence
 * number (`nextval`, which the column's default would have taken) in one query, then the event and
 * the re-sealed head in one statement. Appends are serialised by the mutation lock, so the numbers
 * taken follow the chain's order.
 */
async function appendSealedPostgres(db: Kysely<Database>, key: AuditKey, e: AuditInput): Promise<string> {
  const { head, tail, nextSeq } = await readHeadAndTail(db, key, true);
  if (nextSeq === null) throw new Error('no sequence number for the audit event');
  const row = auditEventRow(e, tail);
  const appended: AppendedAudit = {
    id: row.id,
    seq: nextSeq,
    hash: row.hash,
    prevHash: row.prev_hash,
    prevSeq: tail?.seq ?? null,
  };
  const alarm = alarmFor(head, appended);
  const mac = headMac(key, nextSeq, row.hash, alarm);
  const { rows } = await sql<{ seq: number }>`
    with e as (
      insert into audit_events (seq, id, at, actor, action, target_type, target_id, data, prev_hash, hash)
      values (${nextSeq}, ${row.id}, ${row.at}, ${row.actor}, ${row.action}, ${row.target_type}, ${row.target_id},
        ${row.data}, ${row.prev_hash}, ${row.hash})
      returning seq
    )
    insert into audit_head (name, seq, hash, alarm, mac, updated_at)
    select ${HEAD}::text, e.seq, ${row.hash}::text, ${alarm}::text, ${mac}::text, ${e.at}::bigint from e
    on conflict (name) do update set seq = excluded.seq, hash = excluded.hash, alarm = excluded.alarm,
      mac = excluded.mac, updated_at = excluded.updated_at
    returning seq`.execute(db);
  if (Number(rows[0]?.seq) !== nextSeq) throw new Error('audit event not appended');
  return row.id;
}

/**
 * The sealed head and the chain's last event, in one query (one round trip, one snapshot): what
 * {@link readAuditHead} and the read of the last event in `appendAuditRow` would return.
 */
async function readHeadAndTail(
  db: Kysely<Database>,
  key: AuditKey,
  takeNextSeq = false,
): Promise<{ head: SealedHead | null; tail: AuditTail | null; nextSeq: number | null }> {
  const { rows } = await sql<{
    head_seq: number | string | null;
    head_hash: string | null;
    head_alarm: string | null;
    head_mac: string | null;
    updated_at: number | string | null;
    tail_seq: number | string | null;
    tail_hash: string | null;
    next_seq?: number | string | null;
  }>`
    select h.seq as head_seq, h.hash as head_hash, h.alarm as head_alarm, h.mac as head_mac, h.updated_at,
      t.seq as tail_seq, t.hash as tail_hash
      ${takeNextSeq ? sql`, nextval(pg_get_serial_sequence('audit_events', 'seq')) as next_seq` : sql``}
    from (select 1 as one) as o
    left join audit_head as h on h.name = ${HEAD}
    left join (select seq, hash from audit_events order by seq desc limit 1) as t on 1 = 1`.execute(db);
  const r = rows[0];
  if (!r) throw new Error('audit head not read');
  const head =
    r.head_seq === null || r.head_hash === null || r.head_mac === null
      ? null
      : sealedHead(
          {
            name: HEAD,
            seq: Number(r.head_seq),
            hash: r.head_hash,
            alarm: r.head_alarm,
            mac: r.head_mac,
            updated_at: Number(r.updated_at),
          },
          key,
        );
  const tail = r.tail_seq === null || r.tail_hash === null ? null : { seq: Number(r.tail_seq), hash: r.tail_hash };
  return { head, tail, nextSeq: r.next_seq == null ? null : Number(r.next_seq) };
}

/** Why the chain no longer ends where the head said, when the event `row` was appended; `null` if it does. */
function alarmFor(head: SealedHead | null, row: AppendedAudit): string | null {
  if (!head) {
    return row.prevSeq === null
      ? null
      : `no sealed head while the chain held events up to #${row.prevSeq} when #${row.seq} was appended (the head was deleted)`;
  }
  if (!head.valid) return `the sealed head (#${head.seq}) had an invalid MAC when #${row.seq} was appended (forged)`;
  if (head.alarm) return head.alarm;
  if (head.seq === row.prevSeq && head.hash === row.prevHash) return null;
  return `the chain ended at #${row.prevSeq ?? 0} but the sealed head was #${head.seq} when #${row.seq} was appended (events removed or rewritten)`;
}

async function writeHead(
  db: Kysely<Database>,
  key: AuditKey,
  seq: number,
  hash: string,
  alarm: string | null,
  at: number,
): Promise<void> {
  const values = { seq, hash, alarm, mac: headMac(key, seq, hash, alarm), updated_at: at };
  await db
    .insertInto('audit_head')
    .values({ name: HEAD, ...values })
    .onConflict((oc) => oc.column('name').doUpdateSet(values))
    .execute();
}

function sealedHead(row: AuditHeadTable, key: AuditKey): SealedHead {
  const valid = macMatches(row.mac, headMac(key, row.seq, row.hash, row.alarm));
  return { seq: row.seq, hash: row.hash, alarm: row.alarm, valid };
}
