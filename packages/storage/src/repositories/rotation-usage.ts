import type { Db } from '../store.js';

// The usage counts a rotation reads: when its successor was first used, how much each key was used.

/** The first minute (epoch ms) with a valid request of the key, or `null` when it has none. */
export async function firstValidUseMinute(db: Db, keyId: string): Promise<number | null> {
  const first = await db
    .selectFrom('usage_minutes')
    .select((eb) => eb.fn.min<number | string | null>('minute').as('minute'))
    .where('key_id', '=', keyId)
    .where('code', '=', 'VALID')
    .executeTakeFirst();
  return first?.minute == null ? null : Number(first.minute);
}

/** The key's requests counted in the minutes from `fromMinute` (epoch ms of a minute's start) on. */
export async function requestsFromMinute(db: Db, keyId: string, fromMinute: number): Promise<number> {
  const row = await db
    .selectFrom('usage_minutes')
    .select((eb) => eb.fn.sum<number | string | null>('count').as('n'))
    .where('key_id', '=', keyId)
    .where('minute', '>=', fromMinute)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** When the key was last used (epoch ms), `null` when never or unknown. */
export async function keyLastUsedAt(db: Db, keyId: string): Promise<number | null> {
  const row = await db.selectFrom('keys').select('last_used_at').where('id', '=', keyId).executeTakeFirst();
  return row?.last_used_at ?? null;
}
