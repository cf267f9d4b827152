import type { Store } from '@keyroll/storage';

/**
 * Takes or renews the lease row `name` of a singleton background job for `holder` until
 * `expiresAt`; false when another holder's lease has not expired at `now`.
 */
export function takeJobLease(
  store: Store,
  name: string,
  holder: string,
  now: number,
  expiresAt: number,
): Promise<boolean> {
  return store.mutate(async (tx) => {
    const lease = await tx.db.selectFrom('scheduler_leases').selectAll().where('name', '=', name).executeTakeFirst();
    if (!lease) {
      await tx.db.insertInto('scheduler_leases').values({ name, holder, expires_at: expiresAt }).execute();
      return true;
    }
    if (lease.holder !== holder && lease.expires_at > now) return false;
    await tx.db
      .updateTable('scheduler_leases')
      .set({ holder, expires_at: expiresAt })
      .where('name', '=', name)
      .execute();
    return true;
  });
}
