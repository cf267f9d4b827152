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
import type { Database, KeysTable, RotationsTable, Tx } from '@keyroll/storage';
import type { Kysely } from 'kysely';
import { ROOT_CONSUMER_ID } from '../consumers/consumer-service.js';
import type { IssuedKey, KeyService } from '../keys/key-service.js';
import { assertAnotherUsableRootKey } from '../keys/root-key-guard.js';
import { type Actor, actorName } from '../shared/actor.js';
import { checkFuture, checkScopes, metadataJson } from '../shared/validate.js';
import { persistDecision, persistEffects } from './rotation-persist.js';
import { rotationKey, rotationRecord, rotationRow } from './rotation-records.js';

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
  rotation: RotationsTable;
  issued: IssuedKey | null;
}

/** A claim's outcome: the successor handed out, or a reuse recorded (and the lineage revoked when `revoked`). */
export type ClaimOutcome =
  | { kind: 'claimed'; row: RotationsTable; issued: IssuedKey }
  | { kind: 'reused'; row: RotationsTable; revoked: boolean };

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
  async rotation(db: Kysely<Database>, id: string): Promise<RotationsTable> {
    const row = await db.selectFrom('rotations').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new ApiError('NOT_FOUND', `rotation ${id} not found`);
    return row;
  }

  /** A key row; 404 when unknown. */
  key(db: Kysely<Database>, id: string): Promise<KeysTable> {
    return this.#keys.row(db, id);
  }

  /** Starts a rotation of an active key: deprecates it (or revokes it, for an emergency) and records the rotation. */
  async start(tx: Tx, actor: Actor, old: KeysTable, now: number, s: StartRotation): Promise<StartedRotation> {
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
    const oldScopes: string[] = JSON.parse(old.scopes);
    this.#keys.assertMayGrant(actor, old.consumer_id, oldScopes);
    // An emergency rollover of the last usable `*` root key would leave its successor only in one response.
    if (s.graceMs === 0 && old.consumer_id === ROOT_CONSUMER_ID && oldScopes.includes('*')) {
      await assertAnotherUsableRootKey(tx, old.id, now);
    }
    const issued =
      successorId === null
        ? null
        : await this.#issueSuccessor(tx, actor, old, now, rotationId, successorId, s.overrides ?? {});
    const row = rotationRow(decision.rotation, now);
    await tx.db.insertInto('rotations').values(row).execute();
    await persistEffects(tx, actor, now, decision, [old]);
    return { rotation: row, issued };
  }

  /**
   * A claim of the successor of a rolling rotation by `actor`, holder of the old key: the first
   * issues the successor (its secret is returned this once); a later one is recorded as a reuse and,
   * with `onReuse: revoke`, revokes the old key and the successor. 409 when the claim is refused.
   */
  async claim(tx: Tx, actor: Actor, row: RotationsTable, now: number): Promise<ClaimOutcome> {
    const { snapshot, keys, old } = await this.#snapshot(tx.db, actor, row, now);
    const successorId = newId('key', now);
    const claim = orThrow(decideClaim(snapshot, successorId));
    if (claim.kind === 'reused') {
      await persistDecision(tx, actor, now, row.id, claim.decision, keys);
      return { kind: 'reused', row, revoked: claim.revoked };
    }
    const issued = await this.#issueSuccessor(tx, actor, old, now, row.id, successorId, {});
    await persistDecision(tx, actor, now, row.id, claim.decision, keys);
    return { kind: 'claimed', row: { ...row, new_key_id: successorId, claimed_at: now }, issued };
  }

  /**
   * Ends a rolling rotation: the old key retires now if it has not yet. Retiring early needs a
   * usable successor, so that completing never leaves the consumer without a key (409 otherwise).
   */
  async complete(tx: Tx, actor: Actor, row: RotationsTable, now: number, endReason: string): Promise<void> {
    const { snapshot, keys } = await this.#snapshot(tx.db, actor, row, now);
    await persistDecision(tx, actor, now, row.id, orThrow(decideComplete(snapshot, endReason)), keys);
  }

  /** Rolls a rotation back: the old key is active again (its own expiry unchanged), the successor is revoked. */
  async rollback(tx: Tx, actor: Actor, row: RotationsTable, now: number): Promise<void> {
    const { snapshot, keys } = await this.#snapshot(tx.db, actor, row, now);
    await persistDecision(tx, actor, now, row.id, orThrow(decideRollback(snapshot)), keys);
  }

  /** Pushes the old key's deadline back by `byMs`, never past the old key's own expiry. */
  async extend(tx: Tx, actor: Actor, row: RotationsTable, now: number, byMs: number): Promise<void> {
    const { snapshot, keys } = await this.#snapshot(tx.db, actor, row, now);
    await persistDecision(tx, actor, now, row.id, orThrow(decideExtend(snapshot, byMs)), keys);
  }

  /**
   * One scheduler step for a rotation (see core's `decideTick`): completes it, retires early, pushes
   * its deadline or shortens it after first use. Returns what it did, `null` when nothing was due.
   */
  async tick(tx: Tx, actor: Actor, row: RotationsTable, now: number, lookaheadMs: number): Promise<TickOutcome | null> {
    const { snapshot, keys } = await this.#snapshot(tx.db, actor, row, now);
    const firstUse = await this.#firstUse(tx.db, snapshot.rotation);
    const tick = decideTick(snapshot, { lookaheadMs, successorFirstUsedAt: firstUse });
    if (tick === null) return null;
    const { outcome, decision } = orThrow(tick);
    await persistDecision(tx, actor, now, row.id, decision, keys);
    return outcome;
  }

  /** The rotation with its old key and successor, for core's state machine; `keys` are their rows. */
  async #snapshot(
    db: Kysely<Database>,
    actor: Actor,
    row: RotationsTable,
    now: number,
  ): Promise<{ snapshot: RotationSnapshot; keys: KeysTable[]; old: KeysTable }> {
    const old = await this.key(db, row.old_key_id);
    const successor = row.new_key_id === null ? null : await this.key(db, row.new_key_id);
    return {
      snapshot: {
        rotation: rotationRecord(row),
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
  async #firstUse(db: Kysely<Database>, r: RotationRecord): Promise<number | null> {
    if (r.state !== 'rolling' || r.rule.mode !== 'after-first-use' || r.firstUsedAt !== null || r.newKeyId === null) {
      return null;
    }
    const first = await db
      .selectFrom('usage_minutes')
      .select((eb) => eb.fn.min<number | string | null>('minute').as('minute'))
      .where('key_id', '=', r.newKeyId)
      .where('code', '=', 'VALID')
      .executeTakeFirst();
    if (first?.minute == null) return null;
    return Math.max(Number(first.minute), r.claimedAt ?? r.startedAt);
  }

  async #issueSuccessor(
    tx: Tx,
    actor: Actor,
    old: KeysTable,
    now: number,
    rotationId: string,
    successorId: string,
    o: SuccessorOverrides,
  ): Promise<IssuedKey> {
    const scopes = o.scopes === undefined ? undefined : checkScopes(o.scopes);
    if (o.expiresAt != null) checkFuture('expiresAt', o.expiresAt, now);
    // The successor's secret goes to the caller: it may not carry scopes the caller lacks, inherited or not.
    const oldScopes: string[] = JSON.parse(old.scopes);
    this.#keys.assertMayGrant(actor, old.consumer_id, oldScopes);
    this.#keys.assertMayGrant(actor, old.consumer_id, scopes ?? oldScopes);
    // A successor without `*` for the last `*` root key locks everyone out once the old key retires.
    if (scopes && !scopes.includes('*') && old.consumer_id === ROOT_CONSUMER_ID && oldScopes.includes('*')) {
      await assertAnotherUsableRootKey(tx, old.id, now);
    }
    const { key, row } = this.#keys.newKeyRow(old.consumer_id, now, {
      name: o.name ?? old.name,
      scopes: scopes ? JSON.stringify(scopes) : old.scopes,
      metadata: o.metadata ? metadataJson(o.metadata) : old.metadata,
      allowed_ips: old.allowed_ips,
      rate_limit: old.rate_limit,
      quota: old.quota,
      plan_id: old.plan_id,
      expires_at: successorExpiresAt(rotationKey(old), now, o.expiresAt),
      version: old.version + 1,
      predecessor_id: old.id,
    });
    const view = await this.#keys.insertKey(tx, { ...row, id: successorId }, actor, 'key.created', {
      predecessorId: old.id,
      rotationId,
    });
    return { key, view };
  }
}
