import { ApiError, isUsableStatus, type KeyStatus, keyStatusAt, newId } from '@keyroll/core';
import type { ChangeKind, Database, KeysTable, RotationsTable, Tx } from '@keyroll/storage';
import type { Kysely } from 'kysely';
import { ROOT_CONSUMER_ID } from '../consumers/consumer-service.js';
import type { IssuedKey, KeyService } from '../keys/key-service.js';
import { assertAnotherUsableRootKey } from '../keys/root-key-guard.js';
import { type Actor, actorName } from '../shared/actor.js';
import { checkFuture, checkScopes, metadataJson } from '../shared/validate.js';
import { awaitsClaim, deadlineAfterClaim, UNCLAIMED_RETIRES_AT } from './rotation-hold.js';
import { type RetireRule, retireWindowMs } from './rotation-retire.js';
import { type RotationOrigin, type StoredExtension, storedExtensions } from './rotation-view.js';

/** What a second claim of a successor does: answer 409, or also revoke the whole lineage. */
export type OnReuse = 'reject' | 'revoke';

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

/** Revocation reason of keys revoked because a successor was claimed twice. */
export const REUSE_REASON = 'successor_reuse';

/** The status of a key row at `now`. */
export function statusOf(key: KeysTable, now: number): KeyStatus {
  return keyStatusAt({ expiresAt: key.expires_at, retiresAt: key.retires_at, revokedAt: key.revoked_at }, now);
}

