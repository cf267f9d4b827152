import { HELD_UNTIL_CLAIMED, hashKey, isApiError, type KeyStatus, keyStatusAt } from '@keyroll/core';
import { ERROR_STATUS } from '@keyroll/verifier';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { assertProperty } from '../../../../test/support/property-seed.js';
import type { Actor } from '../../src/shared/actor.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/** The status of a stored key row at `now`. */
function statusOf(
  k: { expires_at: number | null; retires_at: number | null; revoked_at: number | null },
  now: number,
): KeyStatus {
  return keyStatusAt({ expiresAt: k.expires_at, retiresAt: k.retires_at, revokedAt: k.revoked_at }, now);
}

type Op =
  | { op: 'rotate'; key: number; graceMs: number; mode: 'deadline' | 'when-idle' | 'after-first-use' }
  | { op: 'emergency'; key: number }
  | { op: 'rollback' | 'complete'; rotation: number }
  | { op: 'extend'; rotation: number; byMs: number }
  | { op: 'claim'; key: number }
  | { op: 'selfRotate'; key: number; graceMs: number }
  | { op: 'expire'; key: number }
  | { op: 'use'; key: number }
  | { op: 'tick' }
  | { op: 'advance'; ms: number }
  | { op: 'revoke'; key: number }
  | { op: 'rootRotate'; key: number; graceMs: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({ op: fc.constantFrom('rollback' as const, 'complete' as const), rotation: fc.nat() }),
    weight: 3,
  },
  fc.record({
    op: fc.constant('rotate' as const),
    key: fc.nat(),
    graceMs: fc.constantFrom(MIN, HOUR, DAY, 3 * DAY),
    mode: fc.constantFrom('deadline' as const, 'when-idle' as const, 'after-first-use' as const),
  }),
  fc.record({ op: fc.constant('emergency' as const), key: fc.nat() }),
  fc.record({ op: fc.constant('extend' as const), rotation: fc.nat(), byMs: fc.constantFrom(MIN, HOUR, DAY) }),
  fc.record({ op: fc.constant('claim' as const), key: fc.nat() }),
  fc.record({ op: fc.constant('selfRotate' as const), key: fc.nat(), graceMs: fc.constantFrom(0, MIN, HOUR) }),
  fc.record({ op: fc.constant('expire' as const), key: fc.nat() }),
  fc.record({ op: fc.constant('use' as const), key: fc.nat() }),
  fc.record({ op: fc.constant('tick' as const) }),
  fc.record({
    op: fc.constant('advance' as const),
    ms: fc.constantFrom(30 * 1000, 10 * MIN, HOUR, 12 * HOUR, 2 * DAY),
  }),
  fc.record({ op: fc.constant('revoke' as const), key: fc.nat() }),
  fc.record({ op: fc.constant('rootRotate' as const), key: fc.nat(), graceMs: fc.constantFrom(0, HOUR) }),
);

