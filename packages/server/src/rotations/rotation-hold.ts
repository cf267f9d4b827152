import { HELD_UNTIL_CLAIMED } from '@keyroll/core';
import type { RotationsTable } from '@keyroll/storage';

/**
 * `retires_at` of the old key of a rotation whose successor waits for its claim (9999-12-31T23:59:59Z).
 * The key is deprecated — the verifier, gateway and SDK tell its holder to claim — but no instant
 * retires it: the verification decision reads timestamps only, so a deadline on the key itself would
 * cut the client off whenever the scheduler runs late. The rotation's own `deadline_at` keeps the
 * nominal claim-by date, which the scheduler moves; the key gets a real deadline once it is claimed.
 */
export const UNCLAIMED_RETIRES_AT = HELD_UNTIL_CLAIMED;

/** True for a rolling rotation whose successor has not been handed out yet. */
export function awaitsClaim(row: Pick<RotationsTable, 'state' | 'new_key_id'>): boolean {
  return row.state === 'rolling' && row.new_key_id === null;
}

/**
 * When the old key retires once its successor is claimed at `now`: the rotation's deadline, but
 * never sooner than half a grace period after the claim, so that a claim made late (after the
 * nominal deadline, or just before it) still leaves the holder an overlap to switch keys.
 */
export function deadlineAfterClaim(row: Pick<RotationsTable, 'deadline_at' | 'grace_ms'>, now: number): number {
  return Math.max(row.deadline_at, now + Math.ceil(row.grace_ms / 2));
}