/**
 * The steps of a rotation, each run inside a caller's mutation so that a key change, its change-log
 * entry and its audit event commit together. Callers re-read the rotation inside the mutation.
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
    const status = statusOf(old, now);
    if (status !== 'active') {
      throw new ApiError(
        status === 'deprecated' ? 'ROTATION_IN_PROGRESS' : 'KEY_NOT_ACTIVE',
        `key ${old.id} is ${status}; only an active key can be rotated`,
        { keyStatus: status },
      );
    }
    const emergency = s.graceMs === 0;
    // Rotating ends the old key: the actor must hold every scope of it (not only of the successor).
    const oldScopes: string[] = JSON.parse(old.scopes);
    this.#keys.assertMayGrant(actor, old.consumer_id, oldScopes);
    // An emergency rollover of the last usable `*` root key would leave its successor only in one response.
    if (emergency && old.consumer_id === ROOT_CONSUMER_ID && oldScopes.includes('*')) {
      await assertAnotherUsableRootKey(tx, old.id, now);
    }
    const id = newId('rotation', now);
    // Expiry is never stretched: the old key retires at its own expiry if that comes first.
    const deadline = emergency ? now : Math.min(now + retireWindowMs(s.rule, s.graceMs), old.expires_at ?? Infinity);
    const issued = s.issueNow ? await this.#issueSuccessor(tx, actor, old, now, id, s.overrides ?? {}) : null;
    const row: RotationsTable = {
      id,
      consumer_id: old.consumer_id,
      old_key_id: old.id,
      new_key_id: issued?.view.id ?? null,
      state: emergency ? 'completed' : 'rolling',
      origin: s.origin,
      policy_id: s.policyId ?? null,
      retire: JSON.stringify(s.rule),
      grace_ms: s.graceMs,
      on_reuse: s.onReuse,
      reason: emergency ? (s.reason ?? 'compromised') : null,
      started_at: now,
      deadline_at: deadline,
      claimed_at: issued ? now : null,
      first_used_at: null,
      extensions: '[]',
      ended_at: emergency ? now : null,
      end_reason: emergency ? 'emergency' : null,
      created_by: actorName(actor),
      updated_at: now,
    };
    await tx.db.insertInto('rotations').values(row).execute();
    if (emergency) {
      await this.#keys.revokeInTx(tx, old, now, row.reason ?? 'compromised', actor);
    } else {
      // Nobody holds the successor yet: the old key is deprecated but has no deadline until the claim.
      await this.#setRetiresAt(tx, old, issued ? deadline : UNCLAIMED_RETIRES_AT, now, 'rotation.started');
    }
    await this.#audit(tx, actor, row, now, 'rotation.started', {
      origin: row.origin,
      emergency,
      gracePeriodMs: row.grace_ms,
      retireMode: s.rule.mode,
      retiresAt: new Date(deadline).toISOString(),
      ...(row.reason !== null && { reason: row.reason }),
    });
    if (emergency) await this.#audit(tx, actor, row, now, 'rotation.completed', { endReason: 'emergency' });
    return { rotation: row, issued };
  }

  /** Issues the successor of a rotation that waits for its claim; the secret is returned this once. */
  async claim(tx: Tx, actor: Actor, row: RotationsTable, old: KeysTable, now: number): Promise<IssuedKey> {
    const issued = await this.#issueSuccessor(tx, actor, old, now, row.id, {});
    // From the claim on, the old key has a real deadline (held until now, see UNCLAIMED_RETIRES_AT).
    const deadline = Math.min(deadlineAfterClaim(row, now), old.expires_at ?? Infinity);
    if (statusOf(old, now) === 'deprecated') await this.#setRetiresAt(tx, old, deadline, now, 'rotation.claimed');
    await tx.db
      .updateTable('rotations')
      .set({ new_key_id: issued.view.id, claimed_at: now, deadline_at: deadline, updated_at: now })
      .where('id', '=', row.id)
      .execute();
    await this.#audit(tx, actor, { ...row, new_key_id: issued.view.id }, now, 'successor.claimed', {});
    return issued;
  }

  /**
   * Records a second claim of a successor (a sign that the old key leaked); with `onReuse: revoke`
   * also revokes the old key and the successor and ends the rotation. Returns whether it revoked.
   */
  async reclaimAttempted(tx: Tx, actor: Actor, row: RotationsTable, now: number): Promise<boolean> {
    const revoke = row.on_reuse === 'revoke';
    await this.#audit(tx, actor, row, now, 'successor.reclaim_attempted', { onReuse: row.on_reuse });
    if (!revoke) return false;
    for (const keyId of [row.old_key_id, row.new_key_id]) {
      if (keyId === null) continue;
      const key = await this.key(tx.db, keyId);
      if (key.revoked_at === null) await this.#keys.revokeInTx(tx, key, now, REUSE_REASON, actor);
    }
    if (row.state === 'rolling') {
      await this.#end(tx, row, now, 'completed', REUSE_REASON, row.deadline_at);
      await this.#audit(tx, actor, row, now, 'rotation.completed', { endReason: REUSE_REASON });
    }
    return true;
  }

  /** True when the rotation's successor exists and authenticates at `now`. */
  async successorUsable(db: Kysely<Database>, row: RotationsTable, now: number): Promise<boolean> {
    if (row.new_key_id === null) return false;
    return isUsableStatus(statusOf(await this.key(db, row.new_key_id), now));
  }

  /**
   * Ends a rolling rotation: the old key retires now if it has not yet. Retiring early needs a
   * usable successor, so that completing never leaves the consumer without a key (409 otherwise).
   */
  async complete(tx: Tx, actor: Actor, row: RotationsTable, now: number, endReason: string): Promise<void> {
    assertRolling(row);
    const old = await this.key(tx.db, row.old_key_id);
    let deadline = row.deadline_at;
    if (statusOf(old, now) === 'deprecated') {
      if (!(await this.successorUsable(tx.db, row, now))) {
        throw new ApiError(
          'CONFLICT',
          row.new_key_id === null
            ? `the successor of rotation ${row.id} has not been claimed yet`
            : `the successor of rotation ${row.id} is not usable; roll the rotation back instead`,
        );
      }
      deadline = now;
      await this.#setRetiresAt(tx, old, now, now, 'rotation.completed');
    } else {
      await tx.change({ at: now, kind: 'rotation.completed', entityId: old.id, keyHash: old.hash });
    }
    await this.#end(tx, row, now, 'completed', endReason, deadline);
    await this.#audit(tx, actor, row, now, 'rotation.completed', {
      endReason,
      retiredAt: new Date(deadline).toISOString(),
    });
  }

  /** Rolls a rotation back: the old key is active again (its own expiry unchanged), the successor is revoked. */
  async rollback(tx: Tx, actor: Actor, row: RotationsTable, now: number): Promise<void> {
    assertRolling(row);
    const old = await this.key(tx.db, row.old_key_id);
    const status = statusOf(old, now);
    if (status !== 'deprecated') {
      throw new ApiError('ROTATION_NOT_ROLLING', `the old key is already ${status}; there is nothing to roll back to`);
    }
    await this.#setRetiresAt(tx, old, null, now, 'rotation.rolled_back');
    if (row.new_key_id !== null) {
      const successor = await this.key(tx.db, row.new_key_id);
      if (successor.revoked_at === null) await this.#keys.revokeInTx(tx, successor, now, 'rollback', actor);
    }
    await this.#end(tx, row, now, 'rolled_back', 'rollback', row.deadline_at);
    await this.#audit(tx, actor, row, now, 'rotation.rolled_back', {});
  }

  /** Pushes the old key's deadline back by `byMs`, never past the old key's own expiry. */
  async extend(tx: Tx, actor: Actor, row: RotationsTable, now: number, byMs: number): Promise<void> {
    assertRolling(row);
    const old = await this.key(tx.db, row.old_key_id);
    const status = statusOf(old, now);
    if (status !== 'deprecated' && !heldByClaim(row, old, now)) {
      throw new ApiError('ROTATION_NOT_ROLLING', `the old key is already ${status}; its deadline cannot move`);
    }
    const from = row.deadline_at;
    // An overdue claim-by date moves from now, so the extension gives the holder `byMs` to claim.
    const to = Math.min((awaitsClaim(row) ? Math.max(from, now) : from) + byMs, old.expires_at ?? Infinity);
    const extension: StoredExtension = { at: now, byMs, from, to, actor: actorName(actor) };
    // A rotation awaiting its claim moves only its claim-by date; the old key keeps no deadline.
    const retiresAt = awaitsClaim(row) ? UNCLAIMED_RETIRES_AT : to;
    await this.#setRetiresAt(tx, old, retiresAt, now, 'rotation.extended');
    await tx.db
      .updateTable('rotations')
      .set({ deadline_at: to, extensions: JSON.stringify([...storedExtensions(row), extension]), updated_at: now })
      .where('id', '=', row.id)
      .execute();
    await this.#audit(tx, actor, row, now, 'rotation.extended', {
      byMs,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      cappedByExpiry: to < from + byMs,
    });
  }

  /**
   * The first-use rule: records when the successor was first used and moves the old key's deadline
   * to `at` — only ever earlier, never into the past.
   */
  async shortenTo(
    tx: Tx,
    actor: Actor,
    row: RotationsTable,
    now: number,
    at: number,
    firstUsedAt: number,
  ): Promise<void> {
    const old = await this.key(tx.db, row.old_key_id);
    const to = Math.max(now, Math.min(at, row.deadline_at));
    if (statusOf(old, now) === 'deprecated' && to < row.deadline_at) {
      await this.#setRetiresAt(tx, old, to, now, 'rotation.shortened');
    } else {
      await tx.change({ at: now, kind: 'rotation.shortened', entityId: old.id, keyHash: old.hash });
    }
    await tx.db
      .updateTable('rotations')
      .set({ deadline_at: to, first_used_at: firstUsedAt, updated_at: now })
      .where('id', '=', row.id)
      .execute();
    await this.#audit(tx, actor, row, now, 'rotation.shortened', {
      rule: 'after-first-use',
      successorFirstUsedAt: new Date(firstUsedAt).toISOString(),
      from: new Date(row.deadline_at).toISOString(),
      to: new Date(to).toISOString(),
    });
  }

  async #issueSuccessor(
    tx: Tx,
    actor: Actor,
    old: KeysTable,
    now: number,
    rotationId: string,
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
    const lifetime = old.expires_at === null ? null : old.expires_at - old.created_at;
    const expiresAt = o.expiresAt !== undefined ? o.expiresAt : lifetime === null ? null : now + lifetime;
    const { key, row } = this.#keys.newKeyRow(old.consumer_id, now, {
      name: o.name ?? old.name,
      scopes: scopes ? JSON.stringify(scopes) : old.scopes,
      metadata: o.metadata ? metadataJson(o.metadata) : old.metadata,
      allowed_ips: old.allowed_ips,
      rate_limit: old.rate_limit,
      quota: old.quota,
      plan_id: old.plan_id,
      expires_at: expiresAt,
      version: old.version + 1,
      predecessor_id: old.id,
    });
    const view = await this.#keys.insertKey(tx, row, actor, 'key.created', { predecessorId: old.id, rotationId });
    return { key, view };
  }

  async #setRetiresAt(tx: Tx, key: KeysTable, at: number | null, now: number, kind: ChangeKind): Promise<void> {
    await tx.db.updateTable('keys').set({ retires_at: at, updated_at: now }).where('id', '=', key.id).execute();
    await tx.change({ at: now, kind, entityId: key.id, keyHash: key.hash });
  }

  async #end(
    tx: Tx,
    row: RotationsTable,
    now: number,
    state: 'completed' | 'rolled_back',
    endReason: string,
    deadline: number,
  ): Promise<void> {
    await tx.db
      .updateTable('rotations')
      .set({ state, ended_at: now, end_reason: endReason, deadline_at: deadline, updated_at: now })
      .where('id', '=', row.id)
      .execute();
  }

  async #audit(
    tx: Tx,
    actor: Actor,
    row: RotationsTable,
    now: number,
    action: string,
    data: Record<string, unknown>,
  ): Promise<void> {
    await tx.audit({
      at: now,
      actor: actorName(actor),
      action,
      targetType: 'rotation',
      targetId: row.id,
      data: { consumerId: row.consumer_id, oldKeyId: row.old_key_id, newKeyId: row.new_key_id, ...data },
    });
  }
}

/**
 * True when the old key of a rotation awaiting its claim must stay usable: deprecated, or retired by
 * this rotation's own deadline (a row written before claims held the key) — never revoked or expired.
 */
export function heldByClaim(row: RotationsTable, old: KeysTable, now: number): boolean {
  if (!awaitsClaim(row)) return false;
  const status = statusOf(old, now);
  return status === 'deprecated' || (status === 'retired' && old.retires_at === row.deadline_at);
}

/** 409 ROTATION_NOT_ROLLING unless the rotation is still rolling. */
export function assertRolling(row: RotationsTable): void {
  if (row.state !== 'rolling') {
    throw new ApiError('ROTATION_NOT_ROLLING', `rotation ${row.id} is ${row.state}`, { state: row.state });
  }
}
