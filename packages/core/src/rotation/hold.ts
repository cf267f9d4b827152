import { HELD_UNTIL_CLAIMED, isUsableStatus, type KeyStatus, keyStatusAt } from '../key-status.js';
import type { RotationKey, RotationRecord } from './model.js';

/** The status of a key at `now`. */
export function statusOfKey(key: RotationKey, now: number): KeyStatus {
  return keyStatusAt(key, now);
}

/** True when `key` exists and authenticates at `now`. */
export function isUsableKey(key: RotationKey | null, now: number): key is RotationKey {
  return key !== null && isUsableStatus(statusOfKey(key, now));
}

/** True for a rolling rotation whose successor has not been handed out yet. */
export function awaitsClaim(rotation: Pick<RotationRecord, 'state' | 'newKeyId'>): boolean {
  return rotation.state === 'rolling' && rotation.newKeyId === null;
}

/**
 * True when the old key of a rotation awaiting its claim must stay usable: deprecated, or retired by
 * this rotation's own deadline (a row written before claims held the key) — never revoked or expired.
 */
export function heldByClaim(rotation: RotationRecord, old: RotationKey, now: number): boolean {
  if (!awaitsClaim(rotation)) return false;
  const status = statusOfKey(old, now);
  return status === 'deprecated' || (status === 'retired' && old.retiresAt === rotation.deadlineAt);
}

/** True when the old key has no deadline of its own because its successor waits for its claim. */
export function isHeld(old: RotationKey): boolean {
  return old.retiresAt === HELD_UNTIL_CLAIMED;
}

/**
 * When the old key retires once its successor is claimed at `now`: the rotation's deadline, but
 * never sooner than half a grace period after the claim, so that a claim made late (after the
 * nominal deadline, or just before it) still leaves the holder an overlap to switch keys.
 */
export function deadlineAfterClaim(rotation: Pick<RotationRecord, 'deadlineAt' | 'graceMs'>, now: number): number {
  return Math.max(rotation.deadlineAt, now + Math.ceil(rotation.graceMs / 2));
}

/** `at`, but never past the key's own expiry: rotation never stretches a key's lifetime. */
export function capByExpiry(at: number, key: Pick<RotationKey, 'expiresAt'>): number {
  return Math.min(at, key.expiresAt ?? Number.POSITIVE_INFINITY);
}

/**
 * The successor's expiry: the override when given (`null` for none), else the old key's lifetime
 * counted from `now` (a 90-day key rotated on day 80 gives a successor expiring 90 days from now).
 */
export function successorExpiresAt(
  old: Pick<RotationKey, 'createdAt' | 'expiresAt'>,
  now: number,
  override?: number | null,
): number | null {
  if (override !== undefined) return override;
  return old.expiresAt === null ? null : now + (old.expiresAt - old.createdAt);
}
