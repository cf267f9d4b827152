import { describe, expect, it } from 'vitest';
import {
  decideClaim,
  decideComplete,
  decideExtend,
  decideRollback,
  decideStart,
  decideTick,
  HELD_UNTIL_CLAIMED,
  isRefusal,
  type RotationKey,
  type RotationRecord,
  type RotationSnapshot,
  type StartDecision,
} from '../src/index.js';

const T = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;
const key = (id: string, over: Partial<RotationKey> = {}): RotationKey => ({
  id,
  consumerId: 'csm_1',
  createdAt: T - 100 * HOUR,
  expiresAt: null,
  retiresAt: null,
  revokedAt: null,
  lastUsedAt: null,
  ...over,
});
const start = (successorId: string | null, graceMs = 10 * HOUR, old = key('key_old')) =>
  decideStart({
    old,
    now: T,
    rotationId: 'rot_1',
    successorId,
    graceMs,
    rule: { mode: 'deadline' },
    origin: successorId === null ? 'policy' : 'admin',
    onReuse: 'revoke',
    policyId: null,
    reason: null,
    actor: 'root:op',
  }) as StartDecision;
const snap = (
  rotation: RotationRecord,
  old: RotationKey,
  successor: RotationKey | null,
  now = T,
): RotationSnapshot => ({
  rotation,
  old,
  successor,
  now,
  actor: 'key:key_old',
});

describe('rotation decisions', () => {
  it('starts: deprecates the old key until the deadline, capped by its expiry; refuses a key not active', () => {
    const d = start('key_new');
    expect(d.rotation).toMatchObject({ state: 'rolling', newKeyId: 'key_new', deadlineAt: T + 10 * HOUR });
    expect(d.keys).toEqual([{ keyId: 'key_old', retiresAt: T + 10 * HOUR }]);
    expect(d.changes).toEqual([{ kind: 'rotation.started', keyId: 'key_old' }]);
    expect(d.audit.map((a) => a.action)).toEqual(['rotation.started']);
    expect(start('key_new', 10 * HOUR, key('key_old', { expiresAt: T + HOUR })).rotation.deadlineAt).toBe(T + HOUR);
    const refused = start('key_new', HOUR, key('key_old', { retiresAt: T + HOUR }));
    expect(refused).toMatchObject({ refused: 'ROTATION_IN_PROGRESS' });
    expect(start('key_new', HOUR, key('key_old', { revokedAt: T - 1 }))).toMatchObject({ refused: 'KEY_NOT_ACTIVE' });
  });

  it('an emergency rollover revokes the old key and completes at once', () => {
    const d = start('key_new', 0);
    expect(d.rotation).toMatchObject({ state: 'completed', endReason: 'emergency', reason: 'compromised' });
    expect(d.keys).toEqual([{ keyId: 'key_old', revokedAt: T, revokeReason: 'compromised' }]);
    expect(d.audit.map((a) => a.action)).toEqual(['key.revoked', 'rotation.started', 'rotation.completed']);
  });

  it('holds the old key of an unclaimed policy successor; the scheduler moves the claim-by date, never completes', () => {
    const d = start(null, 2 * HOUR);
    expect(d.keys).toEqual([{ keyId: 'key_old', retiresAt: HELD_UNTIL_CLAIMED }]);
    const old = key('key_old', { retiresAt: HELD_UNTIL_CLAIMED });
    const late = T + 5 * HOUR; // the scheduler was down past the claim-by date
    expect(decideComplete(snap(d.rotation, old, null, late), 'deadline')).toMatchObject({ refused: 'CONFLICT' });
    const tick = decideTick(snap(d.rotation, old, null, late), { lookaheadMs: 60_000, successorFirstUsedAt: null });
    expect(tick).toMatchObject({ outcome: 'extended', decision: { patch: { deadlineAt: late + 2 * HOUR } } });
  });

  it('the first claim wins with at least half a grace period left; a second claim revokes the lineage', () => {
    const d = start(null, 2 * HOUR);
    const old = key('key_old', { retiresAt: HELD_UNTIL_CLAIMED });
    const first = decideClaim(snap(d.rotation, old, null, T + 2 * HOUR - 1), 'key_new');
    expect(first).toMatchObject({ kind: 'claimed', decision: { patch: { newKeyId: 'key_new' } } });
    if (isRefusal(first)) throw new Error('refused');
    const deadline = T + 3 * HOUR - 1; // the claim came a millisecond before the claim-by date
    expect(first.decision.keys).toEqual([{ keyId: 'key_old', retiresAt: deadline }]);
    const claimed = { ...d.rotation, ...first.decision.patch };
    const again = decideClaim(snap(claimed, { ...old, retiresAt: deadline }, key('key_new'), T + 2 * HOUR), 'key_x');
    expect(again).toMatchObject({ kind: 'reused', revoked: true, decision: { patch: { state: 'completed' } } });
    if (isRefusal(again)) throw new Error('refused');
    expect(again.decision.keys.map((k) => [k.keyId, k.revokeReason])).toEqual([
      ['key_old', 'successor_reuse'],
      ['key_new', 'successor_reuse'],
    ]);
  });

  it('completing needs a usable successor, so it never leaves the consumer without a key', () => {
    const d = start('key_new');
    const old = key('key_old', { retiresAt: T + 10 * HOUR });
    const revoked = key('key_new', { revokedAt: T });
    expect(decideComplete(snap(d.rotation, old, revoked, T + HOUR), 'operator')).toMatchObject({ refused: 'CONFLICT' });
    const done = decideComplete(snap(d.rotation, old, key('key_new'), T + HOUR), 'operator');
    expect(done).toMatchObject({
      patch: { state: 'completed', deadlineAt: T + HOUR },
      keys: [{ retiresAt: T + HOUR }],
    });
  });

  it('rollback reactivates the old key and revokes the successor; a finished rotation refuses every step', () => {
    const d = start('key_new');
    const old = key('key_old', { retiresAt: T + 10 * HOUR });
    const back = decideRollback(snap(d.rotation, old, key('key_new')));
    expect(back).toMatchObject({ patch: { state: 'rolled_back' }, keys: [{ keyId: 'key_old', retiresAt: null }, {}] });
    const done = { ...d.rotation, state: 'completed' as const };
    for (const r of [
      decideRollback(snap(done, old, key('key_new'))),
      decideComplete(snap(done, old, key('key_new')), 'operator'),
      decideExtend(snap(done, old, key('key_new')), HOUR),
    ]) {
      expect(r).toMatchObject({ refused: 'ROTATION_NOT_ROLLING' });
    }
  });
});
