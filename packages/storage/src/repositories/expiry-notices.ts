import { sql } from 'kysely';
import { writeState } from '../monitoring-state.js';
import type { Db } from '../store.js';

/** Prefix of the `monitoring_state` rows that remember which expiry of a key was announced. */
const NOTICE = 'expiring:';

/** An unrevoked key whose expiry is coming and was not announced yet (for this expiry date). */
export interface KeyExpiryNoticeRow {
  id: string;
  consumerId: string;
  name: string;
  hint: string;
  /** Epoch ms. */
  expiresAt: number;
}

/**
 * Unrevoked keys expiring in `(now, until]` whose current expiry was not announced (a key whose
 * expiry moved is due again), soonest first, at most `limit`.
 */
export async function listKeysDueExpiryNotice(
  db: Db,
  now: number,
  until: number,
  limit: number,
): Promise<KeyExpiryNoticeRow[]> {
  const rows = await db
    .selectFrom('keys')
    .leftJoin('monitoring_state as s', (join) => join.on('s.name', '=', sql<string>`${NOTICE} || keys.id`))
    .select(['keys.id', 'keys.consumer_id', 'keys.name', 'keys.hint', 'keys.expires_at'])
    .where('keys.expires_at', '>', now)
    .where('keys.expires_at', '<=', until)
    .where('keys.revoked_at', 'is', null)
    .where((eb) => eb.or([eb('s.value', 'is', null), eb('s.value', '!=', sql<string>`cast(keys.expires_at as text)`)]))
    .orderBy('keys.expires_at')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    consumerId: r.consumer_id,
    name: r.name,
    hint: r.hint,
    expiresAt: Number(r.expires_at),
  }));
}

/** Remembers that the expiry `expiresAt` of a key was announced; call inside a mutation. */
export async function recordExpiryNotice(db: Db, keyId: string, expiresAt: number, now: number): Promise<void> {
  await writeState(db, NOTICE + keyId, expiresAt, now);
}
