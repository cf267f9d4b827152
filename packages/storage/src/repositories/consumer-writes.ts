import type { ConsumersTable } from '../schema.js';
import type { Tx } from '../store.js';
import type { ConsumerRecord } from './consumers.js';
import { writeJsonOrNull } from './json-columns.js';
import { revokeKey } from './key-writes.js';
import { findUnrevokedKeys } from './keys.js';
import { recordWrite, type WriteEvent } from './write-event.js';

// Every consumer write goes through this file: each appends a change-log row and an audit event, in
// the caller's transaction.

/** The fields of a consumer that an update may change. */
export type ConsumerChanges = Partial<
  Pick<ConsumerRecord, 'name' | 'externalId' | 'metadata' | 'planId' | 'rateLimit' | 'quota'>
>;

/** Inserts a consumer, with a `consumer.created` change and audit event (`consumerId`, `name`, then `event.data`). */
export async function insertConsumer(tx: Tx, consumer: ConsumerRecord, event: WriteEvent): Promise<void> {
  const row: ConsumersTable = {
    id: consumer.id,
    name: consumer.name,
    external_id: consumer.externalId,
    metadata: JSON.stringify(consumer.metadata),
    plan_id: consumer.planId,
    rate_limit: writeJsonOrNull(consumer.rateLimit),
    quota: writeJsonOrNull(consumer.quota),
    created_at: consumer.createdAt,
    updated_at: consumer.updatedAt,
    deleted_at: consumer.deletedAt,
  };
  await tx.db.insertInto('consumers').values(row).execute();
  await recordWrite(tx, { kind: 'consumer.created', targetType: 'consumer', id: consumer.id }, event, {
    consumerId: consumer.id,
    name: consumer.name,
  });
}

/** Changes a consumer's fields, with a `consumer.updated` change and audit event (`consumerId`, then `event.data`). */
export async function updateConsumer(tx: Tx, id: string, changes: ConsumerChanges, event: WriteEvent): Promise<void> {
  const set: Partial<ConsumersTable> = {
    updated_at: event.at,
    ...(changes.name !== undefined && { name: changes.name }),
    ...(changes.externalId !== undefined && { external_id: changes.externalId }),
    ...(changes.metadata !== undefined && { metadata: JSON.stringify(changes.metadata) }),
    ...(changes.rateLimit !== undefined && { rate_limit: writeJsonOrNull(changes.rateLimit) }),
    ...(changes.quota !== undefined && { quota: writeJsonOrNull(changes.quota) }),
    ...(changes.planId !== undefined && { plan_id: changes.planId }),
  };
  await tx.db.updateTable('consumers').set(set).where('id', '=', id).execute();
  await recordWrite(tx, { kind: 'consumer.updated', targetType: 'consumer', id: id }, event, { consumerId: id });
}

/**
 * Deletes a consumer: revokes every key it still holds through {@link revokeKey} (reason
 * `consumer_deleted`; one change and one audit event per key), then marks it deleted with a
 * `consumer.deleted` change and audit event (`consumerId`, `revokedKeys`, then `event.data`).
 * Returns the ids of the keys revoked.
 */
export async function deleteConsumer(tx: Tx, id: string, event: WriteEvent): Promise<string[]> {
  const keys = await findUnrevokedKeys(tx.db, id);
  for (const key of keys) await revokeKey(tx, key, 'consumer_deleted', { at: event.at, actor: event.actor });
  await tx.db
    .updateTable('consumers')
    .set({ deleted_at: event.at, updated_at: event.at })
    .where('id', '=', id)
    .execute();
  const revokedKeys = keys.map((k) => k.id);
  await recordWrite(tx, { kind: 'consumer.deleted', targetType: 'consumer', id: id }, event, {
    consumerId: id,
    revokedKeys,
  });
  return revokedKeys;
}
