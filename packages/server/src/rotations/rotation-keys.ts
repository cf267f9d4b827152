import { type KeyStatus, keyStatusAt, type RotationKey } from '@keyroll/core';
import type { KeyRecord } from '@keyroll/storage';

/** The state machine's view of a key. */
export function rotationKey(key: KeyRecord): RotationKey {
  const { id, consumerId, createdAt, expiresAt, retiresAt, revokedAt, lastUsedAt } = key;
  return { id, consumerId, createdAt, expiresAt, retiresAt, revokedAt, lastUsedAt };
}

/** The status of a key at `now`. */
export function statusOf(key: Pick<KeyRecord, 'expiresAt' | 'retiresAt' | 'revokedAt'>, now: number): KeyStatus {
  return keyStatusAt(key, now);
}
