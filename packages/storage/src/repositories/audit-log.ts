import type { Db } from '../store.js';
import { readJson } from './json-columns.js';

/** A stored audit event with its data decoded. Appended by repository writes (see `Tx.audit`). */
export interface AuditEventRecord {
  id: string;
  /** Position in the chain. */
  seq: number;
  /** Epoch ms. */
  at: number;
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  data: Record<string, unknown>;
  hash: string;
  prevHash: string;
}

/** Which audit events {@link listAuditEvents} reads, and in which order. */
export interface AuditEventQuery {
  targetId?: string | undefined;
  action?: string | undefined;
  actor?: string | undefined;
  /** Only events at or after this instant (epoch ms). */
  fromAt?: number | undefined;
  /** Only events at or before this instant (epoch ms). */
  toAt?: number | undefined;
  /** `asc` (default): oldest first; `desc`: newest first. */
  order?: 'asc' | 'desc' | undefined;
  /** Only events past this sequence number in the listing's order: after it `asc`, before it `desc`. */
  afterSeq?: number | undefined;
  limit: number;
}

/** At most `limit` audit events matching the query, in the order they were written (or the reverse). */
export async function listAuditEvents(db: Db, query: AuditEventQuery): Promise<AuditEventRecord[]> {
  const desc = query.order === 'desc';
  let q = db.selectFrom('audit_events').selectAll();
  if (query.targetId) q = q.where('target_id', '=', query.targetId);
  if (query.action) q = q.where('action', '=', query.action);
  if (query.actor) q = q.where('actor', '=', query.actor);
  if (query.fromAt !== undefined) q = q.where('at', '>=', query.fromAt);
  if (query.toAt !== undefined) q = q.where('at', '<=', query.toAt);
  if (query.afterSeq !== undefined) q = q.where('seq', desc ? '<' : '>', query.afterSeq);
  const rows = await q
    .orderBy('seq', desc ? 'desc' : 'asc')
    .limit(query.limit)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    seq: r.seq,
    at: r.at,
    actor: r.actor,
    action: r.action,
    targetType: r.target_type,
    targetId: r.target_id,
    data: readJson(r.data),
    hash: r.hash,
    prevHash: r.prev_hash,
  }));
}

/** The sequence number of the newest audit event (0 for an empty log): where a new follower starts. */
export async function readAuditSeqHead(db: Db): Promise<number> {
  const head = await db
    .selectFrom('audit_events')
    .select((eb) => eb.fn.max('seq').as('seq'))
    .executeTakeFirst();
  return Number(head?.seq ?? 0);
}
