import { newId, sha256Hex } from '@keyroll/core';
import { type Kysely, sql } from 'kysely';
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

/** Appends a change row (and announces it on PostgreSQL); returns its sequence number. */
export async function appendChange(db: Kysely<Database>, dialect: DialectName, c: ChangeInput): Promise<number> {
  const row = await db
    .insertInto('changes')
    .values({ at: c.at, kind: c.kind, entity_id: c.entityId, key_hash: c.keyHash ?? null })
    .returning('seq')
    .executeTakeFirstOrThrow();
  if (dialect === 'postgres') await sql`select pg_notify('keyroll_changes', ${String(row.seq)})`.execute(db);
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

/** Appends an audit event linked to the previous one; returns its place in the chain. Call inside a mutation. */
export async function appendAuditRow(db: Kysely<Database>, e: AuditInput): Promise<AppendedAudit> {
  const last = await db
    .selectFrom('audit_events')
    .select(['seq', 'hash'])
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  const row = {
    id: newId('event', e.at),
    at: e.at,
    actor: e.actor,
    action: e.action,
    target_type: e.targetType,
    target_id: e.targetId,
    data: JSON.stringify(e.data ?? {}),
    prev_hash: last?.hash ?? GENESIS_HASH,
  };
  const hash = auditHash(row);
  const inserted = await db
    .insertInto('audit_events')
    .values({ ...row, hash })
    .returning('seq')
    .executeTakeFirstOrThrow();
  return { id: row.id, seq: inserted.seq, hash, prevHash: row.prev_hash, prevSeq: last?.seq ?? null };
}