const ROOT: Actor = { kind: 'root', id: 'property-test', scopes: ['*'] };

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`rotation invariant (property) on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect, { KEYROLL_SCHEDULER_INTERVAL_MS: '0' });
    });
    afterAll(() => h?.close());

    /** The consumer's keys (with their secrets when known) and how many authenticate now. */
    const usable = async (consumerId: string) => {
      const rows = await h.kr.store.db.selectFrom('keys').selectAll().where('consumer_id', '=', consumerId).execute();
      const now = h.clock.now();
      return rows.filter((k) => ['active', 'deprecated'].includes(statusOf(k, now))).length;
    };

    /** Ids of the usable `*` root keys at this instant. */
    const usableStarRootKeys = async () => {
      const rows = await h.kr.store.db.selectFrom('keys').selectAll().where('consumer_id', '=', 'root').execute();
      const now = h.clock.now();
      return rows
        .filter((k) => JSON.parse(k.scopes).includes('*') && ['active', 'deprecated'].includes(statusOf(k, now)))
        .map((k) => k.id);
    };

    /**
     * The invariants that hold at every instant: the old key of a policy rotation whose successor was
     * never claimed verifies VALID (unless revoked or expired), and an operator keeps a usable `*` key.
     */
    const checkInstant = async (label: string, starBefore: string[]) => {
      const now = h.clock.now();
      const waiting = await h.kr.store.db
        .selectFrom('rotations')
        .innerJoin('keys', 'keys.id', 'rotations.old_key_id')
        .selectAll('keys')
        .select(['rotations.id as rotationId'])
        .where('rotations.state', '=', 'rolling')
        .where('rotations.origin', '=', 'policy')
        .where('rotations.new_key_id', 'is', null)
        .execute();
      for (const k of waiting) {
        const status = statusOf(k, now);
        if (status === 'revoked' || status === 'expired') continue;
        if (status !== 'deprecated') throw new Error(`${label}: unclaimed ${k.rotationId} left ${k.id} ${status}`);
      }
      // Completing one is harmless only once its old key was revoked or expired anyway (every run
      // shares the database, so a later run's tick completes an earlier consumer's such rotation).
      const completedUnclaimed = (
        await h.kr.store.db
          .selectFrom('rotations')
          .innerJoin('keys', 'keys.id', 'rotations.old_key_id')
          .select(['rotations.id', 'rotations.ended_at', 'keys.revoked_at', 'keys.expires_at'])
          .where('rotations.origin', '=', 'policy')
          .where('rotations.new_key_id', 'is', null)
          .where('rotations.state', '=', 'completed')
          .where('rotations.end_reason', '=', 'deadline')
          .execute()
      ).filter((r) => {
        const end = r.ended_at ?? Number.POSITIVE_INFINITY;
        return !((r.revoked_at !== null && r.revoked_at <= end) || (r.expires_at !== null && r.expires_at <= end));
      });
      if (completedUnclaimed.length > 0) {
        throw new Error(
          `${label}: completed the unclaimed policy rotation ${completedUnclaimed[0]?.id} of a usable key`,
        );
      }
      // A rolling rotation's deprecated old key retires at the rotation's deadline, or at none while
      // its successor waits for the claim; no key is retired before a successor was handed out.
      const rolling = await h.kr.store.db
        .selectFrom('rotations')
        .innerJoin('keys', 'keys.id', 'rotations.old_key_id')
        .selectAll('keys')
        .select(['rotations.id as rotationId', 'rotations.deadline_at', 'rotations.new_key_id as successorId'])
        .where('rotations.state', '=', 'rolling')
        .execute();
      for (const k of rolling) {
        const expected = k.successorId === null ? HELD_UNTIL_CLAIMED : k.deadline_at;
        if (statusOf(k, now) === 'deprecated' && k.retires_at !== expected) {
          throw new Error(
            `${label}: ${k.id} retires at ${k.retires_at}, its rotation ${k.rotationId} says ${expected}`,
          );
        }
      }
      const retired = (
        await h.kr.store.db.selectFrom('keys').selectAll().where('retires_at', '<=', now).execute()
      ).filter((k) => statusOf(k, now) === 'retired');
      for (const k of retired) {
        const replaced = await h.kr.store.db
          .selectFrom('rotations')
          .select('id')
          .where('old_key_id', '=', k.id)
          .where('new_key_id', 'is not', null)
          .executeTakeFirst();
        if (!replaced) throw new Error(`${label}: ${k.id} retired without a successor handed out`);
      }
      const starNow = await usableStarRootKeys();
      if (starBefore.length > 0 && !starBefore.some((id) => starNow.includes(id))) {
        throw new Error(`${label}: no * root key an operator held is usable any more`);
      }
    };

    it('no rotation, rollback, completion, extension or scheduler step leaves a consumer without a valid key', async () => {
      await assertProperty(
        fc.asyncProperty(
          fc.array(opArb, { minLength: 1, maxLength: 24 }),
          fc.constantFrom(null, '2d', '10d'),
          fc.boolean(),
          fc.boolean(),
          fc.constantFrom(MIN, HOUR, 12 * HOUR),
          async (ops, expiresIn, withPolicy, withRootPolicy, policyGraceMs) => {
            const c = await h.consumerWithKey(expiresIn ? { expiresIn } : {});
            const secrets = new Map<string, string>([[c.keyId, c.key]]);
            if (withPolicy) {
              await h.kr.rotationPolicies.put(ROOT, c.consumerId, { everyMs: DAY, graceMs: policyGraceMs });
            }
            if (withRootPolicy) await h.kr.rotationPolicies.put(ROOT, 'root', { everyMs: DAY, graceMs: policyGraceMs });
            const keyIds = async () =>
              (
                await h.kr.store.db
                  .selectFrom('keys')
                  .select('id')
                  .where('consumer_id', '=', c.consumerId)
                  .orderBy('id')
                  .execute()
              ).map((k) => k.id);
            const rotationIds = async () =>
              (
                await h.kr.store.db
                  .selectFrom('rotations')
                  .select('id')
                  .where('consumer_id', '=', c.consumerId)
                  .orderBy('id')
                  .execute()
              ).map((r) => r.id);
            const pick = <T>(xs: T[], i: number): T | undefined => (xs.length ? xs[i % xs.length] : undefined);

            for (const o of ops) {
              const starBefore = await usableStarRootKeys();
              if (o.op === 'advance') {
                // The scheduler does not run while the clock moves: a paused process, a node down.
                h.clock.advance(o.ms);
                await checkInstant(JSON.stringify(o), starBefore);
                continue;
              }
              const before = await usable(c.consumerId);
              try {
                switch (o.op) {
                  case 'rotate':
                  case 'emergency': {
                    const id = pick(await keyIds(), o.key);
                    if (!id) break;
                    const graceMs = o.op === 'emergency' ? 0 : o.graceMs;
                    const retire =
                      o.op === 'emergency' || o.mode === 'deadline'
                        ? undefined
                        : o.mode === 'when-idle'
                          ? { mode: o.mode, idleForMs: 30 * MIN, extendByMs: HOUR, maxExtensions: 2 }
                          : { mode: o.mode, graceMs: Math.min(HOUR, graceMs) };
                    const r = await h.kr.rotations.rotate(ROOT, id, { graceMs, retire });
                    secrets.set(r.newKeyId, r.key);
                    break;
                  }
                  case 'claim': {
                    const id = pick(await keyIds(), o.key);
                    if (!id) break;
                    const r = await h.kr.rotations.claim({ kind: 'consumer', id, scopes: [] }, id);
                    secrets.set(r.newKeyId, r.key);
                    break;
                  }
                  case 'rollback':
                  case 'complete':
                  case 'extend': {
                    const id = pick(await rotationIds(), o.rotation);
                    if (!id) break;
                    if (o.op === 'extend') await h.kr.rotations.extend(ROOT, id, o.byMs);
                    else if (o.op === 'rollback') await h.kr.rotations.rollback(ROOT, id);
                    else await h.kr.rotations.complete(ROOT, id);
                    break;
                  }
                  case 'selfRotate': {
                    const id = pick(await keyIds(), o.key);
                    const secret = secrets.get(id ?? '');
                    if (!id || !secret) break;
                    const r = await h.kr.rotations.selfRotate({ kind: 'consumer', id, scopes: [] }, id, o.graceMs);
                    secrets.set(r.newKeyId, r.key);
                    break;
                  }
                  case 'expire': {
                    // The clock reaches a key's own expiry (no scheduler on the way).
                    const id = pick(await keyIds(), o.key);
                    const key =
                      id &&
                      (await h.kr.store.db.selectFrom('keys').selectAll().where('id', '=', id).executeTakeFirst());
                    if (key && key.expires_at !== null && key.expires_at > h.clock.now()) {
                      h.clock.advance(key.expires_at - h.clock.now());
                    }
                    break;
                  }
                  case 'use': {
                    const secret = secrets.get(pick(await keyIds(), o.key) ?? '');
                    if (secret) await h.kr.verifier.verify(secret);
                    await h.kr.usage.flush();
                    break;
                  }
                  case 'tick':
                    await h.kr.scheduler.tick();
                    break;
                  case 'revoke': {
                    const id = pick(await keyIds(), o.key);
                    if (id) await h.kr.keys.revoke(ROOT, id, 'test');
                    break;
                  }
                  case 'rootRotate': {
                    // Not the harness's own key: the test needs it for the admin API afterwards.
                    const harnessKey = await h.kr.store.db
                      .selectFrom('keys')
                      .select('id')
                      .where('hash', '=', hashKey(h.rootKey))
                      .executeTakeFirstOrThrow();
                    const id = pick(
                      starBefore.filter((k) => k !== harnessKey.id),
                      o.key,
                    );
                    if (id) await h.kr.rotations.rotate(ROOT, id, { graceMs: o.graceMs });
                    break;
                  }
                }
              } catch (e) {
                // refusals (409, 404) are answers, not failures; anything else is a bug
                if (!isApiError(e) || ERROR_STATUS[e.code] >= 500) throw e;
              }
              await checkInstant(JSON.stringify(o), starBefore);
              if (o.op !== 'revoke' && o.op !== 'expire' && before > 0) {
                const after = await usable(c.consumerId);
                if (after === 0)
                  throw new Error(`${JSON.stringify(o)} left consumer ${c.consumerId} without a valid key`);
              }
            }
            if (withPolicy) await h.kr.rotationPolicies.remove(ROOT, c.consumerId);
            if (withRootPolicy) await h.kr.rotationPolicies.remove(ROOT, 'root');
          },
        ),
        // A smaller run than core's in-memory property test (packages/core/test/rotation-machine.test.ts),
        // bounded in time: the same seed replays the same sequences.
        {
          numRuns: dialect.name === 'sqlite' ? 150 : 40,
          interruptAfterTimeLimit: 6_000,
          markInterruptAsFailure: false,
        },
      );
    }, 180_000);
  });
}
