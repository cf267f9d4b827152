import { describe, expect, it } from 'vitest';
import { decideStart, decideTick, type RotationKey, type StartDecision } from '../src/index.js';

const T = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;
const old: RotationKey = {
  id: 'key_old',
  consumerId: 'csm_1',
  createdAt: T - 1000 * MINUTE,
  expiresAt: null,
  retiresAt: null,
  revokedAt: null,
  lastUsedAt: null,
};

describe("a leak's rollover (origin leak)", () => {
  const start = (origin: 'leak' | 'policy') =>
    decideStart({
      old,
      now: T,
      rotationId: 'rot_1',
      successorId: null,
      graceMs: 15 * MINUTE,
      rule: { mode: 'deadline' },
      origin,
      onReuse: 'revoke',
      policyId: null,
      reason: null,
      actor: 'system:leaks',
    }) as StartDecision;

  it('is not held for its unclaimed successor: the tick completes it at the deadline instead of extending', () => {
    const facts = { lookaheadMs: MINUTE, successorFirstUsedAt: null };
    // The leak service stops the key at the end of the grace (retiresAt), not at HELD_UNTIL_CLAIMED.
    const stopped = { ...old, retiresAt: T + 15 * MINUTE };
    const leak = start('leak').rotation;
    expect(
      decideTick({ rotation: leak, old: stopped, successor: null, now: T + 14.5 * MINUTE, actor: 's' }, facts),
    ).toBeNull();
    expect(
      decideTick({ rotation: leak, old: stopped, successor: null, now: T + 15 * MINUTE, actor: 's' }, facts),
    ).toMatchObject({ outcome: 'completed' });
    // The same unclaimed rotation of a policy is held: its claim-by date moves.
    const policy = start('policy').rotation;
    expect(
      decideTick({ rotation: policy, old: stopped, successor: null, now: T + 15 * MINUTE, actor: 's' }, facts),
    ).toMatchObject({ outcome: 'extended' });
  });
});
