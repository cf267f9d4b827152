import type { Db } from '../store.js';

/**
 * Takes or renews the lease row `name` of a singleton background job for `holder` until
 * `expiresAt`; false when another holder's lease has not expired at `now`. Call inside a mutation,
 * so that two nodes cannot both take it.
 */
export async function takeLease(
  db: Db,
  name: string,
  holder: string,
  now: number,
  expiresAt: number,
): Promise<boolean> {
  const lease = await db.selectFrom('scheduler_leases').selectAll().where('name', '=', name).executeTakeFirst();
  if (!lease) {
    await db.insertInto('scheduler_leases').values({ name, holder, expires_at: expiresAt }).execute();
    return true;
  }
  if (lease.holder !== holder && lease.expires_at > now) return false;
  await db.updateTable('scheduler_leases').set({ holder, expires_at: expiresAt }).where('name', '=', name).execute();
  return true;
}
