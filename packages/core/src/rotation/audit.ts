import type { AuditEntry, Effects } from './decision.js';
import type { RotationKey, RotationRecord } from './model.js';

/** An audit event about a rotation; `data` always names the consumer and both keys. */
export function rotationAudit(rotation: RotationRecord, action: string, data: Record<string, unknown>): AuditEntry {
  return {
    action,
    targetType: 'rotation',
    targetId: rotation.id,
    data: { consumerId: rotation.consumerId, oldKeyId: rotation.oldKeyId, newKeyId: rotation.newKeyId, ...data },
  };
}

/** An ISO 8601 instant for an audit event. */
export function auditInstant(ms: number): string {
  return new Date(ms).toISOString();
}

/** Revokes a key at `now`: its patch, its `key.revoked` change and its audit event. */
export function revokeKey(key: RotationKey, now: number, reason: string): Effects {
  return {
    keys: [{ keyId: key.id, revokedAt: now, revokeReason: reason }],
    changes: [{ kind: 'key.revoked', keyId: key.id }],
    audit: [
      { action: 'key.revoked', targetType: 'key', targetId: key.id, data: { consumerId: key.consumerId, reason } },
    ],
  };
}

/** The effects of several steps, in order. */
export function combine(...parts: Effects[]): Effects {
  return {
    keys: parts.flatMap((p) => p.keys),
    changes: parts.flatMap((p) => p.changes),
    audit: parts.flatMap((p) => p.audit),
  };
}
