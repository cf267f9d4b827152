import type { Page, PageRequest } from '../pagination.js';
import { pageById } from '../pagination.js';
import type { WebhooksTable } from '../schema.js';
import type { Db } from '../store.js';
import { readJson } from './json-columns.js';

/** A webhook subscription with its event filter decoded. Times are epoch ms. */
export interface WebhookRecord {
  id: string;
  url: string;
  /** Event types, `*` or `family.*` wildcards. */
  events: string[];
  /** Only events about this consumer, when set. */
  consumerId: string | null;
  description: string | null;
  enabled: boolean;
  /** The signing secret: kept to sign, never shown after creation. */
  secret: string;
  /** The secret before the last rotation, which still signs until `previousSecretUntil`. */
  previousSecret: string | null;
  previousSecretUntil: number | null;
  /** Audit sequence number at creation: only later events are sent. */
  sinceSeq: number;
  createdAt: number;
  updatedAt: number;
  deletedAt: number | null;
}

/** What an update of a subscription may set (`updatedAt` always). */
export type WebhookChanges = Partial<
  Pick<
    WebhookRecord,
    'url' | 'events' | 'consumerId' | 'description' | 'enabled' | 'secret' | 'previousSecret' | 'previousSecretUntil'
  >
> & { updatedAt: number };

/** Decodes a `webhooks` row; an event filter that is not a list matches nothing. */
export function decodeWebhook(row: WebhooksTable): WebhookRecord {
  const events = readJson<unknown>(row.events);
  return {
    id: row.id,
    url: row.url,
    events: Array.isArray(events) ? events.map(String) : [],
    consumerId: row.consumer_id,
    description: row.description,
    enabled: row.enabled === 1,
    secret: row.secret,
    previousSecret: row.previous_secret,
    previousSecretUntil: row.previous_secret_until,
    sinceSeq: row.since_seq,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    deletedAt: row.deleted_at,
  };
}

/** Stores a new subscription. */
export async function insertWebhook(db: Db, hook: WebhookRecord): Promise<void> {
  await db
    .insertInto('webhooks')
    .values({
      id: hook.id,
      url: hook.url,
      events: JSON.stringify(hook.events),
      consumer_id: hook.consumerId,
      description: hook.description,
      enabled: hook.enabled ? 1 : 0,
      secret: hook.secret,
      previous_secret: hook.previousSecret,
      previous_secret_until: hook.previousSecretUntil,
      since_seq: hook.sinceSeq,
      created_at: hook.createdAt,
      updated_at: hook.updatedAt,
      deleted_at: hook.deletedAt,
    })
    .execute();
}

/** A subscription that is not deleted; `undefined` otherwise. */
export async function findLiveWebhook(db: Db, id: string): Promise<WebhookRecord | undefined> {
  const row = await db
    .selectFrom('webhooks')
    .selectAll()
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return row && decodeWebhook(row);
}

/** Subscriptions that are not deleted, oldest first, optionally those of one consumer. */
export function listLiveWebhooks(
  db: Db,
  filter: { consumerId?: string | undefined },
  page: PageRequest,
): Promise<Page<WebhookRecord>> {
  let q = db.selectFrom('webhooks').selectAll().where('deleted_at', 'is', null);
  if (filter.consumerId) q = q.where('consumer_id', '=', filter.consumerId);
  return pageById(q, page, decodeWebhook);
}

/** Enabled subscriptions that are not deleted: the ones events are fanned out to. */
export async function listEnabledWebhooks(db: Db): Promise<WebhookRecord[]> {
  const rows = await db
    .selectFrom('webhooks')
    .selectAll()
    .where('deleted_at', 'is', null)
    .where('enabled', '=', 1)
    .execute();
  return rows.map(decodeWebhook);
}

/** Changes a subscription's fields. */
export async function updateWebhook(db: Db, id: string, changes: WebhookChanges): Promise<void> {
  await db
    .updateTable('webhooks')
    .set({
      updated_at: changes.updatedAt,
      ...(changes.url !== undefined && { url: changes.url }),
      ...(changes.events !== undefined && { events: JSON.stringify(changes.events) }),
      ...(changes.consumerId !== undefined && { consumer_id: changes.consumerId }),
      ...(changes.description !== undefined && { description: changes.description }),
      ...(changes.enabled !== undefined && { enabled: changes.enabled ? 1 : 0 }),
      ...(changes.secret !== undefined && { secret: changes.secret }),
      ...(changes.previousSecret !== undefined && { previous_secret: changes.previousSecret }),
      ...(changes.previousSecretUntil !== undefined && { previous_secret_until: changes.previousSecretUntil }),
    })
    .where('id', '=', id)
    .execute();
}

/** Marks a subscription deleted and gives up its undelivered deliveries. Call inside a mutation. */
export async function deleteWebhook(db: Db, id: string, at: number): Promise<void> {
  await db.updateTable('webhooks').set({ deleted_at: at, updated_at: at }).where('id', '=', id).execute();
  await db
    .updateTable('webhook_deliveries')
    .set({ status: 'dead', next_attempt_at: null, last_error: 'webhook deleted' })
    .where('webhook_id', '=', id)
    .where('status', 'in', ['pending', 'retrying'])
    .execute();
}
