import { HELD_UNTIL_CLAIMED } from '../key-status.js';
import { auditInstant, combine, revokeKey, rotationAudit } from './audit.js';
import { type Effects, noEffects, type Refusal, type RotationDecision, refuse } from './decision.js';
import { awaitsClaim, capByExpiry, heldByClaim, isUsableKey, statusOfKey } from './hold.js';
import type { RotationRecord, RotationSnapshot } from './model.js';

/** 409 `ROTATION_NOT_ROLLING` unless the rotation is still rolling. */
export function notRolling(rotation: RotationRecord): Refusal | null {
  if (rotation.state === 'rolling') return null;
  return refuse('ROTATION_NOT_ROLLING', `rotation ${rotation.id} is ${rotation.state}`, { state: rotation.state });
}

/**
 * Ends a rolling rotation: the old key retires now if it has not yet. Retiring early needs a usable
 * successor, so that completing never leaves the consumer without a key (409 `CONFLICT` otherwise).
 */
export function decideComplete(s: RotationSnapshot, endReason: string): RotationDecision | Refusal {
  const { rotation, old, now } = s;
  const refused = notRolling(rotation);
  if (refused) return refused;
  let deadline = rotation.deadlineAt;
  const effects = noEffects();
  if (statusOfKey(old, now) === 'deprecated') {
    if (!isUsableKey(s.successor, now)) {
      return refuse(
        'CONFLICT',
        rotation.newKeyId === null
          ? `the successor of rotation ${rotation.id} has not been claimed yet`
          : `the successor of rotation ${rotation.id} is not usable; roll the rotation back instead`,
      );
    }
    deadline = now;
    effects.keys.push({ keyId: old.id, retiresAt: now });
  }
  effects.changes.push({ kind: 'rotation.completed', keyId: old.id });
  effects.audit.push(rotationAudit(rotation, 'rotation.completed', { endReason, retiredAt: auditInstant(deadline) }));
  return { patch: { state: 'completed', endedAt: now, endReason, deadlineAt: deadline }, ...effects };
}

/**
 * Rolls a rotation back: the old key is active again (its own expiry unchanged), the successor is
 * revoked (reason `rollback`). Refused once the old key is no longer deprecated.
 */
export function decideRollback(s: RotationSnapshot): RotationDecision | Refusal {
  const { rotation, old, now } = s;
  const refused = notRolling(rotation);
  if (refused) return refused;
  const status = statusOfKey(old, now);
  if (status !== 'deprecated') {
    return refuse('ROTATION_NOT_ROLLING', `the old key is already ${status}; there is nothing to roll back to`);
  }
  const reactivate: Effects = {
    keys: [{ keyId: old.id, retiresAt: null }],
    changes: [{ kind: 'rotation.rolled_back', keyId: old.id }],
    audit: [],
  };
  const successor = s.successor;
  const revoked =
    successor !== null && successor.revokedAt === null ? revokeKey(successor, now, 'rollback') : noEffects();
  const effects = combine(reactivate, revoked, {
    keys: [],
    changes: [],
    audit: [rotationAudit(rotation, 'rotation.rolled_back', {})],
  });
  return {
    patch: { state: 'rolled_back', endedAt: now, endReason: 'rollback', deadlineAt: rotation.deadlineAt },
    ...effects,
  };
}

/**
 * Pushes the deadline back by `byMs`, never past the old key's own expiry. A rotation awaiting its
 * claim moves only its claim-by date (from now when overdue); its old key keeps no deadline.
 */
export function decideExtend(s: RotationSnapshot, byMs: number): RotationDecision | Refusal {
  const { rotation, old, now } = s;
  const refused = notRolling(rotation);
  if (refused) return refused;
  const status = statusOfKey(old, now);
  if (status !== 'deprecated' && !heldByClaim(rotation, old, now)) {
    return refuse('ROTATION_NOT_ROLLING', `the old key is already ${status}; its deadline cannot move`);
  }
  const unclaimed = awaitsClaim(rotation);
  const from = rotation.deadlineAt;
  const to = capByExpiry((unclaimed ? Math.max(from, now) : from) + byMs, old);
  return {
    patch: { deadlineAt: to, extensions: [...rotation.extensions, { at: now, byMs, from, to, actor: s.actor }] },
    keys: [{ keyId: old.id, retiresAt: unclaimed ? HELD_UNTIL_CLAIMED : to }],
    changes: [{ kind: 'rotation.extended', keyId: old.id }],
    audit: [
      rotationAudit(rotation, 'rotation.extended', {
        byMs,
        from: auditInstant(from),
        to: auditInstant(to),
        cappedByExpiry: to < from + byMs,
      }),
    ],
  };
}

/**
 * The first-use rule: records when the successor was first used and moves the deadline to `at` —
 * only ever earlier, never into the past.
 */
export function decideShorten(s: RotationSnapshot, at: number, firstUsedAt: number): RotationDecision {
  const { rotation, old, now } = s;
  const to = Math.max(now, Math.min(at, rotation.deadlineAt));
  const moves = statusOfKey(old, now) === 'deprecated' && to < rotation.deadlineAt;
  return {
    patch: { deadlineAt: to, firstUsedAt },
    keys: moves ? [{ keyId: old.id, retiresAt: to }] : [],
    changes: [{ kind: 'rotation.shortened', keyId: old.id }],
    audit: [
      rotationAudit(rotation, 'rotation.shortened', {
        rule: 'after-first-use',
        successorFirstUsedAt: auditInstant(firstUsedAt),
        from: auditInstant(rotation.deadlineAt),
        to: auditInstant(to),
      }),
    ],
  };
}
