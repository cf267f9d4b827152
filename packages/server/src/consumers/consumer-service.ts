import { ApiError, type Clock, newId } from '@keyroll/core';
import {
  type ConsumerChanges,
  type ConsumerListFilter,
  type ConsumerRecord,
  type Db,
  deleteConsumer,
  findConsumerIdByExternalId,
  findLiveConsumer,
  insertConsumer,
  listLiveConsumers,
  type Page,
  type PageRequest,
  type Store,
  updateConsumer,
} from '@keyroll/storage';
import { ROOT_CONSUMER_ID } from '@keyroll/verifier/internal';
import { assertPlanExists } from '../plans/plan-service.js';
import { type Actor, actorName } from '../shared/actor.js';
import { type ConsumerView, consumerView } from '../shared/records.js';
import { checkMetadata, parseQuota, parseRateLimit, type QuotaInput, type RateLimitInput } from '../shared/validate.js';

/** The id of the built-in consumer whose keys are root keys (defined by the verifier, which refuses them). */
export { ROOT_CONSUMER_ID };

/** A new consumer: no metadata, plan or limits unless given. */
export function newConsumer(
  id: string,
  name: string,
  now: number,
  fields: Partial<Omit<ConsumerRecord, 'id' | 'name'>> = {},
): ConsumerRecord {
  return {
    id,
    name,
    externalId: null,
    metadata: {},
    planId: null,
    rateLimit: null,
    quota: null,
    createdAt: now,
    updatedAt: now,
    deletedAt: null,
    ...fields,
  };
}

/** Fields of a new consumer. */
export interface ConsumerInput {
  name: string;
  externalId?: string | null | undefined;
  metadata?: Record<string, unknown> | undefined;
  rateLimit?: RateLimitInput | null | undefined;
  quota?: QuotaInput | null | undefined;
  /** The plan whose limits apply where the consumer sets none. */
  planId?: string | null | undefined;
}

/** Fields a PATCH may change. */
export type ConsumerPatch = Partial<ConsumerInput>;

/** What a {@link ConsumerService} needs. */
export interface ConsumerServiceOptions {
  store: Store;
  clock: Clock;
}

/** Consumers: create, read, change, delete (which revokes their keys). */
export class ConsumerService {
  readonly #store: Store;
  readonly #clock: Clock;

  constructor(options: ConsumerServiceOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
  }

  /** Creates a consumer; 409 when its external id is taken. */
  async create(actor: Actor, input: ConsumerInput): Promise<ConsumerView> {
    const now = this.#clock.now();
    const consumer = newConsumer(newId('consumer', now), input.name, now, {
      externalId: input.externalId ?? null,
      metadata: checkMetadata(input.metadata ?? {}),
      planId: input.planId ?? null,
      rateLimit: input.rateLimit ? parseRateLimit(input.rateLimit) : null,
      quota: input.quota ? parseQuota(input.quota) : null,
    });
    await this.#store.mutate(async (tx) => {
      await this.#assertExternalIdFree(tx.db, consumer.externalId, null);
      await assertPlanExists(tx.db, consumer.planId);
      await insertConsumer(tx, consumer, { at: now, actor: actorName(actor) });
    });
    return consumerView(consumer);
  }

  /** Lists live consumers, oldest first, narrowed by a search. */
  async list(page: PageRequest, filter: ConsumerListFilter = {}): Promise<Page<ConsumerView>> {
    const found = await listLiveConsumers(this.#store.db, this.#store.dialect, page, filter);
    return { ...found, data: found.data.map(consumerView) };
  }

  /** One live consumer; 404 when unknown or deleted. */
  async get(id: string): Promise<ConsumerView> {
    const consumer = await findLiveConsumer(this.#store.db, id);
    if (!consumer) throw notFound(id);
    return consumerView(consumer);
  }

  /** Changes a consumer's name, external id, metadata or limits. */
  async update(actor: Actor, id: string, patch: ConsumerPatch): Promise<ConsumerView> {
    const now = this.#clock.now();
    const changes: ConsumerChanges = {
      ...(patch.name !== undefined && { name: patch.name }),
      ...(patch.externalId !== undefined && { externalId: patch.externalId }),
      ...(patch.metadata !== undefined && { metadata: checkMetadata(patch.metadata) }),
      ...(patch.rateLimit !== undefined && { rateLimit: patch.rateLimit ? parseRateLimit(patch.rateLimit) : null }),
      ...(patch.quota !== undefined && { quota: patch.quota ? parseQuota(patch.quota) : null }),
      ...(patch.planId !== undefined && { planId: patch.planId }),
    };
    await this.#store.mutate(async (tx) => {
      await assertLiveConsumer(tx.db, id);
      if (patch.externalId) await this.#assertExternalIdFree(tx.db, patch.externalId, id);
      await assertPlanExists(tx.db, patch.planId);
      await updateConsumer(tx, id, changes, { at: now, actor: actorName(actor), data: { fields: Object.keys(patch) } });
    });
    return this.get(id);
  }

  /** Deletes a consumer and revokes every key it still holds (one audit event each), in one transaction. */
  async delete(actor: Actor, id: string): Promise<void> {
    if (id === ROOT_CONSUMER_ID) throw new ApiError('CONFLICT', 'the root consumer cannot be deleted');
    const now = this.#clock.now();
    await this.#store.mutate(async (tx) => {
      await assertLiveConsumer(tx.db, id);
      await deleteConsumer(tx, id, { at: now, actor: actorName(actor) });
    });
  }

  async #assertExternalIdFree(db: Db, externalId: string | null, self: string | null): Promise<void> {
    if (!externalId) return;
    const taken = await findConsumerIdByExternalId(db, externalId);
    if (taken !== undefined && taken !== self)
      throw new ApiError('CONFLICT', `externalId ${externalId} is already used by ${taken}`);
  }
}

/** 404 unless a consumer with this id exists and is not deleted. */
export async function assertLiveConsumer(db: Db, id: string): Promise<void> {
  if (!(await findLiveConsumer(db, id))) throw notFound(id);
}

function notFound(id: string): ApiError {
  return new ApiError('NOT_FOUND', `consumer ${id} not found`);
}
