import type { Effects, RotationDecision } from '@keyroll/core';
import type { KeysTable, Tx } from '@keyroll/storage';
import { type Actor, actorName } from '../shared/actor.js';
import { rotationColumns } from './rotation-records.js';

/**
 * Writes what a rotation step decided, inside the caller's mutation: the key patches, then the
 * change-log entries (each carrying its key's hash, from `keys`) and the audit events, in order.
 */
export async function persistEffects(
  tx: Tx,
  actor: Actor,
  now: number,
  effects: Effects,
  keys: readonly KeysTable[],
): Promise<void> {
  for (const p of effects.keys) {
    await tx.db
      .updateTable('keys')
      .set({
        ...(p.retiresAt !== undefined && { retires_at: p.retiresAt }),
        ...(p.revokedAt !== undefined && { revoked_at: p.revokedAt }),
        ...(p.revokeReason !== undefined && { revoke_reason: p.revokeReason }),
        updated_at: now,
      })
      .where('id', '=', p.keyId)
      .execute();
  }
  for (const c of effects.changes) {
    const key = keys.find((k) => k.id === c.keyId);
    if (!key) throw new Error(`change about key ${c.keyId}, which the step did not read`);
    await tx.change({ at: now, kind: c.kind, entityId: key.id, keyHash: key.hash });
  }
  for (const a of effects.audit) {
    await tx.audit({ at: now, actor: actorName(actor), ...a });
  }
}

/** Writes a step's decision on an existing rotation: its patch, then its effects. */
export async function persistDecision(
  tx: Tx,
  actor: Actor,
  now: number,
  rotationId: string,
  decision: RotationDecision,
  keys: readonly KeysTable[],
): Promise<void> {
  if (decision.patch !== null) {
    await tx.db
      .updateTable('rotations')
      .set(rotationColumns(decision.patch, now))
      .where('id', '=', rotationId)
      .execute();
  }
  await persistEffects(tx, actor, now, decision, keys);
}
