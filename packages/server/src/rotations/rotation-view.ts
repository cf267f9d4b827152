import { formatDuration, type RotationOrigin, type RotationRecord, type RotationState } from '@keyroll/core';
import { type Db, keyLastUsedAt, requestsBeforeStart, requestsFromMinute } from '@keyroll/storage';
import { USAGE_BUCKET_MS } from '@keyroll/verifier/internal';
import { iso } from '../shared/records.js';
import { type RetireView, retireView } from './rotation-retire.js';

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
export async function rotationProgress(db: Db, r: RotationRecord): Promise<RotationProgress> {
  const [oldInMinutes, before, newN, oldLast, newLast] = await Promise.all([
    requestsSince(db, r.oldKeyId, r.startedAt),
    requestsBeforeStart(db, r.oldKeyId, r.startedAt),
    requestsSince(db, r.newKeyId, r.startedAt),
    lastUsed(db, r.oldKeyId),
    lastUsed(db, r.newKeyId),
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

/** The API view of a rotation with its progress. */
export function rotationView(r: RotationRecord, progress: RotationProgress): RotationView {
  return {
    id: r.id,
    consumerId: r.consumerId,
    state: r.state,
    origin: r.origin,
    oldKeyId: r.oldKeyId,
    newKeyId: r.newKeyId,
    successorClaimed: r.claimedAt !== null,
    gracePeriod: formatDuration(r.graceMs),
    retire: retireView(r.rule),
    policyId: r.policyId,
    reason: r.reason,
    startedAt: isoRequired(r.startedAt),
    retiresAt: isoRequired(r.deadlineAt),
    claimedAt: iso(r.claimedAt),
    successorFirstUsedAt: iso(r.firstUsedAt),
    extensions: r.extensions.map((e) => ({
      at: isoRequired(e.at),
      by: formatDuration(e.byMs),
      from: isoRequired(e.from),
      to: isoRequired(e.to),
      actor: e.actor,
    })),
    endedAt: iso(r.endedAt),
    endReason: r.endReason,
    progress,
  };
}
