import { newId, sha256Hex } from '@keyroll/core';
import { type Kysely, sql } from 'kysely';
import { MAX_CHANGE_ROW_PAYLOAD, PG_CHANGE_CHANNEL, PG_CHANGE_ROW_CHANNEL } from './change-channels.js';
import type { DialectName } from './dialect.js';
import type { AuditEventsTable, Database } from './schema.js';
import type { AuditInput, ChangeInput } from './store.js';

/** Hash of the chain's first link. */
export const GENESIS_HASH = '0'.repeat(64);

/** Hash of an audit row: its own fields and the previous row's hash. */
export function auditHash(row: Omit<AuditEventsTable, 'seq' | 'hash'>): string {
  return sha256Hex(
    [row.prev_hash, row.id, row.at, row.actor, row.action, row.target_type, row.target_id, row.data].join('\n'),
  );
}

/**
 * Appends a change row (and announces it on PostgreSQL); returns its sequence number. On PostgreSQL
 * the insert and both notices are one statement (one round trip): the whole row on
 * `PG_CHANGE_ROW_CHANNEL`, then its sequence number on `PG_CHANGE_CHANNEL`, delivered at commit.
 */
export async function appendChange(db: Kysely<Database>, dialect: DialectName, c: ChangeInput): Promise<number> {
  const values = { at: c.at, kind: c.kind, entity_id: c.entityId, key_hash: c.keyHash ?? null };
  if (dialect === 'postgres') {
    const { rows } = await sql<{ seq: number }>`
      with c as (
        insert into changes (at, kind, entity_id, key_hash)
        values (${values.at}, ${values.kind}, ${values.entity_id}, ${values.key_hash})
        returning seq, at, kind, entity_id, key_hash
      ), p as (select seq, json_build_array(seq, at, kind, entity_id, key_hash)::text as row from c)
      select seq,
        case when octet_length(row) <= ${MAX_CHANGE_ROW_PAYLOAD} then pg_notify(${PG_CHANGE_ROW_CHANNEL}, row) end as row_notice,
        pg_notify(${PG_CHANGE_CHANNEL}, seq::text) as seq_notice
      from p`.execute(db);
    const row = rows[0];
    if (!row) throw new Error('change not appended');
    return Number(row.seq);
  }
  const row = await db.insertInto('changes').values(values).returning('seq').executeTakeFirstOrThrow();
  return row.seq;
}

/** Where an appended audit event landed in the chain. */
export interface AppendedAudit {
  id: string;
  seq: number;
  hash: string;
  prevHash: string;
  /** Sequence number of the event before it; `null` for the first event. */
  prevSeq: number | null;
}

/** Appends an audit event linked to the previous one; returns its id. Call inside a mutation. */
export async function appendAudit(db: Kysely<Database>, e: AuditInput): Promise<string> {
  return (await appendAuditRow(db, e)).id;
}

/** The last event of the audit chain: the one a new event links to. */
export interface AuditTail {
  seq: number;
  hash: string;
}

/** The row of an audit event that links to `tail` (`null`: the first event), and its hash. */
export function auditEventRow(
  e: AuditInput,
  tail: AuditTail | null | undefined,
): Omit<AuditEventsTable, 'seq'> & { hash: string } {
  const row = {
    id: newId('event', e.at),
    at: e.at,
    actor: e.actor,
    action: e.action,
    target_type: e.targetType,
    target_id: e.targetId,
    data: JSON.stringify(e.data ?? {}),
    prev_hash: tail?.hash ?? GENESIS_HASH,
  };
  return { ...row, hash: auditHash(row) };
}

/**
 * Appends an audit event linked to the previous one; returns its place in the chain. Call inside a
 * mutation. `tail` is the chain's last event (`null`: none) when the caller has just read it in the
 * same mutation; without it, it is read here.
 */
export async function appendAuditRow(
  db: Kysely<Database>,
  e: AuditInput,
  tail?: AuditTail | null,
): Promise<AppendedAudit> {
  const last =
    tail !== undefined
      ? tail
      : await db.selectFrom('audit_events').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
  const row = auditEventRow(e, last);
  const inserted = await db.insertInto('audit_events').values(row).returning('seq').executeTakeFirstOrThrow();
  return { id: row.id, seq: inserted.seq, hash: row.hash, prevHash: row.prev_hash, prevSeq: last?.seq ?? null };
}
