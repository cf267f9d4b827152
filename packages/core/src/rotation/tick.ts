import { isRefusal, type Refusal, type RotationDecision } from './decision.js';
import { awaitsClaim, heldByClaim, isHeld, isUsableKey, statusOfKey } from './hold.js';
import type { RotationSnapshot } from './model.js';
import { decideComplete, decideExtend, decideShorten } from './operator.js';

/** What a scheduler tick did to one rotation (named as the scheduler's report counts it). */
export type TickOutcome = 'completed' | 'retiredIdle' | 'extended' | 'firstUse';

/** A tick's decision on one rotation. */
export interface TickDecision {
  outcome: TickOutcome;
  decision: RotationDecision;
}

/** The facts a tick reads besides the rotation and its keys. */
export interface TickFacts {
  /** How far ahead of a deadline the scheduler acts, so that it moves deadlines before they pass. */
  lookaheadMs: number;
  /** When the successor was first used (after-first-use rule), `null` when not yet (or not asked). */
  successorFirstUsedAt: number | null;
}

/**
 * One scheduler step for a rotation at `now`, an arbitrary instant (ticks may come late or not at
 * all): `null` when nothing is due. In order:
 * - an unclaimed policy successor is never cut off (a leak's rollover excepted): its claim-by date moves by the grace period when
 *   it comes within half a grace period (or the look-ahead), or has passed — but never past the old
 *   key's own expiry;
 * - past its deadline, the rotation completes (refused when the old key is still deprecated and the
 *   successor is not usable);
 * - `when-idle`: retires the old key once unused for `idleFor` since the start (and after `minGrace`)
 *   if the successor is usable; a still-used key's deadline within the look-ahead is extended by
 *   `extendBy`, at most `maxExtensions` times;
 * - `after-first-use`: once the usable successor was first used, the deadline moves to `grace` after
 *   that use (only ever earlier, never into the past).
 */
export function decideTick(s: RotationSnapshot, facts: TickFacts): TickDecision | Refusal | null {
  const { rotation, old, now } = s;
  if (rotation.state !== 'rolling') return null;
  const lookahead = facts.lookaheadMs;
  // Acting at most half a grace period ahead keeps a short grace from being pushed at every tick.
  const unclaimedAhead = Math.min(lookahead, rotation.graceMs / 2);
  // A leak's rollover is never held: its old key stops at the end of the grace, claimed or not.
  if (awaitsClaim(rotation) && rotation.origin !== 'leak' && heldByClaim(rotation, old, now)) {
    if (
      isHeld(old) &&
      (rotation.deadlineAt - now > unclaimedAhead || rotation.deadlineAt >= (old.expiresAt ?? Number.POSITIVE_INFINITY))
    ) {
      return null; // not due yet, or already at the key's own expiry (which nothing stretches)
    }
    return tickStep('extended', decideExtend(s, rotation.graceMs));
  }
  if (rotation.deadlineAt <= now) return tickStep('completed', decideComplete(s, 'deadline'));
  const rule = rotation.rule;
  if (rule.mode === 'when-idle') {
    const idleSince = Math.max(rotation.startedAt, old.lastUsedAt ?? 0);
    const idle = now - idleSince >= rule.idleForMs;
    if (idle && now >= rotation.startedAt + rule.minGraceMs && isUsableKey(s.successor, now)) {
      return tickStep('retiredIdle', decideComplete(s, 'idle'));
    }
    if (
      !idle &&
      rule.extendByMs !== null &&
      rotation.extensions.length < rule.maxExtensions &&
      rotation.deadlineAt - now <= lookahead &&
      statusOfKey(old, now) === 'deprecated'
    ) {
      return tickStep('extended', decideExtend(s, rule.extendByMs));
    }
    return null;
  }
  if (rule.mode === 'after-first-use' && rotation.firstUsedAt === null) {
    const firstUse = facts.successorFirstUsedAt;
    if (firstUse === null || !isUsableKey(s.successor, now)) return null;
    return { outcome: 'firstUse', decision: decideShorten(s, firstUse + rule.graceMs, firstUse) };
  }
  return null;
}

function tickStep(outcome: TickOutcome, result: RotationDecision | Refusal): TickDecision | Refusal {
  return isRefusal(result) ? result : { outcome, decision: result };
}
