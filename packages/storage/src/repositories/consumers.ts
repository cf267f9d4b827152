import type { Page, PageRequest } from '../pagination.js';
import { pageById } from '../pagination.js';
import type { ConsumersTable } from '../schema.js';
import type { Db } from '../store.js';
import { readJson, readJsonOrNull } from './json-columns.js';
import type { QuotaSpec, RateLimitSpec } from './limit-specs.js';

/** A stored consumer with its JSON columns decoded. */
export interface ConsumerRecord {
  id: string;
  name: string;
  externalId: string | null;
  metadata: Record<string, unknown>;
  /** The plan whose limits apply where the consumer sets none. */
  planId: string | null;
  rateLimit: RateLimitSpec | null;
  quota: QuotaSpec | null;
  /** Epoch ms, as every time below. */
  createdAt: number;
  updatedAt: number;
  /** Set when the consumer was deleted (its row stays, for the audit trail). */
  deletedAt: number | null;
}

/** Decodes a `consumers` row. */
export function decodeConsumer(row: ConsumersTable): ConsumerRecord {
  return {
    id: row.id,
    name: row.name,
    externalId: row.external_id,
    metadata: readJson(row.metadata),
    planId: row.plan_id,
    rateLimit: readJsonOrNull(row.rate_limit),
    quota: readJsonOrNull(row.quota),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    deletedAt: row.deleted_at,
  };
}

/** The consumer with this id, deleted or not, or `undefined`. */
export async function findConsumer(db: Db, id: string): Promise<ConsumerRecord | undefined> {
  const row = await db.selectFrom('consumers').selectAll().where('id', '=', id).executeTakeFirst();
  return row && decodeConsumer(row);
}

/** The consumer with this id unless it is deleted, or `undefined`. */
export async function findLiveConsumer(db: Db, id: string): Promise<ConsumerRecord | undefined> {
  const row = await db
    .selectFrom('consumers')
    .selectAll()
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return row && decodeConsumer(row);
}

/** The id of the consumer (deleted ones included) with this external id, or `undefined`. */
export async function findConsumerIdByExternalId(db: Db, externalId: string): Promise<string | undefined> {
  const row = await db.selectFrom('consumers').select('id').where('external_id', '=', externalId).executeTakeFirst();
  return row?.id;
}

/** One page of the consumers that are not deleted, oldest first. */
export function listLiveConsumers(db: Db, page: PageRequest): Promise<Page<ConsumerRecord>> {
  return pageById(db.selectFrom('consumers').selectAll().where('deleted_at', 'is', null), page, decodeConsumer);
}
