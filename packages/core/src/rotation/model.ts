import type { RetireRule } from './retire-rule.js';

/** State of a rotation: `rolling` until it is completed or rolled back, then final. */
export type RotationState = 'rolling' | 'completed' | 'rolled_back';

/** All rotation states. */
export const ROTATION_STATES: readonly RotationState[] = ['rolling', 'completed', 'rolled_back'];

/** Who started a rotation (`leak`: a leak policy's rollover, whose old key is not held for its claim). */
export type RotationOrigin = 'admin' | 'self' | 'policy' | 'rollover' | 'leak';

/** All rotation origins. */
export const ROTATION_ORIGINS: readonly RotationOrigin[] = ['admin', 'self', 'policy', 'rollover', 'leak'];

/** What a second claim of a successor does: answer 409, or also revoke the whole lineage. */
export type OnReuse = 'reject' | 'revoke';

/** Revocation reason of keys revoked because a successor was claimed twice. */
export const REUSE_REASON = 'successor_reuse';

/** One push of a rotation's deadline (epoch ms). */
export interface RotationExtension {
  at: number;
  byMs: number;
  from: number;
  to: number;
  actor: string;
}

/** A rotation as the state machine sees it (epoch ms; `null` when unset). */
export interface RotationRecord {
  id: string;
  consumerId: string;
  oldKeyId: string;
  /** `null` while a server-initiated rotation waits for its successor to be claimed. */
  newKeyId: string | null;
  state: RotationState;
  origin: RotationOrigin;
  policyId: string | null;
  rule: RetireRule;
  graceMs: number;
  onReuse: OnReuse;
  /** Revocation reason of an emergency rollover. */
  reason: string | null;
  startedAt: number;
  /** When the old key retires (the claim-by date while the successor is unclaimed). */
  deadlineAt: number;
  claimedAt: number | null;
  firstUsedAt: number | null;
  extensions: RotationExtension[];
  endedAt: number | null;
  endReason: string | null;
  /** Name of the actor that started it. */
  createdBy: string;
}

/** The fields of a key the state machine reads (epoch ms; `null` when unset). */
export interface RotationKey {
  id: string;
  consumerId: string;
  createdAt: number;
  expiresAt: number | null;
  retiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

/** A rotation with its old key and its successor (`null` while unclaimed), as read at `now`. */
export interface RotationSnapshot {
  rotation: RotationRecord;
  old: RotationKey;
  successor: RotationKey | null;
  now: number;
  /** Name of the actor taking the step. */
  actor: string;
}
