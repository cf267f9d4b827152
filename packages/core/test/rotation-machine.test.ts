import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertProperty } from '../../../test/support/property-seed.js';
import {
  awaitsClaim,
  decideClaim,
  decideComplete,
  decideExtend,
  decideRollback,
  decideStart,
  decideTick,
  HELD_UNTIL_CLAIMED,
  keyStatusAt,
  type RetireRule,
  type RotationRecord,
  revokeKey,
} from '../src/index.js';
import { RotationWorld, unlessRefused, type WorldKey, type WorldPolicy } from './rotation-world.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const LOOKAHEAD = MIN;
const OPERATOR = 'root:operator';
const SCHEDULER = 'system:scheduler';

type Mode = RetireRule['mode'];
type Op =
  | { op: 'rotate'; key: number; graceMs: number; mode: Mode; origin: 'admin' | 'self' | 'rollover' }
  | { op: 'emergency'; key: number }
  | { op: 'claim'; key: number; thief: boolean }
  | { op: 'complete' | 'rollback'; rotation: number }
  | { op: 'extend'; rotation: number; byMs: number }
  | { op: 'use'; key: number }
  | { op: 'tick' | 'advance'; ms: number }
  | { op: 'revoke'; key: number }
  | { op: 'expire'; key: number };

const graceArb = fc.constantFrom(MIN, 10 * MIN, HOUR, DAY, 3 * DAY);
/** Clock moves: arbitrary, from a millisecond to four days. */
const msArb = fc.oneof(fc.integer({ min: 1, max: 4 * DAY }), fc.constantFrom(30_000, MIN, HOUR, DAY));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('rotate' as const),
    key: fc.nat(),
    graceMs: graceArb,
    mode: fc.constantFrom<Mode>('deadline', 'when-idle', 'after-first-use'),
    origin: fc.constantFrom('admin' as const, 'self' as const, 'rollover' as const),
  }),
  fc.record({ op: fc.constant('emergency' as const), key: fc.nat() }),
  { arbitrary: fc.record({ op: fc.constant('claim' as const), key: fc.nat(), thief: fc.boolean() }), weight: 2 },
  fc.record({ op: fc.constantFrom('complete' as const, 'rollback' as const), rotation: fc.nat() }),
  fc.record({ op: fc.constant('extend' as const), rotation: fc.nat(), byMs: graceArb }),
  fc.record({ op: fc.constant('use' as const), key: fc.nat() }),
  { arbitrary: fc.record({ op: fc.constantFrom('tick' as const, 'advance' as const), ms: msArb }), weight: 3 },
  fc.record({ op: fc.constant('revoke' as const), key: fc.nat() }),
  fc.record({ op: fc.constant('expire' as const), key: fc.nat() }),
);

const policyArb: fc.Arbitrary<WorldPolicy | null> = fc.option(
  fc.record({
    everyMs: fc.constantFrom(HOUR, DAY),
    graceMs: fc.constantFrom(10 * MIN, HOUR, DAY),
    rule: fc.constantFrom<RetireRule>(
      { mode: 'deadline' },
      { mode: 'when-idle', idleForMs: 30 * MIN, minGraceMs: 0, maxGraceMs: DAY, extendByMs: HOUR, maxExtensions: 2 },
    ),
    onReuse: fc.constantFrom('reject' as const, 'revoke' as const),
  }),
);

function rule(mode: Mode, graceMs: number): RetireRule {
  if (mode === 'deadline') return { mode };
  if (mode === 'when-idle') {
    return { mode, idleForMs: 30 * MIN, minGraceMs: 0, maxGraceMs: graceMs, extendByMs: HOUR, maxExtensions: 2 };
  }
  return { mode, graceMs: Math.min(10 * MIN, graceMs), maxGraceMs: graceMs };
}

function pick<T>(xs: readonly T[], i: number): T | undefined {
  return xs.length === 0 ? undefined : xs[i % xs.length];
}

/** The name a key's holder acts under (a self-rotation records it; a claim by it is the same caller). */
const holder = (keyId: string) => `key:${keyId}`;

