import type { DialectName } from '../dialect.js';
import type { Page, PageRequest } from '../pagination.js';
import { pageById } from '../pagination.js';
import type { ConsumersTable } from '../schema.js';
import type { Db } from '../store.js';
import { readJson, readJsonOrNull } from './json-columns.js';
import type { QuotaSpec, RateLimitSpec } from './limit-specs.js';
import { columnContains, containsPattern } from './text-search.js';

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

/** Filters of a consumer listing. */
export interface ConsumerListFilter {
  /**
   * Text found, ignoring case, in the consumer's name, external id or id, or in the hint of one of
   * its keys (`%` and `_` match themselves).
   */
  q?: string | undefined;
}

/** One page of the consumers that are not deleted, oldest first, narrowed by `filter`. */
export function listLiveConsumers(
  db: Db,
  dialect: DialectName,
  page: PageRequest,
  filter: ConsumerListFilter = {},
): Promise<Page<ConsumerRecord>> {
  let query = db.selectFrom('consumers').selectAll().where('deleted_at', 'is', null);
  if (filter.q) {
    const pattern = containsPattern(filter.q);
    query = query.where((eb) =>
      eb.or([
        columnContains(dialect, 'consumers.name', pattern),
        columnContains(dialect, 'consumers.external_id', pattern),
        columnContains(dialect, 'consumers.id', pattern),
        eb.exists(
          eb
            .selectFrom('keys')
            .select('keys.id')
            .whereRef('keys.consumer_id', '=', 'consumers.id')
            .where(columnContains(dialect, 'keys.hint', pattern)),
        ),
      ]),
    );
  }
  return pageById(query, page, decodeConsumer);
}
