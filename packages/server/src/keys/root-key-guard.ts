import { ApiError } from '@keyroll/core';
import { findUsableKeys, type Tx } from '@keyroll/storage';
import { ROOT_CONSUMER_ID } from '../consumers/consumer-service.js';

/**
 * 409 unless a usable root key with `*` other than `except` exists that an operator already holds:
 * a successor issued in this very transaction (its secret exists only in the response being built)
 * does not count, so an emergency rollover or rollover never leaves the last `*` key in one response.
 */
export async function assertAnotherUsableRootKey(tx: Tx, except: string, now: number): Promise<void> {
  const others = await findUsableKeys(tx.db, ROOT_CONSUMER_ID, now, { except, successorsCreatedAt: now });
  if (!others.some((k) => k.scopes.includes('*'))) {
    throw new ApiError(
      'CONFLICT',
      'this is the last usable root key with scope *: rotate it with a grace period (an overlap), or create another * key first',
      { reason: 'last_root_key' },
    );
  }
}
