import { ApiError, type Clock, newId } from '@keyroll/core';
import type { ConsumersTable, KeysTable, Store, Tx } from '@keyroll/storage';
import { type Page, type PageRequest, pageById } from '@keyroll/storage';
import { type QuotaSpec, ROOT_CONSUMER_ID } from '@keyroll/verifier/internal';
import { assertPlanExists } from '../plans/plan-service.js';
import { type Actor, actorName } from '../shared/actor.js';
import { type ConsumerView, consumerView } from '../shared/records.js';
import { metadataJson, parseRateLimit, type RateLimitInput } from '../shared/validate.js';

/** The id of the built-in consumer whose keys are root keys (defined by the verifier, which refuses them). */
export { ROOT_CONSUMER_ID };

/** The row of a new consumer: no metadata, plan or limits unless given. */
export function newConsumerRow(
  id: string,
  name: string,
  now: number,
  fields: Partial<Omit<ConsumersTable, 'id' | 'name'>> = {},
): ConsumersTable {
  return {
    id,
    name,
    external_id: null,
    metadata: '{}',
    plan_id: null,
    rate_limit: null,
    quota: null,
    created_at: now,
    updated_at: now,
    deleted_at: null,
    ...fields,
  };
}

/** Fields of a new consumer. */
export interface ConsumerInput {
  name: string;
  externalId?: string | null | undefined;
  metadata?: Record<string, unknown> | undefined;
  rateLimit?: RateLimitInput | null | undefined;
  quota?: QuotaSpec | null | undefined;
  /** The plan whose limits apply where the consumer sets none. */
  planId?: string | null | undefined;
}

/** Fields a PATCH may change. */
export type ConsumerPatch = Partial<ConsumerInput>;

/** What a {@link ConsumerService} needs. */
export interface ConsumerServiceOptions {
  store: Store;
  clock: Clock;
  /** Revokes a deleted consumer's keys the one way keys are revoked (the key service). */
  keys: KeyRevoker;
}

/** Revokes a key row inside a running mutation, with its change and audit entries. */
export interface KeyRevoker {
  revokeInTx(tx: Tx, key: KeysTable, now: number, reason: string, actor: Actor): Promise<void>;
}

/** Consumers: create, read, change, delete (which revokes their keys). */
export class ConsumerService {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #keys: KeyRevoker;

  constructor(options: ConsumerServiceOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#keys = options.keys;
  }

  /** Creates a consumer; 409 when its external id is taken. */
  async create(actor: Actor, input: ConsumerInput): Promise<ConsumerView> {
    const now = this.#clock.now();
    const row = newConsumerRow(newId('consumer', now), input.name, now, {
      external_id: input.externalId ?? null,
      metadata: metadataJson(input.metadata ?? {}),
      plan_id: input.planId ?? null,
      rate_limit: input.rateLimit ? JSON.stringify(parseRateLimit(input.rateLimit)) : null,
      quota: input.quota ? JSON.stringify(input.quota) : null,
    });
    await this.#store.mutate(async (tx) => {
      await this.#assertExternalIdFree(tx.db, row.external_id, null);
      await assertPlanExists(tx.db, row.plan_id);
      await tx.db.insertInto('consumers').values(row).execute();
      await tx.change({ at: now, kind: 'consumer.created', entityId: row.id });
      await tx.audit({
        at: now,
        actor: actorName(actor),
        action: 'consumer.created',
        targetType: 'consumer',
        targetId: row.id,
        data: { consumerId: row.id, name: row.name },
      });
    });
    return consumerView(row);
  }

  /** Lists live consumers, oldest first. */
  async list(page: PageRequest): Promise<Page<ConsumerView>> {
    return pageById(
      this.#store.db.selectFrom('consumers').selectAll().where('deleted_at', 'is', null),
      page,
      consumerView,
    );
  }

  /** One live consumer; 404 when unknown or deleted. */
  async get(id: string): Promise<ConsumerView> {
    const row = await this.#store.db
      .selectFrom('consumers')
      .selectAll()
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (!row) throw new ApiError('NOT_FOUND', `consumer ${id} not found`);
    return consumerView(row);
  }

  /** Changes a consumer's name, external id, metadata or limits. */
  async update(actor: Actor, id: string, patch: ConsumerPatch): Promise<ConsumerView> {
    const now = this.#clock.now();
    const set = {
      updated_at: now,
      ...(patch.name !== undefined && { name: patch.name }),
      ...(patch.externalId !== undefined && { external_id: patch.externalId }),
      ...(patch.metadata !== undefined && { metadata: metadataJson(patch.metadata) }),
      ...(patch.rateLimit !== undefined && {
        rate_limit: patch.rateLimit ? JSON.stringify(parseRateLimit(patch.rateLimit)) : null,
      }),
      ...(patch.quota !== undefined && { quota: patch.quota ? JSON.stringify(patch.quota) : null }),
      ...(patch.planId !== undefined && { plan_id: patch.planId }),
    };
    await this.#store.mutate(async (tx) => {
      await assertLiveConsumer(tx.db, id);
      if (patch.externalId) await this.#assertExternalIdFree(tx.db, patch.externalId, id);
      await assertPlanExists(tx.db, patch.planId);
      await tx.db.updateTable('consumers').set(set).where('id', '=', id).execute();
      await tx.change({ at: now, kind: 'consumer.updated', entityId: id });
      await tx.audit({
        at: now,
        actor: actorName(actor),
        action: 'consumer.updated',
        targetType: 'consumer',
        targetId: id,
        data: { consumerId: id, fields: Object.keys(patch) },
      });
    });
    return this.get(id);
  }

  /** Deletes a consumer and revokes every key it still holds, in one transaction. */
  async delete(actor: Actor, id: string): Promise<void> {
    if (id === ROOT_CONSUMER_ID) throw new ApiError('CONFLICT', 'the root consumer cannot be deleted');
    const now = this.#clock.now();
    await this.#store.mutate(async (tx) => {
      await assertLiveConsumer(tx.db, id);
      const keys = await tx.db
        .selectFrom('keys')
        .selectAll()
        .where('consumer_id', '=', id)
        .where('revoked_at', 'is', null)
        .execute();
      for (const k of keys) await this.#keys.revokeInTx(tx, k, now, 'consumer_deleted', actor);
      await tx.db.updateTable('consumers').set({ deleted_at: now, updated_at: now }).where('id', '=', id).execute();
      await tx.change({ at: now, kind: 'consumer.deleted', entityId: id });
      await tx.audit({
        at: now,
        actor: actorName(actor),
        action: 'consumer.deleted',
        targetType: 'consumer',
        targetId: id,
        data: { consumerId: id, revokedKeys: keys.map((k) => k.id) },
      });
    });
  }

  async #assertExternalIdFree(db: Store['db'], externalId: string | null, self: string | null): Promise<void> {
    if (!externalId) return;
    const taken = await db
      .selectFrom('consumers')
      .select('id')
      .where('external_id', '=', externalId)
      .executeTakeFirst();
    if (taken && taken.id !== self)
      throw new ApiError('CONFLICT', `externalId ${externalId} is already used by ${taken.id}`);
  }
}

/** 404 unless a consumer with this id exists and is not deleted. */
export async function assertLiveConsumer(db: Store['db'], id: string): Promise<void> {
  const row = await db
    .selectFrom('consumers')
    .select('id')
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (!row) throw new ApiError('NOT_FOUND', `consumer ${id} not found`);
}
