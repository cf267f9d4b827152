import {
  type KeyStatus,
  keyStatusAt,
  type OnReuse,
  ROTATION_ORIGINS,
  ROTATION_STATES,
  type RotationExtension,
  type RotationKey,
  type RotationRecord,
} from '@keyroll/core';
import type { KeyRecord, RotationsTable } from '@keyroll/storage';
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

/** The state machine's view of a key. */
export function rotationKey(key: KeyRecord): RotationKey {
  const { id, consumerId, createdAt, expiresAt, retiresAt, revokedAt, lastUsedAt } = key;
  return { id, consumerId, createdAt, expiresAt, retiresAt, revokedAt, lastUsedAt };
}

/** The status of a key at `now`. */
export function statusOf(key: Pick<KeyRecord, 'expiresAt' | 'retiresAt' | 'revokedAt'>, now: number): KeyStatus {
  return keyStatusAt(key, now);
}
