import {
  type ConsumerRecord,
  insertConsumer,
  insertKey,
  type KeyRecord,
  type NewKey,
  type Store,
} from '@keyroll/storage';

/** The actor the repository tests write as. */
export const ACTOR = 'system:test';

/** A consumer named after its id, created at `at`. */
export function consumer(id: string, at = 1000, fields: Partial<ConsumerRecord> = {}): ConsumerRecord {
  return {
    id,
    name: `name of ${id}`,
    externalId: null,
    metadata: {},
    planId: null,
    rateLimit: null,
    quota: null,
    createdAt: at,
    updatedAt: at,
    deletedAt: null,
    ...fields,
  };
}

/** A key of `consumerId` whose hash and hint derive from its id, created at `at`. */
export function key(id: string, consumerId: string, at = 1000, fields: Partial<NewKey> = {}): NewKey {
  return {
    id,
    consumerId,
    name: `name of ${id}`,
    hash: `hash-of-${id}`,
    hint: id.slice(-4),
    prefix: 'kr_test',
    version: 1,
    predecessorId: null,
    scopes: ['read'],
    metadata: {},
    allowedIps: null,
    rateLimit: null,
    quota: null,
    planId: null,
    createdAt: at,
    updatedAt: at,
    expiresAt: null,
    retiresAt: null,
    revokedAt: null,
    revokeReason: null,
    lastUsedAt: null,
    ...fields,
  };
}

/** Inserts a consumer and its keys in one mutation; returns the stored keys. */
export function seed(store: Store, owner: ConsumerRecord, keys: NewKey[] = []): Promise<KeyRecord[]> {
  return store.mutate(async (tx) => {
    await insertConsumer(tx, owner, { at: owner.createdAt, actor: ACTOR });
    const stored: KeyRecord[] = [];
    for (const k of keys) stored.push(await insertKey(tx, k, { at: k.createdAt, actor: ACTOR }));
    return stored;
  });
}

/** Every change row and audit event written after the given sequence numbers, for assertions. */
export async function logsAfter(store: Store, changeSeq = 0, auditSeq = 0) {
  const changes = await store.db
    .selectFrom('changes')
    .select(['kind', 'entity_id', 'key_hash'])
    .where('seq', '>', changeSeq)
    .orderBy('seq')
    .execute();
  const audit = await store.db
    .selectFrom('audit_events')
    .select(['action', 'target_type', 'target_id', 'actor', 'data'])
    .where('seq', '>', auditSeq)
    .orderBy('seq')
    .execute();
  return { changes, audit: audit.map((a) => ({ ...a, data: JSON.parse(a.data) })) };
}

/** The newest change-log and audit sequence numbers. */
export async function heads(store: Store): Promise<{ change: number; audit: number }> {
  const c = await store.db
    .selectFrom('changes')
    .select((eb) => eb.fn.max('seq').as('s'))
    .executeTakeFirst();
  const a = await store.db
    .selectFrom('audit_events')
    .select((eb) => eb.fn.max('seq').as('s'))
    .executeTakeFirst();
  return { change: Number(c?.s ?? 0), audit: Number(a?.s ?? 0) };
}
