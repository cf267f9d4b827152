import { type Page, type PageRequest, pageById } from '../pagination.js';
import type { IncidentsTable } from '../schema.js';
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
