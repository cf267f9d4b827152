import { type Store, takeLease } from '@keyroll/storage';

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
  return store.mutate((tx) => takeLease(tx.db, name, holder, now, expiresAt));
}
