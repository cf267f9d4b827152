import { ApiError } from '@keyroll/core';
import type { Tx } from '@keyroll/storage';
import { ROOT_CONSUMER_ID } from '../consumers/consumer-service.js';
import { keyStatusIs } from './key-filters.js';

/**
 * 409 unless a usable root key with `*` other than `except` exists that an operator already holds:
 * a successor issued in this very transaction (its secret exists only in the response being built)
 * does not count, so an emergency rollover or rollover never leaves the last `*` key in one response.
 */
export async function assertAnotherUsableRootKey(tx: Tx, except: string, now: number): Promise<void> {
  const others = await tx.db
    .selectFrom('keys')
    .select('scopes')
    .where('consumer_id', '=', ROOT_CONSUMER_ID)
    .where('id', '!=', except)
    .where((eb) => eb.or([keyStatusIs(eb, 'active', now), keyStatusIs(eb, 'deprecated', now)]))
    .where((eb) => eb.or([eb('predecessor_id', 'is', null), eb('created_at', '<', now)]))
    .execute();
  if (!others.some((k) => JSON.parse(k.scopes).includes('*'))) {
    throw new ApiError(
      'CONFLICT',
      'this is the last usable root key with scope *: rotate it with a grace period (an overlap), or create another * key first',
      { reason: 'last_root_key' },
    );
  }
}
