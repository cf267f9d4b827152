import type { Effects, RotationPatch, RotationRecord } from '@keyroll/core';
import type { RotationsTable } from '../schema.js';
import type { Tx } from '../store.js';
import { applyKeyLifecycle, type LifecycleKey } from './key-writes.js';
import type { WriteEvent } from './write-event.js';

/** The row of a new rotation. */
function encodeRotation(r: RotationRecord, now: number): RotationsTable {
  return {
    id: r.id,
    consumer_id: r.consumerId,
    old_key_id: r.oldKeyId,
    new_key_id: r.newKeyId,
    state: r.state,
    origin: r.origin,
    policy_id: r.policyId,
    retire: JSON.stringify(r.rule),
    grace_ms: r.graceMs,
    on_reuse: r.onReuse,
    reason: r.reason,
    started_at: r.startedAt,
    deadline_at: r.deadlineAt,
    claimed_at: r.claimedAt,
    first_used_at: r.firstUsedAt,
    extensions: JSON.stringify(r.extensions),
    ended_at: r.endedAt,
    end_reason: r.endReason,
    created_by: r.createdBy,
    updated_at: now,
  };
}

/** The columns a rotation patch sets. */
function encodeRotationPatch(p: RotationPatch, now: number): Partial<RotationsTable> {
  return {
    ...(p.newKeyId !== undefined && { new_key_id: p.newKeyId }),
    ...(p.state !== undefined && { state: p.state }),
    ...(p.deadlineAt !== undefined && { deadline_at: p.deadlineAt }),
    ...(p.claimedAt !== undefined && { claimed_at: p.claimedAt }),
    ...(p.firstUsedAt !== undefined && { first_used_at: p.firstUsedAt }),
    ...(p.extensions !== undefined && { extensions: JSON.stringify(p.extensions) }),
    ...(p.endedAt !== undefined && { ended_at: p.endedAt }),
    ...(p.endReason !== undefined && { end_reason: p.endReason }),
    updated_at: now,
  };
}

/**
 * Writes what a rotation step decided about its keys, at `event.at` by `event.actor`: the key
 * patches with their change-log entries (each carrying its key's hash; `keys` are the keys the step
 * read), then the audit events, in order.
 */
export async function writeRotationEffects(
  tx: Tx,
  effects: Effects,
  keys: readonly LifecycleKey[],
  event: WriteEvent,
): Promise<void> {
  await applyKeyLifecycle(tx, effects, keys, event.at);
  for (const a of effects.audit) {
    await tx.audit({ at: event.at, actor: event.actor, ...a });
  }
}

/** Inserts a new rotation and writes the effects of starting it (see {@link writeRotationEffects}). */
export async function insertRotation(
  tx: Tx,
  rotation: RotationRecord,
  effects: Effects,
  keys: readonly LifecycleKey[],
  event: WriteEvent,
): Promise<void> {
  await tx.db.insertInto('rotations').values(encodeRotation(rotation, event.at)).execute();
  await writeRotationEffects(tx, effects, keys, event);
}

/** Applies a step's patch to a rotation (`null`: unchanged), then writes its effects (see {@link writeRotationEffects}). */
export async function updateRotation(
  tx: Tx,
  rotationId: string,
  decision: Effects & { patch: RotationPatch | null },
  keys: readonly LifecycleKey[],
  event: WriteEvent,
): Promise<void> {
  if (decision.patch !== null) {
    await tx.db
      .updateTable('rotations')
      .set(encodeRotationPatch(decision.patch, event.at))
      .where('id', '=', rotationId)
      .execute();
  }
  await writeRotationEffects(tx, decision, keys, event);
}
