import { type OnReuse, ROTATION_ORIGINS, ROTATION_STATES, type RotationRecord } from '@keyroll/core';
import { type Page, type PageRequest, pageById } from '../pagination.js';
import type { RotationsTable } from '../schema.js';
import type { Db } from '../store.js';
import { readJson } from './json-columns.js';

const ON_REUSE: readonly OnReuse[] = ['reject', 'revoke'];

/** `value` as one of `values`; throws on a stored value the code does not know. */
function known<T extends string>(values: readonly T[], value: string): T {
  const found = values.find((v) => v === value);
  if (found === undefined) throw new Error(`unknown stored value ${value}`);
  return found;
}

/** Decodes a `rotations` row into core's record of a rotation. */
export function decodeRotation(row: RotationsTable): RotationRecord {
  return {
    id: row.id,
    consumerId: row.consumer_id,
    oldKeyId: row.old_key_id,
    newKeyId: row.new_key_id,
    state: known(ROTATION_STATES, row.state),
    origin: known(ROTATION_ORIGINS, row.origin),
    policyId: row.policy_id,
    rule: readJson(row.retire),
    graceMs: row.grace_ms,
    onReuse: known(ON_REUSE, row.on_reuse),
    reason: row.reason,
    startedAt: row.started_at,
    deadlineAt: row.deadline_at,
    claimedAt: row.claimed_at,
    firstUsedAt: row.first_used_at,
    extensions: readJson(row.extensions),
    endedAt: row.ended_at,
    endReason: row.end_reason,
    createdBy: row.created_by,
  };
}

/** Filters of a rotation listing: a state, a consumer, a key (old or new). */
export interface RotationListFilter {
  state?: string | undefined;
  consumerId?: string | undefined;
  keyId?: string | undefined;
}

/** The rotation with this id, or `undefined`. */
export async function findRotation(db: Db, id: string): Promise<RotationRecord | undefined> {
  const row = await db.selectFrom('rotations').selectAll().where('id', '=', id).executeTakeFirst();
  return row && decodeRotation(row);
}

/** The rolling rotation of the key `oldKeyId`, or `undefined`. */
export async function findRollingRotationOfKey(db: Db, oldKeyId: string): Promise<RotationRecord | undefined> {
  const row = await db
    .selectFrom('rotations')
    .selectAll()
    .where('old_key_id', '=', oldKeyId)
    .where('state', '=', 'rolling')
    .executeTakeFirst();
  return row && decodeRotation(row);
}

/** Rotations, oldest first, filtered by state, consumer and key (old or new). */
export function listRotations(db: Db, filter: RotationListFilter, page: PageRequest): Promise<Page<RotationRecord>> {
  let q = db.selectFrom('rotations').selectAll();
  if (filter.state) q = q.where('state', '=', filter.state);
  if (filter.consumerId) q = q.where('consumer_id', '=', filter.consumerId);
  const keyId = filter.keyId;
  if (keyId) q = q.where((eb) => eb.or([eb('old_key_id', '=', keyId), eb('new_key_id', '=', keyId)]));
  return pageById(q, page, decodeRotation);
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
