import { decodeCursor, type Page, type PageRequest, pageSize, toPage } from '../pagination.js';
import type { WebhookDeliveriesTable } from '../schema.js';
import type { Db } from '../store.js';
import { readJson } from './json-columns.js';

/** A delivery of one event to one webhook, its payload decoded. Times are epoch ms. */
export interface DeliveryRecord {
  id: string;
  webhookId: string;
  eventSeq: number;
  eventType: string;
  payload: Record<string, unknown>;
  /** `pending`, `retrying`, `delivered` or `dead`. */
  status: string;
  attempts: number;
  nextAttemptAt: number | null;
  lastAttemptAt: number | null;
  responseStatus: number | null;
  lastError: string | null;
  createdAt: number;
  deliveredAt: number | null;
}

/** A delivery taken for an attempt: its body exactly as stored (it is signed as is) and its webhook's target and secrets. */
export interface ClaimedDelivery {
  id: string;
  webhookId: string;
  attempts: number;
  /** The JSON payload text. */
  body: string;
  url: string;
  secret: string;
  previousSecret: string | null;
  previousSecretUntil: number | null;
}

/** The outcome of one attempt, as stored. */
export interface DeliveryAttempt {
  status: 'retrying' | 'delivered' | 'dead';
  attempts: number;
  lastAttemptAt: number;
  responseStatus: number | null;
  lastError: string | null;
  deliveredAt: number | null;
  nextAttemptAt: number | null;
}

const OPEN = ['pending', 'retrying'];

/** Decodes a `webhook_deliveries` row. */
export function decodeDelivery(row: WebhookDeliveriesTable): DeliveryRecord {
  return {
    id: row.id,
    webhookId: row.webhook_id,
    eventSeq: row.event_seq,
    eventType: row.event_type,
    payload: readJson(row.payload),
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastAttemptAt: row.last_attempt_at,
    responseStatus: row.response_status,
    lastError: row.last_error,
    createdAt: row.created_at,
    deliveredAt: row.delivered_at,
  };
}

/**
 * Queues an event for a webhook, due at once; a delivery of the same event and type to the same
 * webhook already queued is kept (so a replayed fan-out never duplicates one). Call inside a mutation.
 */
export async function queueDelivery(
  db: Db,
  delivery: { id: string; webhookId: string; eventSeq: number; eventType: string; payload: unknown; at: number },
): Promise<void> {
  await db
    .insertInto('webhook_deliveries')
    .values({
      id: delivery.id,
      webhook_id: delivery.webhookId,
      event_seq: delivery.eventSeq,
      event_type: delivery.eventType,
      payload: JSON.stringify(delivery.payload),
      status: 'pending',
      attempts: 0,
      next_attempt_at: delivery.at,
      last_attempt_at: null,
      response_status: null,
      last_error: null,
      created_at: delivery.at,
      delivered_at: null,
    })
    .onConflict((oc) => oc.columns(['webhook_id', 'event_seq', 'event_type']).doNothing())
    .execute();
}

/** Deliveries of a webhook, newest first, optionally in one status. */
export async function listDeliveries(
  db: Db,
  webhookId: string,
  filter: { status?: string | undefined },
  page: PageRequest,
): Promise<Page<DeliveryRecord>> {
  const size = pageSize(page);
  const before = decodeCursor(page.cursor);
  let q = db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId);
  if (filter.status) q = q.where('status', '=', filter.status);
  if (before !== undefined) q = q.where('id', '<', before);
  const rows = await q
    .orderBy('id', 'desc')
    .limit(size + 1)
    .execute();
  return toPage(rows, size, (r) => r.id, decodeDelivery);
}

/** One delivery of a webhook; `undefined` when unknown. */
export async function findDelivery(db: Db, webhookId: string, id: string): Promise<DeliveryRecord | undefined> {
  const row = await db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('id', '=', id)
    .where('webhook_id', '=', webhookId)
    .executeTakeFirst();
  return row && decodeDelivery(row);
}

/** Queues a delivery again for an attempt at `at`, with a fresh attempt budget. */
export async function requeueDelivery(db: Db, id: string, at: number): Promise<void> {
  await db
    .updateTable('webhook_deliveries')
    .set({ status: 'pending', attempts: 0, next_attempt_at: at, last_error: null })
    .where('id', '=', id)
    .execute();
}

/** True when some delivery is due at `now` (a cheap read before taking the write lock). */
export async function hasDueDelivery(db: Db, now: number): Promise<boolean> {
  const due = await db
    .selectFrom('webhook_deliveries')
    .select('id')
    .where('status', 'in', OPEN)
    .where('next_attempt_at', '<=', now)
    .limit(1)
    .executeTakeFirst();
  return due !== undefined;
}

/**
 * Takes up to `limit` deliveries due at `now`, in event order, by pushing their next attempt to
 * `leaseUntil` so that other nodes skip them. Call inside a mutation.
 */
export async function claimDueDeliveries(
  db: Db,
  now: number,
  leaseUntil: number,
  limit: number,
): Promise<ClaimedDelivery[]> {
  const rows = await db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhooks as w', 'w.id', 'd.webhook_id')
    .select(['d.id', 'd.webhook_id', 'd.attempts', 'd.payload'])
    .select(['w.url', 'w.secret', 'w.previous_secret', 'w.previous_secret_until'])
    .where('d.status', 'in', OPEN)
    .where('d.next_attempt_at', '<=', now)
    .orderBy('d.event_seq')
    .orderBy('d.id')
    .limit(limit)
    .execute();
  if (rows.length > 0) {
    await db
      .updateTable('webhook_deliveries')
      .set({ next_attempt_at: leaseUntil })
      .where(
        'id',
        'in',
        rows.map((r) => r.id),
      )
      .execute();
  }
  return rows.map((r) => ({
    id: r.id,
    webhookId: r.webhook_id,
    attempts: r.attempts,
    body: r.payload,
    url: r.url,
    secret: r.secret,
    previousSecret: r.previous_secret,
    previousSecretUntil: r.previous_secret_until,
  }));
}

/** Stores the outcome of an attempt. */
export async function recordDeliveryAttempt(db: Db, id: string, attempt: DeliveryAttempt): Promise<void> {
  await db
    .updateTable('webhook_deliveries')
    .set({
      status: attempt.status,
      attempts: attempt.attempts,
      last_attempt_at: attempt.lastAttemptAt,
      response_status: attempt.responseStatus,
      last_error: attempt.lastError,
      delivered_at: attempt.deliveredAt,
      next_attempt_at: attempt.nextAttemptAt,
    })
    .where('id', '=', id)
    .execute();
}

/** Deliveries waiting for a first or further attempt. */
export async function countOpenDeliveries(db: Db): Promise<number> {
  const row = await db
    .selectFrom('webhook_deliveries')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('status', 'in', OPEN)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}
