import { combine, revokeKey, rotationAudit } from './audit.js';
import { type Refusal, type RotationDecision, refuse } from './decision.js';
import { capByExpiry, deadlineAfterClaim, statusOfKey } from './hold.js';
import { REUSE_REASON, type RotationSnapshot } from './model.js';

/** A claim's decision: the first claim hands out the successor; a later one is a reuse. */
export type ClaimDecision =
  | { kind: 'claimed'; decision: RotationDecision }
  | { kind: 'reused'; revoked: boolean; decision: RotationDecision };

/**
 * A claim of the successor of a rolling rotation by the holder of its old key, who would receive
 * `successorId`. The first claim wins: the successor is handed out and the old key gets a real
 * deadline ({@link deadlineAfterClaim}, capped by its expiry). A later claim is a reuse — a sign
 * the old key leaked — recorded, and with `onReuse: revoke` the old key and the successor are revoked
 * and the rotation ends. Refused (409 `CONFLICT`, no reuse) when an operator's rotation holds the
 * successor, or when the claimant is the self-rotation that already received it.
 */
export function decideClaim(s: RotationSnapshot, successorId: string): ClaimDecision | Refusal {
  const { rotation, old, now } = s;
  if (rotation.claimedAt !== null && (rotation.origin === 'admin' || rotation.origin === 'rollover')) {
    return refuse('CONFLICT', 'the successor of this key was issued to an operator and cannot be claimed', {
      rotationId: rotation.id,
    });
  }
  if (rotation.claimedAt !== null && rotation.origin === 'self' && rotation.createdBy === s.actor) {
    return refuse('CONFLICT', 'the successor of this key was returned by its own self-rotation', {
      rotationId: rotation.id,
    });
  }
  if (rotation.claimedAt !== null) return decideReuse(s);
  // From the claim on, the old key has a real deadline (held until now).
  const deadline = capByExpiry(deadlineAfterClaim(rotation, now), old);
  const moves = statusOfKey(old, now) === 'deprecated';
  return {
    kind: 'claimed',
    decision: {
      patch: { newKeyId: successorId, claimedAt: now, deadlineAt: deadline },
      keys: moves ? [{ keyId: old.id, retiresAt: deadline }] : [],
      changes: moves ? [{ kind: 'rotation.claimed', keyId: old.id }] : [],
      audit: [rotationAudit({ ...rotation, newKeyId: successorId }, 'successor.claimed', {})],
    },
  };
}

function decideReuse(s: RotationSnapshot): ClaimDecision {
  const { rotation, now } = s;
  const attempted = {
    keys: [],
    changes: [],
    audit: [rotationAudit(rotation, 'successor.reclaim_attempted', { onReuse: rotation.onReuse })],
  };
  if (rotation.onReuse !== 'revoke') return { kind: 'reused', revoked: false, decision: { patch: null, ...attempted } };
  const revocations = [s.old, s.successor]
    .filter((k) => k !== null && k.revokedAt === null)
    .map((k) => revokeKey(k as NonNullable<typeof k>, now, REUSE_REASON));
  const rolling = rotation.state === 'rolling';
  const ended = rolling ? [rotationAudit(rotation, 'rotation.completed', { endReason: REUSE_REASON })] : [];
  return {
    kind: 'reused',
    revoked: true,
    decision: {
      patch: rolling
        ? { state: 'completed', endedAt: now, endReason: REUSE_REASON, deadlineAt: rotation.deadlineAt }
        : null,
      ...combine(attempted, ...revocations, { keys: [], changes: [], audit: ended }),
    },
  };
}
