import {
  type KeyStatus,
  keyStatusAt,
  type OnReuse,
  ROTATION_ORIGINS,
  ROTATION_STATES,
  type RotationExtension,
  type RotationKey,
  type RotationPatch,
  type RotationRecord,
} from '@keyroll/core';
import type { KeysTable, RotationsTable } from '@keyroll/storage';
import { parseRetireRule } from './rotation-retire.js';

const ON_REUSE: readonly OnReuse[] = ['reject', 'revoke'];

/** `value` as one of `values`; throws on a stored value the code does not know. */
export function known<T extends string>(values: readonly T[], value: string): T {
  const found = values.find((v) => v === value);
  if (found === undefined) throw new Error(`unknown stored value ${value}`);
  return found;
}

/** Parses a rotation's stored extensions. */
export function storedExtensions(row: Pick<RotationsTable, 'extensions'>): RotationExtension[] {
  return JSON.parse(row.extensions);
}

/** The state machine's view of a rotation row. */
export function rotationRecord(row: RotationsTable): RotationRecord {
  return {
    id: row.id,
    consumerId: row.consumer_id,
    oldKeyId: row.old_key_id,
    newKeyId: row.new_key_id,
    state: known(ROTATION_STATES, row.state),
    origin: known(ROTATION_ORIGINS, row.origin),
    policyId: row.policy_id,
    rule: parseRetireRule(row.retire),
    graceMs: row.grace_ms,
    onReuse: known(ON_REUSE, row.on_reuse),
    reason: row.reason,
    startedAt: row.started_at,
    deadlineAt: row.deadline_at,
    claimedAt: row.claimed_at,
    firstUsedAt: row.first_used_at,
    extensions: storedExtensions(row),
    endedAt: row.ended_at,
    endReason: row.end_reason,
    createdBy: row.created_by,
  };
}

/** The state machine's view of a key row. */
export function rotationKey(row: KeysTable): RotationKey {
  return {
    id: row.id,
    consumerId: row.consumer_id,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    retiresAt: row.retires_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
  };
}

/** The row of a new rotation. */
export function rotationRow(r: RotationRecord, now: number): RotationsTable {
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
export function rotationColumns(p: RotationPatch, now: number): Partial<RotationsTable> {
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

/** The status of a key row at `now`. */
export function statusOf(key: KeysTable, now: number): KeyStatus {
  return keyStatusAt({ expiresAt: key.expires_at, retiresAt: key.retires_at, revokedAt: key.revoked_at }, now);
}
