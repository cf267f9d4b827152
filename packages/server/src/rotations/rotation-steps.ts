import {
  ApiError,
  decideClaim,
  decideComplete,
  decideExtend,
  decideRollback,
  decideStart,
  decideTick,
  newId,
  type OnReuse,
  orThrow,
  type RetireRule,
  type RotationOrigin,
  type RotationRecord,
  type RotationSnapshot,
  successorExpiresAt,
  type TickOutcome,
} from '@keyroll/core';
import {
  type Db,
  findKeyById,
  findRotation,
  firstValidUseMinute,
  insertKey,
  insertRotation,
  type KeyRecord,
  type Tx,
  updateRotation,
  type WriteEvent,
} from '@keyroll/storage';
import { ROOT_CONSUMER_ID } from '../consumers/consumer-service.js';
import type { IssuedKey, KeyService } from '../keys/key-service.js';
import { assertAnotherUsableRootKey } from '../keys/root-key-guard.js';
import { type Actor, actorName } from '../shared/actor.js';
import { keyRecordView } from '../shared/records.js';
import { checkFuture, checkMetadata, checkScopes } from '../shared/validate.js';
import { rotationKey } from './rotation-keys.js';

/** Fields of the successor that differ from its predecessor's. */
export interface SuccessorOverrides {
  name?: string | undefined;
  scopes?: string[] | undefined;
  metadata?: Record<string, unknown> | undefined;
  /** Epoch ms; `null` for none. Unset: the predecessor's lifetime, counted from now. */
  expiresAt?: number | null | undefined;
}

/** How to start a rotation. */
export interface StartRotation {
  /** 0 is the emergency rollover: the old key is revoked at once. */
  graceMs: number;
  rule: RetireRule;
  origin: RotationOrigin;
  onReuse: OnReuse;
  policyId?: string | null;
  /** Revocation reason of an emergency rollover (default `compromised`). */
  reason?: string | undefined;
  /** Issue the successor now (its secret goes to the caller) or when the old key's holder claims it. */
  issueNow: boolean;
  overrides?: SuccessorOverrides | undefined;
}

/** A started rotation and, when issued at once, its successor. */
export interface StartedRotation {
  rotation: RotationRecord;
  issued: IssuedKey | null;
}

/** A claim's outcome: the successor handed out, or a reuse recorded (and the lineage revoked when `revoked`). */
export type ClaimOutcome =
  | { kind: 'claimed'; row: RotationRecord; issued: IssuedKey }
  | { kind: 'reused'; row: RotationRecord; revoked: boolean };

/**
 * The steps of a rotation, each run inside a caller's mutation: read the rotation and its keys, ask
 * core's state machine for a decision, and persist it, so that a key change, its change-log entry and
 * its audit event commit together. Callers re-read the rotation inside the mutation.
 */
export class RotationSteps {
  readonly #keys: KeyService;

  constructor(keys: KeyService) {
    this.#keys = keys;
  }

  /** A rotation row; 404 when unknown. */
  async rotation(db: Db, id: string): Promise<RotationRecord> {
    const row = await findRotation(db, id);
    if (!row) throw new ApiError('NOT_FOUND', `rotation ${id} not found`);
    return row;
  }

  /** A key; 404 when unknown. */
  async key(db: Db, id: string): Promise<KeyRecord> {
    const key = await findKeyById(db, id);
    if (!key) throw new ApiError('NOT_FOUND', `key ${id} not found`);
    return key;
  }

  /** Starts a rotation of an active key: deprecates it (or revokes it, for an emergency) and records the rotation. */
  async start(tx: Tx, actor: Actor, old: KeyRecord, now: number, s: StartRotation): Promise<StartedRotation> {
    const rotationId = newId('rotation', now);
    const successorId = s.issueNow ? newId('key', now) : null;
    const decision = orThrow(
      decideStart({
        old: rotationKey(old),
        now,
        rotationId,
        successorId,
        graceMs: s.graceMs,
        rule: s.rule,
        origin: s.origin,
        onReuse: s.onReuse,
        policyId: s.policyId ?? null,
        reason: s.reason ?? null,
        actor: actorName(actor),
      }),
    );
    // Rotating ends the old key: the actor must hold every scope of it (not only of the successor).
    this.#keys.assertMayGrant(actor, old.consumerId, old.scopes);
    // An emergency rollover of the last usable `*` root key would leave its successor only in one response.
    if (s.graceMs === 0 && old.consumerId === ROOT_CONSUMER_ID && old.scopes.includes('*')) {
      await assertAnotherUsableRootKey(tx, old.id, now);
    }
    const issued =
      successorId === null
        ? null
        : await this.#issueSuccessor(tx, actor, old, now, rotationId, successorId, s.overrides ?? {});
    await insertRotation(tx, decision.rotation, decision, [old], writeEvent(actor, now));
    return { rotation: decision.rotation, issued };
  }

  /**
   * A claim of the successor of a rolling rotation by `actor`, holder of the old key: the first
   * issues the successor (its secret is returned this once); a later one is recorded as a reuse and,
   * with `onReuse: revoke`, revokes the old key and the successor. 409 when the claim is refused.
   */
  async claim(tx: Tx, actor: Actor, row: RotationRecord, now: number): Promise<ClaimOutcome> {
    const { snapshot, keys, old } = await this.#snapshot(tx.db, actor, row, now);
    const successorId = newId('key', now);
    const claim = orThrow(decideClaim(snapshot, successorId));
    if (claim.kind === 'reused') {
      await updateRotation(tx, row.id, claim.decision, keys, writeEvent(actor, now));
      return { kind: 'reused', row, revoked: claim.revoked };
    }
    const issued = await this.#issueSuccessor(tx, actor, old, now, row.id, successorId, {});
    await updateRotation(tx, row.id, claim.decision, keys, writeEvent(actor, now));
    return { kind: 'claimed', row: { ...row, newKeyId: successorId, claimedAt: now }, issued };
  }

