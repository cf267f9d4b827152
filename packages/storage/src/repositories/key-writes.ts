import type { Effects } from '@keyroll/core';
import type { KeysTable } from '../schema.js';
import type { Db, Tx } from '../store.js';
import { writeJsonOrNull } from './json-columns.js';
import type { KeyRecord } from './keys.js';
import { recordWrite, type WriteEvent } from './write-event.js';

// Every key write goes through this file: each appends a change-log row carrying the key's hash (so
// that verifier caches drop exactly that key) and an audit event, in the caller's transaction.

/** A key about to be issued: its lineage is decided on insert, from its predecessor's. */
export type NewKey = Omit<KeyRecord, 'lineageId'>;

/** The fields of a key that an update may change. */
export type KeyChanges = Partial<
  Pick<KeyRecord, 'name' | 'scopes' | 'metadata' | 'expiresAt' | 'allowedIps' | 'rateLimit' | 'quota' | 'planId'>
>;

/** The row of a key about to be issued; its `lineage_id` is left to {@link insertKey}. */
export function encodeKey(key: NewKey): KeysTable {
  return {
    id: key.id,
    consumer_id: key.consumerId,
    name: key.name,
    hash: key.hash,
    hint: key.hint,
    prefix: key.prefix,
    version: key.version,
    predecessor_id: key.predecessorId,
    lineage_id: null,
    scopes: JSON.stringify(key.scopes),
    metadata: JSON.stringify(key.metadata),
    allowed_ips: writeJsonOrNull(key.allowedIps),
    rate_limit: writeJsonOrNull(key.rateLimit),
    quota: writeJsonOrNull(key.quota),
    plan_id: key.planId,
    created_at: key.createdAt,
    updated_at: key.updatedAt,
    expires_at: key.expiresAt,
    retires_at: key.retiresAt,
    revoked_at: key.revokedAt,
    revoke_reason: key.revokeReason,
    last_used_at: key.lastUsedAt,
  };
}

/**
 * Inserts a key, with a `key.created` change and audit event (`consumerId`, `name`, `hint`, `version`,
 * `scopes`, then `event.data`). Returns the stored key.
 */
export async function insertKey(tx: Tx, key: NewKey, event: WriteEvent): Promise<KeyRecord> {
  const lineageId = await lineageOf(tx, key);
  await tx.db
    .insertInto('keys')
    .values({ ...encodeKey(key), lineage_id: lineageId })
    .execute();
  const { consumerId, name, hint, version, scopes } = key;
  await recordWrite(tx, keyEntity('key.created', key), event, { consumerId, name, hint, version, scopes });
  return { ...key, lineageId };
}

/** Changes a key's fields, with a `key.updated` change and audit event (`consumerId`, then `event.data`). Returns the changed key. */
export async function updateKey(tx: Tx, key: KeyRecord, changes: KeyChanges, event: WriteEvent): Promise<KeyRecord> {
  const set: Partial<KeysTable> = {
    updated_at: event.at,
    ...(changes.name !== undefined && { name: changes.name }),
    ...(changes.scopes !== undefined && { scopes: JSON.stringify(changes.scopes) }),
    ...(changes.metadata !== undefined && { metadata: JSON.stringify(changes.metadata) }),
    ...(changes.expiresAt !== undefined && { expires_at: changes.expiresAt }),
    ...(changes.allowedIps !== undefined && { allowed_ips: writeJsonOrNull(changes.allowedIps) }),
    ...(changes.rateLimit !== undefined && { rate_limit: writeJsonOrNull(changes.rateLimit) }),
    ...(changes.quota !== undefined && { quota: writeJsonOrNull(changes.quota) }),
    ...(changes.planId !== undefined && { plan_id: changes.planId }),
  };
  await tx.db.updateTable('keys').set(set).where('id', '=', key.id).execute();
  await recordWrite(tx, keyEntity('key.updated', key), event, { consumerId: key.consumerId });
  return { ...key, ...changes, updatedAt: event.at };
}

/**
 * Moves a key's retirement to `retiresAt` (a leak's rollover: the key stops at the end of the grace),
 * with a `key.updated` change and audit event (`consumerId`, `retiresAt` as ISO 8601, then `event.data`).
 * Returns the changed key.
 */
