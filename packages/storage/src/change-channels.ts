import type { ChangeEntry } from './repositories/changes.js';

/**
 * PostgreSQL channel on which each committed change's sequence number is announced (the payload is
 * the number alone). Every version of keyroll listens to it and catches up by sequence number.
 */
export const PG_CHANGE_CHANNEL = 'keyroll_changes';

/**
 * PostgreSQL channel on which each committed change is announced whole, as the JSON array
 * `[seq, at, kind, entityId, keyHash]`, before the same change's {@link PG_CHANGE_CHANNEL} notice:
 * a follower that has applied everything before `seq` applies it without reading the log.
 */
export const PG_CHANGE_ROW_CHANNEL = 'keyroll_change_rows';

/** Longest payload sent on {@link PG_CHANGE_ROW_CHANNEL} (PostgreSQL refuses 8,000 bytes and more); a longer one is not sent. */
export const MAX_CHANGE_ROW_PAYLOAD = 4000;

/** The change a {@link PG_CHANGE_ROW_CHANNEL} payload carries; `null` when it is not one. */
export function parseChangeRow(payload: string): ChangeEntry | null {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return null;
  }
  if (!Array.isArray(value) || value.length !== 5) return null;
  const [seq, at, kind, entityId, keyHash] = value as unknown[];
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(at)) return null;
  if (typeof kind !== 'string' || typeof entityId !== 'string') return null;
  if (keyHash !== null && typeof keyHash !== 'string') return null;
  return { seq: seq as number, at: at as number, kind: kind as ChangeEntry['kind'], entityId, keyHash };
}
