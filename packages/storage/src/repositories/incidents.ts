import { type Selectable, sql } from 'kysely';
import { type Page, type PageRequest, pageById } from '../pagination.js';
import type { AlertsTable, AuditEventsTable, IncidentsTable, KeyClientsTable } from '../schema.js';
import type { Db } from '../store.js';

/** Filters of an incident listing. */
export interface IncidentFilter {
  status?: string | undefined;
  consumerId?: string | undefined;
}

/** The incident of a leaked key, if one was recorded. */
export function incidentOfKey(db: Db, keyId: string): Promise<IncidentsTable | undefined> {
  return db.selectFrom('incidents').selectAll().where('key_id', '=', keyId).executeTakeFirst();
}

/** An incident by id. */
export function incidentById(db: Db, id: string): Promise<IncidentsTable | undefined> {
  return db.selectFrom('incidents').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Records a new incident. */
export async function insertIncident(db: Db, row: IncidentsTable): Promise<void> {
  await db.insertInto('incidents').values(row).execute();
}

/** Changes the columns of an incident that move as it unfolds. */
export async function updateIncident(
  db: Db,
  id: string,
  set: Partial<
    Pick<
      IncidentsTable,
      'status' | 'contained_at' | 'successor_claimed_at' | 'reuse_detected_at' | 'rotation_id' | 'updated_at'
    >
  >,
): Promise<void> {
  await db.updateTable('incidents').set(set).where('id', '=', id).execute();
}

/** Incidents oldest first, in the usual page shape. */
export function listIncidents(db: Db, filter: IncidentFilter, page: PageRequest): Promise<Page<IncidentsTable>> {
  let q = db.selectFrom('incidents').selectAll();
  if (filter.status) q = q.where('status', '=', filter.status);
  if (filter.consumerId) q = q.where('consumer_id', '=', filter.consumerId);
  return pageById(q, page, (r) => r);
}

/**
 * Open incidents (the leaked key may still authenticate), in id order after `afterId`: the watcher
 * pages through all of them. Once contained, nothing can change an incident any more (a claim needs
 * the leaked key to authenticate).
 */
export function openIncidents(db: Db, afterId: string | null, limit: number): Promise<IncidentsTable[]> {
  let q = db.selectFrom('incidents').selectAll().where('status', '=', 'open');
  if (afterId !== null) q = q.where('id', '>', afterId);
  return q.orderBy('id').limit(limit).execute();
}

/** The client addresses and user agents that used a key since `since`, most recent first. */
export function recentClients(db: Db, keyId: string, since: number, limit = 20): Promise<KeyClientsTable[]> {
  return db
    .selectFrom('key_clients')
    .selectAll()
    .where('key_id', '=', keyId)
    .where('last_seen', '>=', since)
    .orderBy('last_seen', 'desc')
    .limit(limit)
    .execute();
}

/** Audit events of `action` about a target, oldest first (the story of a rotation, for a timeline). */
export function auditEventsOf(db: Db, targetId: string, action: string): Promise<Selectable<AuditEventsTable>[]> {
  return db
    .selectFrom('audit_events')
    .selectAll()
    .where('target_id', '=', targetId)
    .where('action', '=', action)
    .orderBy(sql`seq`)
    .limit(100)
    .execute();
}

/** Moves a key's retirement to `at` (a leak's rollover: the key stops at the end of the grace, held or not). */
export async function setKeyRetiresAt(db: Db, keyId: string, at: number, now: number): Promise<void> {
  await db.updateTable('keys').set({ retires_at: at, updated_at: now }).where('id', '=', keyId).execute();
}

/** Stores an alert row (the caller audits it as `alert.raised`). */
export async function insertAlert(db: Db, row: AlertsTable): Promise<void> {
  await db.insertInto('alerts').values(row).execute();
}

/** When the successor of a rotation was claimed, and which key it is (an incident's timeline). */
export function rotationClaim(
  db: Db,
  rotationId: string,
): Promise<{ claimed_at: number | null; new_key_id: string | null } | undefined> {
  return db
    .selectFrom('rotations')
    .select(['claimed_at', 'new_key_id'])
    .where('id', '=', rotationId)
    .executeTakeFirst();
}

/** The rolling rotation whose old key is `keyId`, if any (a leaked key that was already being rotated). */
export async function rollingRotationOf(db: Db, keyId: string): Promise<string | null> {
  const row = await db
    .selectFrom('rotations')
    .select('id')
    .where('old_key_id', '=', keyId)
    .where('state', '=', 'rolling')
    .executeTakeFirst();
  return row?.id ?? null;
}
