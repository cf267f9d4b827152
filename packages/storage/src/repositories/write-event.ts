import type { ChangeKind } from '../change-kinds.js';
import type { Tx } from '../store.js';

/**
 * Who makes a write and when: a repository write records it in the change log and the audit log in
 * the same transaction. `data` adds fields to the audit event beyond the ones the repository records.
 */
export interface WriteEvent {
  /** Epoch ms of the write. */
  at: number;
  /** The actor's audit name (`root:<key id>`, `system:<job>`, …). */
  actor: string;
  data?: Record<string, unknown>;
}

/** What a write changed: the change kind (also the audit action), the entity, and the key's hash when it is a key. */
export interface WrittenEntity {
  kind: ChangeKind;
  targetType: 'key' | 'consumer' | 'plan' | 'rotation_policy';
  id: string;
  keyHash?: string;
}

/**
 * Appends the change row and the audit event of a write: the audit data is `data` (the fields the
 * repository records) followed by `event.data`. Repository writes call it; nothing else should.
 */
export async function recordWrite(
  tx: Tx,
  entity: WrittenEntity,
  event: WriteEvent,
  data: Record<string, unknown>,
): Promise<void> {
  await tx.change({ at: event.at, kind: entity.kind, entityId: entity.id, keyHash: entity.keyHash ?? null });
  await tx.audit({
    at: event.at,
    actor: event.actor,
    action: entity.kind,
    targetType: entity.targetType,
    targetId: entity.id,
    data: { ...data, ...event.data },
  });
}
