import type { Db } from '../store.js';
import { readJson } from './json-columns.js';

/** An audit event as the workers that follow the log read it: `data` decoded. */
export interface FollowedAuditEvent {
  seq: number;
  id: string;
  /** Epoch ms. */
  at: number;
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  data: Record<string, unknown>;
}

/** Where a follower of the audit log reads from, and which events. */
export interface AuditFollow {
  /** Events after this sequence number. */
  afterSeq?: number | undefined;
  /** Events at or after this instant (epoch ms): a first read without a cursor. */
  atOrAfter?: number | undefined;
  /** Only events of this action. */
  action?: string | undefined;
}

/** The sequence number of the newest audit event (0 for an empty log). */
export async function readAuditSeqHead(db: Db): Promise<number> {
  const head = await db
    .selectFrom('audit_events')
    .select((eb) => eb.fn.max('seq').as('seq'))
    .executeTakeFirst();
  return Number(head?.seq ?? 0);
}

/** At most `limit` audit events matching `follow`, in sequence order. */
export async function readAuditEvents(db: Db, follow: AuditFollow, limit: number): Promise<FollowedAuditEvent[]> {
  let q = db.selectFrom('audit_events').selectAll();
  if (follow.afterSeq !== undefined) q = q.where('seq', '>', follow.afterSeq);
  if (follow.atOrAfter !== undefined) q = q.where('at', '>=', follow.atOrAfter);
  if (follow.action !== undefined) q = q.where('action', '=', follow.action);
  const rows = await q.orderBy('seq').limit(limit).execute();
  return rows.map((r) => ({
    seq: Number(r.seq),
    id: r.id,
    at: Number(r.at),
    actor: r.actor,
    action: r.action,
    targetType: r.target_type,
    targetId: r.target_id,
    data: readJson(r.data),
  }));
}