/** What one step did, for the invariants: the claim's outcome when it was a claim. */
interface Outcome {
  claim?: { kind: 'claimed' | 'reused'; revoked: boolean; rotationId: string };
}

function start(w: RotationWorld, key: WorldKey, graceMs: number, r: RetireRule, origin: RotationRecord['origin']) {
  const policy = origin === 'policy';
  const d = unlessRefused(
    decideStart({
      old: w.key(key.id),
      now: w.now,
      rotationId: w.id('rot'),
      successorId: policy ? null : w.id('key'),
      graceMs,
      rule: r,
      origin,
      onReuse: w.policy?.onReuse ?? 'reject',
      policyId: policy ? 'pol_1' : null,
      reason: null,
      actor: policy ? SCHEDULER : origin === 'self' ? holder(key.id) : OPERATOR,
    }),
  );
  if (d) w.applyStart(d);
}

/** The scheduler at `w.now`: every rolling rotation's tick, then the policy's due keys. */
function tick(w: RotationWorld): void {
  for (const r of [...w.rotations].sort((a, b) => a.deadlineAt - b.deadlineAt)) {
    if (r.state !== 'rolling') continue;
    const used = r.newKeyId === null ? undefined : w.firstUse.get(r.newKeyId);
    const firstUse =
      r.rule.mode === 'after-first-use' && r.firstUsedAt === null && used !== undefined
        ? Math.max(used, r.claimedAt ?? r.startedAt)
        : null;
    const t = decideTick(w.snapshot(r, SCHEDULER), { lookaheadMs: LOOKAHEAD, successorFirstUsedAt: firstUse });
    const decided = t && unlessRefused(t);
    if (decided) w.apply(r.id, decided.decision);
  }
  const p = w.policy;
  if (!p) return;
  for (const k of w.keyList()) {
    const rolledBack = w.rotations.some(
      (r) => r.oldKeyId === k.id && r.state === 'rolled_back' && (r.endedAt ?? 0) > w.now - p.everyMs,
    );
    if (keyStatusAt(k, w.now) === 'active' && k.createdAt <= w.now - p.everyMs && !rolledBack) {
      start(w, k, p.graceMs, p.rule, 'policy');
    }
  }
}

function step(w: RotationWorld, o: Op): Outcome {
  const keys = w.keyList();
  switch (o.op) {
    case 'rotate': {
      const k = pick(keys, o.key);
      if (k) start(w, k, o.graceMs, rule(o.mode, o.graceMs), o.origin);
      return {};
    }
    case 'emergency': {
      const k = pick(keys, o.key);
      if (k) start(w, k, 0, { mode: 'deadline' }, 'admin');
      return {};
    }
    case 'claim': {
      const k = pick(keys, o.key);
      const r = k && w.rollingOf(k.id);
      if (!k || !r) return {};
      const successorId = w.id('key');
      const actor = o.thief ? `${holder(k.id)}:elsewhere` : holder(k.id);
      const c = unlessRefused(decideClaim(w.snapshot(r, actor), successorId));
      if (!c) return {};
      w.apply(r.id, c.decision, c.kind === 'claimed' ? successorId : null);
      return { claim: { kind: c.kind, revoked: c.kind === 'reused' && c.revoked, rotationId: r.id } };
    }
    case 'complete':
    case 'rollback':
    case 'extend': {
      const r = pick(w.rotations, o.rotation);
      if (!r) return {};
      const s = w.snapshot(r, OPERATOR);
      const d = unlessRefused(
        o.op === 'extend'
          ? decideExtend(s, o.byMs)
          : o.op === 'rollback'
            ? decideRollback(s)
            : decideComplete(s, 'operator'),
      );
      if (d) w.apply(r.id, d);
      return {};
    }
    case 'use': {
      const k = pick(keys, o.key);
      if (k && w.usable(k.id)) {
        (w.keys.get(k.id) as WorldKey).lastUsedAt = w.now;
        if (!w.firstUse.has(k.id)) w.firstUse.set(k.id, w.now);
      }
      return {};
    }
    case 'tick':
      w.now += o.ms;
      tick(w);
      return {};
    case 'advance':
      // The scheduler does not run while the clock moves: a paused process, a node down.
      w.now += o.ms;
      return {};
    case 'revoke': {
      const k = pick(keys, o.key);
      if (k && k.revokedAt === null) w.applyEffects(revokeKey(k, w.now, 'revoked'), [k.id]);
      return {};
    }
    case 'expire': {
      const k = pick(keys, o.key);
      if (k?.expiresAt != null && k.expiresAt > w.now) w.now = k.expiresAt;
      return {};
    }
  }
}