export async function setKeyRetirement(
  tx: Tx,
  key: KeyRecord,
  retiresAt: number,
  event: WriteEvent,
): Promise<KeyRecord> {
  await tx.db
    .updateTable('keys')
    .set({ retires_at: retiresAt, updated_at: event.at })
    .where('id', '=', key.id)
    .execute();
  await recordWrite(tx, keyEntity('key.updated', key), event, {
    consumerId: key.consumerId,
    retiresAt: new Date(retiresAt).toISOString(),
  });
  return { ...key, retiresAt, updatedAt: event.at };
}

/** Revokes a key at `event.at`, with a `key.revoked` change and audit event (`consumerId`, `reason`, then `event.data`). */
export async function revokeKey(
  tx: Tx,
  key: Pick<KeyRecord, 'id' | 'hash' | 'consumerId'>,
  reason: string,
  event: WriteEvent,
): Promise<void> {
  await tx.db
    .updateTable('keys')
    .set({ revoked_at: event.at, revoke_reason: reason, updated_at: event.at })
    .where('id', '=', key.id)
    .execute();
  await recordWrite(tx, keyEntity('key.revoked', key), event, { consumerId: key.consumerId, reason });
}

/** The lineage a new key joins: its predecessor's (rate limits and quotas count per lineage), else its own. */
async function lineageOf(tx: Tx, key: NewKey): Promise<string> {
  if (key.predecessorId === null) return key.id;
  const predecessor = await tx.db
    .selectFrom('keys')
    .select('lineage_id')
    .where('id', '=', key.predecessorId)
    .executeTakeFirst();
  return predecessor?.lineage_id ?? key.predecessorId;
}

function keyEntity(kind: 'key.created' | 'key.updated' | 'key.revoked', key: Pick<KeyRecord, 'id' | 'hash'>) {
  return { kind, targetType: 'key', id: key.id, keyHash: key.hash } as const;
}

/** A key a rotation step read: its id, and the hash its change-log entries carry. */
export type LifecycleKey = Pick<KeyRecord, 'id' | 'hash'>;

/**
 * Writes a rotation step's key changes at `at`: the retirement and revocation patches, then the
 * change-log entries, each with the kind the step chose (`key.revoked`, `rotation.completed`, …) and
 * the hash of its key, which must be one of `keys`. The step's audit events are the caller's.
 */
export async function applyKeyLifecycle(
  tx: Tx,
  effects: Pick<Effects, 'keys' | 'changes'>,
  keys: readonly LifecycleKey[],
  at: number,
): Promise<void> {
  for (const p of effects.keys) {
    await tx.db
      .updateTable('keys')
      .set({
        ...(p.retiresAt !== undefined && { retires_at: p.retiresAt }),
        ...(p.revokedAt !== undefined && { revoked_at: p.revokedAt }),
        ...(p.revokeReason !== undefined && { revoke_reason: p.revokeReason }),
        updated_at: at,
      })
      .where('id', '=', p.keyId)
      .execute();
  }
  for (const c of effects.changes) {
    const key = keys.find((k) => k.id === c.keyId);
    if (!key) throw new Error(`change about key ${c.keyId}, which the step did not read`);
    await tx.change({ at, kind: c.kind, entityId: key.id, keyHash: key.hash });
  }
}

/**
 * Inserts many keys at once (batches of multi-row inserts in one transaction) **without** change-log
 * rows or audit events: for seeding benchmarks and fixtures only, never for a key a client holds.
 * Each key is its own lineage unless `lineageId` says otherwise.
 */
export async function insertKeysUnlogged(db: Db, keys: readonly KeyRecord[]): Promise<void> {
  // SQLite allows 32,766 bound parameters per statement; a key row binds 22.
  const BATCH = 1000;
  await db.transaction().execute(async (trx) => {
    for (let i = 0; i < keys.length; i += BATCH) {
      const rows = keys.slice(i, i + BATCH).map((k) => ({ ...encodeKey(k), lineage_id: k.lineageId }));
      await trx.insertInto('keys').values(rows).execute();
    }
  });
}
