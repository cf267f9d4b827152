import type { OnReuse, RetireRule } from '@keyroll/core';
import type { RotationPoliciesTable } from '../schema.js';
import type { Db, Tx } from '../store.js';
import { readJson } from './json-columns.js';
import { keyStatusIs } from './key-status-filter.js';
import { decodeKey, type KeyRecord } from './keys.js';
import { recordWrite, type WriteEvent } from './write-event.js';

/** A rotation policy, decoded: durations and dates in epoch ms, its retire rule parsed. */
export interface RotationPolicyRecord {
  id: string;
  /** `default` or the consumer's id. */
  target: string;
  /** `null` for the default policy. */
  consumerId: string | null;
  everyMs: number;
  graceMs: number;
  retire: RetireRule;
  notifyBeforeMs: number | null;
  onReuse: OnReuse;
  createdAt: number;
  updatedAt: number;
}

/** The record of a stored policy row (anything but a stored `revoke` reacts to reuse with `reject`). */
export function decodeRotationPolicy(row: RotationPoliciesTable): RotationPolicyRecord {
  return {
    id: row.id,
    target: row.target,
    consumerId: row.consumer_id,
    everyMs: row.every_ms,
    graceMs: row.grace_ms,
    retire: readJson<RetireRule>(row.retire),
    notifyBeforeMs: row.notify_before_ms,
    onReuse: row.on_reuse === 'revoke' ? 'revoke' : 'reject',
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The row of a policy record. */
export function encodeRotationPolicy(policy: RotationPolicyRecord): RotationPoliciesTable {
  return {
    id: policy.id,
    target: policy.target,
    consumer_id: policy.consumerId,
    every_ms: policy.everyMs,
    grace_ms: policy.graceMs,
    retire: JSON.stringify(policy.retire),
    notify_before_ms: policy.notifyBeforeMs,
    on_reuse: policy.onReuse,
    created_at: policy.createdAt,
    updated_at: policy.updatedAt,
  };
}

/** The stored rotation policy of `target` (a consumer id or `default`), or `undefined`. */
export async function findRotationPolicy(db: Db, target: string): Promise<RotationPolicyRecord | undefined> {
  const row = await db.selectFrom('rotation_policies').selectAll().where('target', '=', target).executeTakeFirst();
  return row && decodeRotationPolicy(row);
}

/** Every stored rotation policy, by target. */
export async function listRotationPolicies(db: Db): Promise<RotationPolicyRecord[]> {
  const rows = await db.selectFrom('rotation_policies').selectAll().orderBy('target').execute();
  return rows.map(decodeRotationPolicy);
}

/**
 * Stores a rotation policy (replacing the one with its id when `replaces`), with a
 * `rotation_policy.set` change and audit event (`consumerId`, `target`, `every`, `gracePeriodMs`, `onReuse`).
 */
export async function saveRotationPolicy(
  tx: Tx,
  policy: RotationPolicyRecord,
  replaces: boolean,
  event: WriteEvent,
): Promise<void> {
  const row = encodeRotationPolicy(policy);
  if (replaces) await tx.db.updateTable('rotation_policies').set(row).where('id', '=', row.id).execute();
  else await tx.db.insertInto('rotation_policies').values(row).execute();
  await recordWrite(tx, { kind: 'rotation_policy.set', targetType: 'rotation_policy', id: policy.id }, event, {
    consumerId: policy.consumerId,
    target: policy.target,
    every: policy.everyMs,
    gracePeriodMs: policy.graceMs,
    onReuse: policy.onReuse,
  });
}

/** Deletes a rotation policy, with a `rotation_policy.deleted` change and audit event (`consumerId`, `target`). */
export async function deleteRotationPolicy(
  tx: Tx,
  policy: Pick<RotationPolicyRecord, 'id' | 'consumerId' | 'target'>,
  event: WriteEvent,
): Promise<void> {
  await tx.db.deleteFrom('rotation_policies').where('id', '=', policy.id).execute();
  await recordWrite(tx, { kind: 'rotation_policy.deleted', targetType: 'rotation_policy', id: policy.id }, event, {
    consumerId: policy.consumerId,
    target: policy.target,
  });
}

/** Which keys a policy covers: its consumer's, or (the default policy) those of consumers without a policy of their own. */
export interface PolicyScope {
  policy: Pick<RotationPolicyRecord, 'consumerId' | 'everyMs'>;
  /** The target of the default policy, whose row covers no consumer by itself. */
  defaultTarget: string;
  /** A consumer the default policy never covers (the root consumer). */
  exceptConsumerId: string;
}

/**
 * At most `limit` keys under a policy, oldest first, active at `now` and created at least `ageMs`
 * before it, leaving out keys rolled back from a rotation within the policy's period.
 */
export async function findKeysDueUnderPolicy(
  db: Db,
  scope: PolicyScope,
  now: number,
  ageMs: number,
  limit: number,
): Promise<KeyRecord[]> {
  const { policy, defaultTarget, exceptConsumerId } = scope;
  const consumerId = policy.consumerId;
  const rows = await db
    .selectFrom('keys')
    .selectAll()
    .where((eb) =>
      consumerId !== null
        ? eb('consumer_id', '=', consumerId)
        : eb.and([
            eb('consumer_id', '!=', exceptConsumerId),
            eb(
              'consumer_id',
              'not in',
              eb.selectFrom('rotation_policies').select('target').where('target', '!=', defaultTarget),
            ),
          ]),
    )
    .where((eb) => keyStatusIs(eb, 'active', now))
    .where('created_at', '<=', now - ageMs)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('rotations')
            .select('rotations.id')
            .whereRef('rotations.old_key_id', '=', 'keys.id')
            .where('rotations.state', '=', 'rolled_back')
            .where('rotations.ended_at', '>', now - policy.everyMs),
        ),
      ),
    )
    .orderBy('created_at')
    .limit(limit)
    .execute();
  return rows.map(decodeKey);
}

/** A reminder of a key's coming policy rotation. */
export interface RotationReminder {
  keyId: string;
  consumerId: string;
  policyId: string;
  /** Epoch ms when the policy rotates the key. */
  dueAt: number;
}

/**
 * Records the one reminder of a key's coming policy rotation, with a `rotation.reminder` change and
 * audit event (`consumerId`, `keyId`, `policyId`, `rotatesAt`). False when it was already sent.
 */
export async function recordRotationReminder(tx: Tx, r: RotationReminder, event: WriteEvent): Promise<boolean> {
  const sent = await tx.db
    .selectFrom('rotation_reminders')
    .select('key_id')
    .where('key_id', '=', r.keyId)
    .executeTakeFirst();
  if (sent) return false;
  await tx.db
    .insertInto('rotation_reminders')
    .values({ key_id: r.keyId, due_at: r.dueAt, sent_at: event.at })
    .execute();
  await recordWrite(tx, { kind: 'rotation.reminder', targetType: 'key', id: r.keyId }, event, {
    consumerId: r.consumerId,
    keyId: r.keyId,
    policyId: r.policyId,
    rotatesAt: new Date(r.dueAt).toISOString(),
  });
  return true;
}
