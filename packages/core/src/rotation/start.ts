import { HELD_UNTIL_CLAIMED } from '../key-status.js';
import { auditInstant, combine, revokeKey, rotationAudit } from './audit.js';
import { type Effects, type Refusal, refuse } from './decision.js';
import { capByExpiry, statusOfKey } from './hold.js';
import type { OnReuse, RotationKey, RotationOrigin, RotationRecord } from './model.js';
import { type RetireRule, retireWindowMs } from './retire-rule.js';

/** A request to start a rotation of `old`, with the ids and instant chosen by the caller. */
export interface StartRequest {
  old: RotationKey;
  now: number;
  /** Id of the new rotation. */
  rotationId: string;
  /** Id of the successor issued with it (operator or self rotation), or `null`: a policy successor awaits its claim. */
  successorId: string | null;
  /** 0 is the emergency rollover: the old key is revoked at once. */
  graceMs: number;
  rule: RetireRule;
  origin: RotationOrigin;
  onReuse: OnReuse;
  policyId: string | null;
  /** Revocation reason of an emergency rollover (default `compromised`). */
  reason: string | null;
  /** Name of the actor starting it. */
  actor: string;
}

/** A started rotation (to insert) and what else the start writes. */
export interface StartDecision extends Effects {
  rotation: RotationRecord;
}

/**
 * Starts a rotation of an active key: the old key is deprecated until the deadline (`min(now +
 * window, its expiry)`), held without a deadline while a policy successor awaits its claim, or
 * revoked at once for an emergency rollover (which also completes the rotation). A key that is not
 * active is refused: 409 `ROTATION_IN_PROGRESS` when deprecated, `KEY_NOT_ACTIVE` otherwise.
 */
export function decideStart(r: StartRequest): StartDecision | Refusal {
  const { old, now } = r;
  const status = statusOfKey(old, now);
  if (status !== 'active') {
    return refuse(
      status === 'deprecated' ? 'ROTATION_IN_PROGRESS' : 'KEY_NOT_ACTIVE',
      `key ${old.id} is ${status}; only an active key can be rotated`,
      { keyStatus: status },
    );
  }
  const emergency = r.graceMs === 0;
  const deadline = emergency ? now : capByExpiry(now + retireWindowMs(r.rule, r.graceMs), old);
  const reason = emergency ? (r.reason ?? 'compromised') : null;
  const rotation: RotationRecord = {
    id: r.rotationId,
    consumerId: old.consumerId,
    oldKeyId: old.id,
    newKeyId: r.successorId,
    state: emergency ? 'completed' : 'rolling',
    origin: r.origin,
    policyId: r.policyId,
    rule: r.rule,
    graceMs: r.graceMs,
    onReuse: r.onReuse,
    reason,
    startedAt: now,
    deadlineAt: deadline,
    claimedAt: r.successorId === null ? null : now,
    firstUsedAt: null,
    extensions: [],
    endedAt: emergency ? now : null,
    endReason: emergency ? 'emergency' : null,
    createdBy: r.actor,
  };
  // Nobody holds a policy successor yet: the old key is deprecated but has no deadline until the claim.
  const oldKey: Effects =
    reason !== null
      ? revokeKey(old, now, reason)
      : {
          keys: [{ keyId: old.id, retiresAt: r.successorId === null ? HELD_UNTIL_CLAIMED : deadline }],
          changes: [{ kind: 'rotation.started', keyId: old.id }],
          audit: [],
        };
  const started = rotationAudit(rotation, 'rotation.started', {
    origin: rotation.origin,
    emergency,
    gracePeriodMs: rotation.graceMs,
    retireMode: r.rule.mode,
    retiresAt: auditInstant(deadline),
    ...(reason !== null && { reason }),
  });
  const completed = emergency ? [rotationAudit(rotation, 'rotation.completed', { endReason: 'emergency' })] : [];
  return { rotation, ...combine(oldKey, { keys: [], changes: [], audit: [started, ...completed] }) };
}
