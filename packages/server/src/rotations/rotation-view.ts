import {
  formatDuration,
  ROTATION_ORIGINS,
  ROTATION_STATES,
  type RotationOrigin,
  type RotationState,
} from '@keyroll/core';
import { type Db, keyLastUsedAt, type RotationsTable, requestsBeforeStart, requestsFromMinute } from '@keyroll/storage';
import { USAGE_BUCKET_MS } from '@keyroll/verifier/internal';
import { iso } from '../shared/records.js';
import { known, storedExtensions } from './rotation-records.js';
import { parseRetireRule, type RetireView, retireView } from './rotation-retire.js';

/** How far traffic has moved from the old key to the new one, since the rotation started. */
export interface RotationProgress {
  /** Verifications of the old key since the start (to the second, every outcome). */
  oldKeyRequests: number;
  newKeyRequests: number;
  /** Share of those verifications made with the new key; `null` before any. */
  shareOnNew: number | null;
  oldKeyLastUsedAt: string | null;
  newKeyLastUsedAt: string | null;
}

/** A rotation as the API shows it. */
export interface RotationView {
  id: string;
  consumerId: string;
  state: RotationState;
  origin: RotationOrigin;
  oldKeyId: string;
  newKeyId: string | null;
  /** `false` while a server-initiated rotation waits for the old key's holder to claim the successor. */
  successorClaimed: boolean;
  gracePeriod: string;
  retire: RetireView;
  policyId: string | null;
  reason: string | null;
  startedAt: string;
  /** When the old key retires (or retired), unless the rotation is rolled back. */
  retiresAt: string;
  claimedAt: string | null;
  successorFirstUsedAt: string | null;
  extensions: { at: string; by: string; from: string; to: string; actor: string }[];
  endedAt: string | null;
  endReason: string | null;
  progress: RotationProgress;
}

function isoRequired(ms: number): string {
  return new Date(ms).toISOString();
}

function requestsSince(db: Db, keyId: string | null, since: number): Promise<number> {
  return keyId === null ? Promise.resolve(0) : requestsFromMinute(db, keyId, since - (since % USAGE_BUCKET_MS));
}

function lastUsed(db: Db, keyId: string | null): Promise<number | null> {
  return keyId === null ? Promise.resolve(null) : keyLastUsedAt(db, keyId);
}

/**
 * Reads a rotation's progress from the usage counts and the keys' last use. Usage is counted per
 * minute: the old key's requests in the start's minute but before the start are left out (the
 * successor has none before the start).
 */
export async function rotationProgress(db: Db, row: RotationsTable): Promise<RotationProgress> {
  const [oldInMinutes, before, newN, oldLast, newLast] = await Promise.all([
    requestsSince(db, row.old_key_id, row.started_at),
    requestsBeforeStart(db, row.old_key_id, row.started_at),
    requestsSince(db, row.new_key_id, row.started_at),
    lastUsed(db, row.old_key_id),
    lastUsed(db, row.new_key_id),
  ]);
  const oldN = Math.max(0, oldInMinutes - before);
  return {
    oldKeyRequests: oldN,
    newKeyRequests: newN,
    shareOnNew: oldN + newN === 0 ? null : newN / (oldN + newN),
    oldKeyLastUsedAt: iso(oldLast),
    newKeyLastUsedAt: iso(newLast),
  };
}

/** The API view of a rotation row with its progress. */
export function rotationView(row: RotationsTable, progress: RotationProgress): RotationView {
  return {
    id: row.id,
    consumerId: row.consumer_id,
    state: known(ROTATION_STATES, row.state),
    origin: known(ROTATION_ORIGINS, row.origin),
    oldKeyId: row.old_key_id,
    newKeyId: row.new_key_id,
    successorClaimed: row.claimed_at !== null,
    gracePeriod: formatDuration(row.grace_ms),
    retire: retireView(parseRetireRule(row.retire)),
    policyId: row.policy_id,
    reason: row.reason,
    startedAt: isoRequired(row.started_at),
    retiresAt: isoRequired(row.deadline_at),
    claimedAt: iso(row.claimed_at),
    successorFirstUsedAt: iso(row.first_used_at),
    extensions: storedExtensions(row).map((e) => ({
      at: isoRequired(e.at),
      by: formatDuration(e.byMs),
      from: isoRequired(e.from),
      to: isoRequired(e.to),
      actor: e.actor,
    })),
    endedAt: iso(row.ended_at),
    endReason: row.end_reason,
    progress,
  };
}
