import { type Page, type PageRequest, pageById } from '../pagination.js';
import type { RotationsTable } from '../schema.js';
import type { Db } from '../store.js';

/** Filters of a rotation listing: a state, a consumer, a key (old or new). */
export interface RotationListFilter {
  state?: string | undefined;
  consumerId?: string | undefined;
  keyId?: string | undefined;
}

/** The stored rotation with this id, or `undefined`. */
export function findRotationRow(db: Db, id: string): Promise<RotationsTable | undefined> {
  return db.selectFrom('rotations').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The rolling rotation of the key `oldKeyId`, or `undefined`. */
export function findRollingRotationOfKey(db: Db, oldKeyId: string): Promise<RotationsTable | undefined> {
  return db
    .selectFrom('rotations')
    .selectAll()
    .where('old_key_id', '=', oldKeyId)
    .where('state', '=', 'rolling')
    .executeTakeFirst();
}

/** Stored rotations, oldest first, filtered by state, consumer and key (old or new). */
export function listRotationRows(db: Db, filter: RotationListFilter, page: PageRequest): Promise<Page<RotationsTable>> {
  let q = db.selectFrom('rotations').selectAll();
  if (filter.state) q = q.where('state', '=', filter.state);
  if (filter.consumerId) q = q.where('consumer_id', '=', filter.consumerId);
  const keyId = filter.keyId;
  if (keyId) q = q.where((eb) => eb.or([eb('old_key_id', '=', keyId), eb('new_key_id', '=', keyId)]));
  return pageById(q, page, (r) => r);
}

/** Ids of at most `limit` rolling rotations, nearest deadline first. */
export async function findRollingRotationIds(db: Db, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('rotations')
    .select('id')
    .where('state', '=', 'rolling')
    .orderBy('deadline_at')
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}

/** How many self-rotations of a consumer are rolling. */
export async function countRollingSelfRotations(db: Db, consumerId: string): Promise<number> {
  const { n } = await db
    .selectFrom('rotations')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('consumer_id', '=', consumerId)
    .where('origin', '=', 'self')
    .where('state', '=', 'rolling')
    .executeTakeFirstOrThrow();
  return Number(n);
}

/**
 * Start instants of a consumer's self-rotations (any state) started after `since`, newest first, at
 * most `limit` of them.
 */
export async function selfRotationStartsAfter(
  db: Db,
  consumerId: string,
  since: number,
  limit: number,
): Promise<number[]> {
  const recent = await db
    .selectFrom('rotations')
    .select('started_at')
    .where('consumer_id', '=', consumerId)
    .where('origin', '=', 'self')
    .where('started_at', '>', since)
    .orderBy('started_at', 'desc')
    .limit(limit)
    .execute();
  return recent.map((r) => Number(r.started_at));
}
