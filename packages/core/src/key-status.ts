/** Lifecycle status of a key, always derived from its timestamps at the moment of asking. */
export type KeyStatus = 'active' | 'deprecated' | 'retired' | 'revoked' | 'expired';

/** All key statuses. */
export const KEY_STATUSES: readonly KeyStatus[] = ['active', 'deprecated', 'retired', 'revoked', 'expired'];

/**
 * `retiresAt` of a key whose rotation waits for its successor to be claimed (9999-12-31T23:59:59Z):
 * the key is deprecated, but no instant retires it until the claim gives it a real deadline.
 */
export const HELD_UNTIL_CLAIMED = Date.UTC(9999, 11, 31, 23, 59, 59);

/** The timestamps that decide a key's status (epoch ms; `null` when unset). */
export interface KeyTimes {
  expiresAt: number | null;
  retiresAt: number | null;
  revokedAt: number | null;
}

/**
 * The status of a key at `now`. A deadline takes effect at its instant, without any job having run:
 * revoked beats retired, retired beats expired (a client that missed a rotation is told so).
 */
export function keyStatusAt(key: KeyTimes, now: number): KeyStatus {
  if (key.revokedAt !== null && key.revokedAt <= now) return 'revoked';
  if (key.retiresAt !== null && key.retiresAt <= now) return 'retired';
  if (key.expiresAt !== null && key.expiresAt <= now) return 'expired';
  if (key.retiresAt !== null) return 'deprecated';
  return 'active';
}

/** True when a key in this status still authenticates. */
export function isUsableStatus(status: KeyStatus): boolean {
  return status === 'active' || status === 'deprecated';
}