/** True when a key is gone for a reason no rotation step chose: revoked, expired, or retired behind such a successor. */
function lostForGood(w: RotationWorld, keyId: string, depth = 0): boolean {
  const k = w.key(keyId);
  const status = keyStatusAt(k, w.now);
  if (status === 'revoked' || status === 'expired') return true;
  if (status !== 'retired' || depth > 50) return false;
  const r = w.rotations.find((x) => x.oldKeyId === keyId && x.newKeyId !== null && x.state !== 'rolled_back');
  return r?.newKeyId != null && lostForGood(w, r.newKeyId, depth + 1);
}

/** The old key's expiry of a rotation (infinite when it has none). */
function expiryOf(w: RotationWorld, r: RotationRecord): number {
  return w.key(r.oldKeyId).expiresAt ?? Number.POSITIVE_INFINITY;
}

function fail(o: Op, message: string): never {
  throw new Error(`${JSON.stringify(o)}: ${message}`);
}

/** The rotation invariants, between the world before a step (`before`, `usableBefore`) and after it. */
function checkInvariants(w: RotationWorld, o: Op, before: RotationRecord[], usableBefore: Set<string>, out: Outcome) {
  const clockOnly = o.op === 'advance' || o.op === 'expire';
  for (const b of before) {
    const a = w.rotations.find((r) => r.id === b.id) as RotationRecord;
    // A finished rotation stays finished, and nothing about it changes.
    if (b.state !== 'rolling' && JSON.stringify(a) !== JSON.stringify(b)) fail(o, `finished ${b.id} changed`);
    if (clockOnly && JSON.stringify(a) !== JSON.stringify(b)) fail(o, `${b.id} changed without a step`);
    // A successor is handed out once: a claimed rotation keeps its successor.
    if (b.newKeyId !== null && (a.newKeyId !== b.newKeyId || a.claimedAt !== b.claimedAt)) {
      fail(o, `${b.id} changed its claimed successor`);
    }
    // Deadlines move only as an extension, the first-use rule, a claim or a completion says.
    if (a.deadlineAt !== b.deadlineAt) {
      const ext = a.extensions[a.extensions.length - 1];
      const extended =
        (o.op === 'extend' || o.op === 'tick') &&
        a.extensions.length === b.extensions.length + 1 &&
        ext?.from === b.deadlineAt &&
        ext.to === a.deadlineAt &&
        ext.at === w.now &&
        (o.op !== 'extend' || ext.byMs === o.byMs) &&
        ext.to === Math.min((awaitsClaim(b) ? Math.max(b.deadlineAt, w.now) : b.deadlineAt) + ext.byMs, expiryOf(w, b));
      const shortened =
        o.op === 'tick' && b.firstUsedAt === null && a.firstUsedAt !== null && a.deadlineAt < b.deadlineAt;
      // A claim leaves the holder half a grace period at least to switch keys.
      const claimed =
        o.op === 'claim' &&
        b.claimedAt === null &&
        a.claimedAt === w.now &&
        a.deadlineAt === Math.min(Math.max(b.deadlineAt, w.now + Math.ceil(b.graceMs / 2)), expiryOf(w, b));
      const completed =
        (o.op === 'complete' || o.op === 'tick') &&
        b.state === 'rolling' &&
        a.state === 'completed' &&
        a.deadlineAt === w.now &&
        w.now < b.deadlineAt;
      if (!(extended || shortened || claimed || completed)) {
        fail(o, `${b.id} deadline moved ${b.deadlineAt} → ${a.deadlineAt} unasked`);
      }
    } else if (a.extensions.length !== b.extensions.length) {
      // Only the old key's own expiry stops an extension (recorded, `cappedByExpiry`).
      const ext = a.extensions[a.extensions.length - 1];
      if (ext?.to !== w.key(a.oldKeyId).expiresAt) fail(o, `${b.id} recorded an extension that moved nothing`);
    }
  }
  const rolling = w.rotations.filter((r) => r.state === 'rolling');
  const oldKeys = rolling.map((r) => r.oldKeyId);
  if (new Set(oldKeys).size !== oldKeys.length) fail(o, 'two rolling rotations of one key');
  for (const r of rolling) {
    const old = w.key(r.oldKeyId);
    const status = keyStatusAt(old, w.now);
    // The old key's deadline is the rotation's; while unclaimed it has none, so it is never cut off.
    const expected = awaitsClaim(r) ? HELD_UNTIL_CLAIMED : r.deadlineAt;
    if (status === 'deprecated' && old.retiresAt !== expected) {
      fail(o, `${r.id}: old key retires at ${old.retiresAt}, not at ${expected}`);
    }
    if (awaitsClaim(r) && !['deprecated', 'revoked', 'expired'].includes(status)) {
      fail(o, `${r.id}: unclaimed successor, old key ${status}`);
    }
    // After a tick, the claim-by date of a usable unclaimed key lies ahead (or at the key's expiry).
    if (o.op === 'tick' && awaitsClaim(r) && status === 'deprecated' && r.deadlineAt <= w.now) {
      if (r.deadlineAt !== old.expiresAt) fail(o, `${r.id}: claim-by date left in the past by a tick`);
    }
  }
  // No key is retired before a successor was handed out to replace it.
  for (const k of w.keyList()) {
    if (keyStatusAt(k, w.now) !== 'retired') continue;
    if (!w.rotations.some((r) => r.oldKeyId === k.id && r.newKeyId !== null)) fail(o, `${k.id} retired unreplaced`);
  }
  // A second claim is a reuse; with onReuse revoke it revokes the old key and the successor.
  if (out.claim?.kind === 'reused') {
    const r = w.rotations.find((x) => x.id === out.claim?.rotationId) as RotationRecord;
    const b = before.find((x) => x.id === r.id) as RotationRecord;
    if (b.claimedAt === null) fail(o, 'a first claim was taken for a reuse');
    if (out.claim.revoked !== (r.onReuse === 'revoke')) fail(o, 'reuse revocation does not follow onReuse');
    if (out.claim.revoked && (w.usable(r.oldKeyId) || w.usable(r.newKeyId) || r.state === 'rolling')) {
      fail(o, 'a reuse left the lineage usable or the rotation rolling');
    }
  }
  // A lineage that had a valid key keeps one, unless the step revoked, or time expired or
  // retired keys whose successors were revoked or expired.
  if (o.op === 'revoke' || out.claim?.revoked) return;
  const usableNow = w.lineages();
  for (const lineage of usableBefore) {
    if (usableNow.get(lineage)) continue;
    const lost = w.keyList().filter((k) => k.lineage === lineage);
    if ((o.op === 'tick' || clockOnly) && lost.every((k) => lostForGood(w, k.id))) continue;
    fail(o, `lineage ${lineage} left without a valid key`);
  }
}

describe('rotation state machine (property, in memory)', () => {
  it('keeps the rotation invariants over 10,000 random operation and clock sequences', async () => {
    let steps = 0;
    await assertProperty(
      fc.property(
        fc.array(opArb, { minLength: 3, maxLength: 40, size: 'medium' }),
        policyArb,
        fc.array(fc.option(fc.constantFrom(2 * DAY, 10 * DAY)), { minLength: 1, maxLength: 2 }),
        (ops, policy, lifetimes) => {
          const w = new RotationWorld(Date.UTC(2026, 0, 1), policy);
          for (const lifetime of lifetimes) w.addKey(lifetime);
          for (const o of ops) {
            const before = w.rotationsCopy();
            const usableBefore = new Set([...w.lineages()].filter(([, u]) => u).map(([l]) => l));
            checkInvariants(w, o, before, usableBefore, step(w, o));
            steps++;
          }
        },
      ),
      { numRuns: 10_000 },
    );
    expect(steps).toBeGreaterThan(100_000); // sequences of about 20 operations on average
  }, 60_000);
});
