import { generateKey, newId } from '@keyroll/core';
import type { Store } from '@keyroll/storage';
import type { KyselyPlugin } from 'kysely';

/** Writes a consumer row (with its change) and returns its id. */
export async function storeConsumer(store: Store, now = Date.now()): Promise<string> {
  const id = newId('consumer', now);
  await store.mutate(async (tx) => {
    await tx.db
      .insertInto('consumers')
      .values({
        id,
        name: id,
        external_id: null,
        metadata: '{}',
        plan_id: null,
        rate_limit: null,
        quota: null,
        created_at: now,
        updated_at: now,
        deleted_at: null,
      })
      .execute();
    await tx.change({ at: now, kind: 'consumer.created', entityId: id });
  });
  return id;
}

/** Writes a key row the way the key service does (row + change with its hash); returns the secret. */
export async function storeKey(
  store: Store,
  consumerId: string,
  fields: { expiresAt?: number | null; key?: { key: string; hash: string; hint: string } } = {},
  now = Date.now(),
): Promise<{ id: string; key: string; hash: string }> {
  const g = fields.key ?? generateKey('kr_test');
  const id = newId('key', now);
  await store.mutate(async (tx) => {
    await tx.db
      .insertInto('keys')
      .values({
        id,
        consumer_id: consumerId,
        name: 'default',
        hash: g.hash,
        hint: g.hint,
        prefix: 'kr_test',
        version: 1,
        predecessor_id: null,
        lineage_id: id,
        scopes: '["read"]',
        metadata: '{}',
        allowed_ips: null,
        rate_limit: null,
        quota: null,
        plan_id: null,
        created_at: now,
        updated_at: now,
        expires_at: fields.expiresAt ?? null,
        retires_at: null,
        revoked_at: null,
        revoke_reason: null,
        last_used_at: null,
      })
      .execute();
    await tx.change({ at: now, kind: 'key.created', entityId: id, keyHash: g.hash });
  });
  return { id, key: g.key, hash: g.hash };
}

/** Revokes a key row with its change, as the key service does. */
export async function revokeStoredKey(
  store: Store,
  key: { id: string; hash: string },
  now = Date.now(),
): Promise<void> {
  await store.mutate(async (tx) => {
    await tx.db.updateTable('keys').set({ revoked_at: now, updated_at: now }).where('id', '=', key.id).execute();
    await tx.change({ at: now, kind: 'key.revoked', entityId: key.id, keyHash: key.hash });
  });
}

/** A Kysely plugin that counts the queries sent through it: proof that a path touched no storage. */
export class QueryCounter implements KyselyPlugin {
  count = 0;
  transformQuery: KyselyPlugin['transformQuery'] = (args) => {
    this.count++;
    return args.node;
  };
  transformResult: KyselyPlugin['transformResult'] = async (args) => args.result;
}
