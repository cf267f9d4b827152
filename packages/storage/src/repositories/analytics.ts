import { sql } from 'kysely';
import { decodeCursor, type Page, type PageRequest, pageById, pageSize, toPage } from '../pagination.js';
import type { Db } from '../store.js';
import { keyIsUsable } from './key-status-filter.js';
import { decodeKey, type KeyRecord } from './keys.js';

/** A usable key that expires or retires soon, with the instant of whichever comes first. */
export interface ExpiringKeyRow {
  key: KeyRecord;
  /** Epoch ms of the earlier of `expires_at` and `retires_at`. */
  endsAt: number;
}

/**
 * Usable keys (active or deprecated at `now`) that expire or retire in `(now, until]`, soonest
 * first (then by id); the cursor carries the end instant and id of the last key.
 */
export async function listExpiringKeys(
  db: Db,
  now: number,
  until: number,
  page: PageRequest,
): Promise<Page<ExpiringKeyRow>> {
  const size = pageSize(page);
  const after = decodeCursor(page.cursor);
  const ends = sql<number>`case when retires_at is not null and (expires_at is null or retires_at < expires_at) then retires_at else expires_at end`;
  let q = db
    .selectFrom('keys')
    .selectAll()
    .select(ends.as('ends_at'))
    .where((eb) => keyIsUsable(eb, now))
    .where((eb) =>
      eb.or([
        eb.and([eb('expires_at', '>', now), eb('expires_at', '<=', until)]),
        eb.and([eb('retires_at', '>', now), eb('retires_at', '<=', until)]),
      ]),
    );
  if (after !== undefined) {
    const [at, id] = after.split('|');
    q = q.where((eb) =>
      eb.or([eb(ends, '>', Number(at)), eb.and([eb(ends, '=', Number(at)), eb('id', '>', id ?? '')])]),
    );
  }
  const rows = await q
    .orderBy(ends)
    .orderBy('id')
    .limit(size + 1)
    .execute();
  return toPage(
    rows,
    size,
    (r) => `${r.ends_at}|${r.id}`,
    ({ ends_at, ...key }) => ({ key: decodeKey(key), endsAt: Number(ends_at) }),
  );
}

/** Usable keys at `now` unused since `unusedSince` (never-used keys count from their creation), oldest id first. */
export function listIdleKeys(db: Db, now: number, unusedSince: number, page: PageRequest): Promise<Page<KeyRecord>> {
  const q = db
    .selectFrom('keys')
    .selectAll()
    .where((eb) => keyIsUsable(eb, now))
    .where((eb) => eb(eb.fn.coalesce('last_used_at', 'created_at'), '<=', unusedSince));
  return pageById(q, page, decodeKey);
}

/** When a key was last used (epoch ms); `null` when never, or when the key is unknown. */
export async function findKeyLastUsedAt(db: Db, keyId: string): Promise<number | null> {
  const row = await db.selectFrom('keys').select('last_used_at').where('id', '=', keyId).executeTakeFirst();
  return row?.last_used_at ?? null;
}

/** The keys of a rotation and when it started: what its traffic is counted from. */
export interface RotationTrafficRow {
  oldKeyId: string;
  /** `null` until the successor of a server-initiated rotation is claimed. */
  newKeyId: string | null;
  startedAt: number;
}

/** The keys and start of a rotation; `undefined` when unknown. */
export async function findRotationTrafficRow(db: Db, rotationId: string): Promise<RotationTrafficRow | undefined> {
  const row = await db
    .selectFrom('rotations')
    .select(['old_key_id', 'new_key_id', 'started_at'])
    .where('id', '=', rotationId)
    .executeTakeFirst();
  return row && { oldKeyId: row.old_key_id, newKeyId: row.new_key_id, startedAt: Number(row.started_at) };
}
