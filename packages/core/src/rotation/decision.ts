import { ApiError, type ErrorCode } from '../errors.js';
import type { RotationRecord } from './model.js';

/** The change-log kinds a rotation step writes (names of storage's `ChangeKind`). */
export type RotationChangeKind =
  | 'key.revoked'
  | 'rotation.started'
  | 'rotation.claimed'
  | 'rotation.completed'
  | 'rotation.rolled_back'
  | 'rotation.extended'
  | 'rotation.shortened';

/** New values of a key's rotation fields; an absent field stays as it is. */
export interface KeyPatch {
  keyId: string;
  retiresAt?: number | null;
  revokedAt?: number;
  revokeReason?: string;
}

/** A change-log entry about one key (the persister adds the key's hash). */
export interface ChangeEntry {
  kind: RotationChangeKind;
  keyId: string;
}

/** An audit event to append. */
export interface AuditEntry {
  action: string;
  targetType: 'rotation' | 'key';
  targetId: string;
  data: Record<string, unknown>;
}

/** What a step writes besides the rotation, in order: key patches, change entries, audit events. */
export interface Effects {
  keys: KeyPatch[];
  changes: ChangeEntry[];
  audit: AuditEntry[];
}

/** New values of a rotation's fields; an absent field stays as it is. */
export type RotationPatch = Partial<
  Pick<
    RotationRecord,
    'newKeyId' | 'state' | 'deadlineAt' | 'claimedAt' | 'firstUsedAt' | 'extensions' | 'endedAt' | 'endReason'
  >
>;

/** The decision of a step on an existing rotation: its patch (`null`: unchanged) and the effects. */
export interface RotationDecision extends Effects {
  patch: RotationPatch | null;
}

/** A step the machine refuses, with the API error code and message it answers with. */
export interface Refusal {
  refused: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

/** A refusal. */
export function refuse(code: ErrorCode, message: string, details?: Record<string, unknown>): Refusal {
  return details === undefined ? { refused: code, message } : { refused: code, message, details };
}

/** True for a {@link Refusal}. */
export function isRefusal(value: unknown): value is Refusal {
  return typeof value === 'object' && value !== null && 'refused' in value;
}

/** The {@link ApiError} a refusal answers with. */
export function refusalError(refusal: Refusal): ApiError {
  return new ApiError(refusal.refused, refusal.message, refusal.details);
}

/** The decision itself, or the refusal thrown as an {@link ApiError}. */
export function orThrow<T>(result: T | Refusal): T {
  if (isRefusal(result)) throw refusalError(result);
  return result;
}

/** Effects that write nothing (to add to). */
export function noEffects(): Effects {
  return { keys: [], changes: [], audit: [] };
}