  /**
   * Ends a rolling rotation: the old key retires now if it has not yet. Retiring early needs a
   * usable successor, so that completing never leaves the consumer without a key (409 otherwise).
   */
  async complete(tx: Tx, actor: Actor, row: RotationRecord, now: number, endReason: string): Promise<void> {
    const { snapshot, keys } = await this.#snapshot(tx.db, actor, row, now);
    await updateRotation(tx, row.id, orThrow(decideComplete(snapshot, endReason)), keys, writeEvent(actor, now));
  }

  /** Rolls a rotation back: the old key is active again (its own expiry unchanged), the successor is revoked. */
  async rollback(tx: Tx, actor: Actor, row: RotationRecord, now: number): Promise<void> {
    const { snapshot, keys } = await this.#snapshot(tx.db, actor, row, now);
    await updateRotation(tx, row.id, orThrow(decideRollback(snapshot)), keys, writeEvent(actor, now));
  }

  /** Pushes the old key's deadline back by `byMs`, never past the old key's own expiry. */
  async extend(tx: Tx, actor: Actor, row: RotationRecord, now: number, byMs: number): Promise<void> {
    const { snapshot, keys } = await this.#snapshot(tx.db, actor, row, now);
    await updateRotation(tx, row.id, orThrow(decideExtend(snapshot, byMs)), keys, writeEvent(actor, now));
  }

  /**
   * One scheduler step for a rotation (see core's `decideTick`): completes it, retires early, pushes
   * its deadline or shortens it after first use. Returns what it did, `null` when nothing was due.
   */
  async tick(tx: Tx, actor: Actor, row: RotationRecord, now: number, lookaheadMs: number): Promise<TickOutcome | null> {
    const { snapshot, keys } = await this.#snapshot(tx.db, actor, row, now);
    const firstUse = await this.#firstUse(tx.db, snapshot.rotation);
    const tick = decideTick(snapshot, { lookaheadMs, successorFirstUsedAt: firstUse });
    if (tick === null) return null;
    const { outcome, decision } = orThrow(tick);
    await updateRotation(tx, row.id, decision, keys, writeEvent(actor, now));
    return outcome;
  }

  /** The rotation with its old key and successor, for core's state machine; `keys` are their rows. */
  async #snapshot(
    db: Db,
    actor: Actor,
    row: RotationRecord,
    now: number,
  ): Promise<{ snapshot: RotationSnapshot; keys: KeyRecord[]; old: KeyRecord }> {
    const old = await this.key(db, row.oldKeyId);
    const successor = row.newKeyId === null ? null : await this.key(db, row.newKeyId);
    return {
      snapshot: {
        rotation: row,
        old: rotationKey(old),
        successor: successor && rotationKey(successor),
        now,
        actor: actorName(actor),
      },
      keys: successor ? [old, successor] : [old],
      old,
    };
  }

  /**
   * When an after-first-use rotation's successor was first used: its first counted minute, not
   * before it was handed out; `null` when not used yet or when the rule does not ask.
   */
  async #firstUse(db: Db, r: RotationRecord): Promise<number | null> {
    if (r.state !== 'rolling' || r.rule.mode !== 'after-first-use' || r.firstUsedAt !== null || r.newKeyId === null) {
      return null;
    }
    const first = await firstValidUseMinute(db, r.newKeyId);
    if (first === null) return null;
    return Math.max(first, r.claimedAt ?? r.startedAt);
  }

  async #issueSuccessor(
    tx: Tx,
    actor: Actor,
    old: KeyRecord,
    now: number,
    rotationId: string,
    successorId: string,
    o: SuccessorOverrides,
  ): Promise<IssuedKey> {
    const scopes = o.scopes === undefined ? undefined : checkScopes(o.scopes);
    if (o.expiresAt != null) checkFuture('expiresAt', o.expiresAt, now);
    // The successor's secret goes to the caller: it may not carry scopes the caller lacks, inherited or not.
    this.#keys.assertMayGrant(actor, old.consumerId, old.scopes);
    this.#keys.assertMayGrant(actor, old.consumerId, scopes ?? old.scopes);
    // A successor without `*` for the last `*` root key locks everyone out once the old key retires.
    if (scopes && !scopes.includes('*') && old.consumerId === ROOT_CONSUMER_ID && old.scopes.includes('*')) {
      await assertAnotherUsableRootKey(tx, old.id, now);
    }
    const { key, record } = this.#keys.newKey(old.consumerId, now, {
      name: o.name ?? old.name,
      scopes: scopes ?? old.scopes,
      metadata: o.metadata ? checkMetadata(o.metadata) : old.metadata,
      allowedIps: old.allowedIps,
      rateLimit: old.rateLimit,
      quota: old.quota,
      planId: old.planId,
      expiresAt: successorExpiresAt(rotationKey(old), now, o.expiresAt),
      version: old.version + 1,
      predecessorId: old.id,
    });
    const issued = await insertKey(
      tx,
      { ...record, id: successorId },
      { ...writeEvent(actor, now), data: { predecessorId: old.id, rotationId } },
    );
    return { key, view: keyRecordView(issued, now) };
  }
}

/** The write event of a rotation step by `actor` at `now`. */
function writeEvent(actor: Actor, now: number): WriteEvent {
  return { at: now, actor: actorName(actor) };
}
