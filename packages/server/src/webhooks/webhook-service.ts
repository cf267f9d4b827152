import { ApiError, type Clock, newId } from '@keyroll/core';
import type { Store, Tx, WebhookDeliveriesTable, WebhooksTable } from '@keyroll/storage';
import { decodeCursor, type Page, type PageRequest, pageById, pageSize, toPage } from '@keyroll/storage';
import { assertLiveConsumer } from '../consumers/consumer-service.js';
import { type Actor, actorName } from '../shared/actor.js';
import { iso } from '../shared/records.js';
import { isWebhookEventType, WEBHOOK_EVENT_TYPES } from './event-types.js';
import { checkWebhookUrl } from './ssrf-guard.js';
import { newWebhookSecret } from './webhook-signer.js';

/** A webhook subscription as the API shows it: never its secret. */
export interface WebhookView {
  id: string;
  url: string;
  events: string[];
  consumerId: string | null;
  description: string | null;
  enabled: boolean;
  /** Until when the previous secret still signs too, after a rotation. */
  previousSecretExpiresAt: string | null;
  createdAt: string | null;
  updatedAt: string | null;
}

/** A delivery of one event to one webhook, as the API shows it. */
export interface DeliveryView {
  id: string;
  webhookId: string;
  eventType: string;
  eventSeq: number;
  status: string;
  attempts: number;
  nextAttemptAt: string | null;
  lastAttemptAt: string | null;
  responseStatus: number | null;
  lastError: string | null;
  createdAt: string | null;
  deliveredAt: string | null;
  payload: Record<string, unknown>;
}

/** Fields of a new subscription. */
export interface WebhookInput {
  url: string;
  events: string[];
  consumerId?: string | null | undefined;
  description?: string | null | undefined;
}

/** Fields a PATCH may change. */
export type WebhookPatch = Partial<WebhookInput> & { enabled?: boolean | undefined };

/** What a {@link WebhookService} needs. */
export interface WebhookServiceOptions {
  store: Store;
  clock: Clock;
  /** Allow private and loopback targets (KEYROLL_WEBHOOK_ALLOW_PRIVATE). */
  allowPrivate: boolean;
}

/** Delivery states: waiting for a first attempt, waiting for a retry, done, given up. */
export const DELIVERY_STATUSES = ['pending', 'retrying', 'delivered', 'dead'] as const;

/** Webhook subscriptions: create, list, change, delete, rotate the secret, inspect and redeliver deliveries. */
export class WebhookService {
  readonly #o: WebhookServiceOptions;

  constructor(options: WebhookServiceOptions) {
    this.#o = options;
  }

  /** Subscribes a URL to events; returns the signing secret, shown this once. */
  async create(actor: Actor, input: WebhookInput): Promise<{ view: WebhookView; secret: string }> {
    const url = await checkWebhookUrl(input.url, this.#o.allowPrivate);
    const events = checkEvents(input.events);
    const now = this.#o.clock.now();
    const secret = newWebhookSecret();
    const id = newId('webhook', now);
    const row = await this.#o.store.mutate(async (tx) => {
      if (input.consumerId) await assertLiveConsumer(tx.db, input.consumerId);
      await tx.audit({
        at: now,
        actor: actorName(actor),
        action: 'webhook.created',
        targetType: 'webhook',
        targetId: id,
        data: { consumerId: input.consumerId ?? null, url, events },
      });
      const head = await tx.db
        .selectFrom('audit_events')
        .select((eb) => eb.fn.max('seq').as('seq'))
        .executeTakeFirst();
      const created: WebhooksTable = {
        id,
        url,
        events: JSON.stringify(events),
        consumer_id: input.consumerId ?? null,
        description: input.description ?? null,
        enabled: 1,
        secret,
        previous_secret: null,
        previous_secret_until: null,
        since_seq: Number(head?.seq ?? 0),
        created_at: now,
        updated_at: now,
        deleted_at: null,
      };
      await tx.db.insertInto('webhooks').values(created).execute();
      return created;
    });
    return { view: webhookView(row, now), secret };
  }

  /** Lists subscriptions, oldest first, optionally those of one consumer. */
  async list(filter: { consumerId?: string | undefined }, page: PageRequest): Promise<Page<WebhookView>> {
    const now = this.#o.clock.now();
    let q = this.#o.store.db.selectFrom('webhooks').selectAll().where('deleted_at', 'is', null);
    if (filter.consumerId) q = q.where('consumer_id', '=', filter.consumerId);
    return pageById(q, page, (r) => webhookView(r, now));
  }

  /** One subscription; 404 when unknown or deleted. */
  async get(id: string): Promise<WebhookView> {
    return webhookView(await this.#row(this.#o.store.db, id), this.#o.clock.now());
  }

  /** Changes the URL, events, consumer filter, description or enabled flag. */
  async update(actor: Actor, id: string, patch: WebhookPatch): Promise<WebhookView> {
    const url = patch.url !== undefined ? await checkWebhookUrl(patch.url, this.#o.allowPrivate) : undefined;
    const events = patch.events !== undefined ? checkEvents(patch.events) : undefined;
    const now = this.#o.clock.now();
    return this.#o.store.mutate(async (tx) => {
      const current = await this.#row(tx.db, id);
      if (patch.consumerId) await assertLiveConsumer(tx.db, patch.consumerId);
      const set: Partial<WebhooksTable> = {
        updated_at: now,
        ...(url !== undefined && { url }),
        ...(events !== undefined && { events: JSON.stringify(events) }),
        ...(patch.consumerId !== undefined && { consumer_id: patch.consumerId }),
        ...(patch.description !== undefined && { description: patch.description }),
        ...(patch.enabled !== undefined && { enabled: patch.enabled ? 1 : 0 }),
      };
      await tx.db.updateTable('webhooks').set(set).where('id', '=', id).execute();
      await this.#audit(tx, actor, 'webhook.updated', { ...current, ...set }, now, { fields: Object.keys(patch) });
      return webhookView({ ...current, ...set }, now);
    });
  }

  /** Deletes a subscription; its undelivered deliveries are given up. */
  async delete(actor: Actor, id: string): Promise<void> {
    const now = this.#o.clock.now();
    await this.#o.store.mutate(async (tx) => {
      const current = await this.#row(tx.db, id);
      await tx.db.updateTable('webhooks').set({ deleted_at: now, updated_at: now }).where('id', '=', id).execute();
      await tx.db
        .updateTable('webhook_deliveries')
        .set({ status: 'dead', next_attempt_at: null, last_error: 'webhook deleted' })
        .where('webhook_id', '=', id)
        .where('status', 'in', ['pending', 'retrying'])
        .execute();
      await this.#audit(tx, actor, 'webhook.deleted', current, now);
    });
  }

  /**
   * Replaces the signing secret. For `overlapMs` deliveries are signed with both the new and the old
   * secret, so that receivers can switch without dropping a message.
   */
  async rotateSecret(
    actor: Actor,
    id: string,
    overlapMs: number,
  ): Promise<{ id: string; secret: string; previousSecretExpiresAt: string | null }> {
    const now = this.#o.clock.now();
    const secret = newWebhookSecret();
    const until = overlapMs > 0 ? now + overlapMs : null;
    await this.#o.store.mutate(async (tx) => {
      const current = await this.#row(tx.db, id);
      await tx.db
        .updateTable('webhooks')
        .set({
          secret,
          previous_secret: until === null ? null : current.secret,
          previous_secret_until: until,
          updated_at: now,
        })
        .where('id', '=', id)
        .execute();
      await this.#audit(tx, actor, 'webhook.secret_rotated', current, now, { overlapMs });
    });
    return { id, secret, previousSecretExpiresAt: iso(until) };
  }

  /** Deliveries of a subscription, newest first, optionally in one status. */
  async deliveries(
    id: string,
    filter: { status?: string | undefined },
    page: PageRequest,
  ): Promise<Page<DeliveryView>> {
    await this.#row(this.#o.store.db, id);
    const size = pageSize(page);
    const before = decodeCursor(page.cursor);
    let q = this.#o.store.db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', id);
    if (filter.status) q = q.where('status', '=', filter.status);
    if (before !== undefined) q = q.where('id', '<', before);
    const rows = await q
      .orderBy('id', 'desc')
      .limit(size + 1)
      .execute();
    return toPage(rows, size, (r) => r.id, deliveryView);
  }

  /** Queues a delivery again for an immediate attempt, with a fresh attempt budget. */
  async redeliver(actor: Actor, id: string, deliveryId: string): Promise<DeliveryView> {
    const now = this.#o.clock.now();
    return this.#o.store.mutate(async (tx) => {
      const hook = await this.#row(tx.db, id);
      const row = await tx.db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('id', '=', deliveryId)
        .where('webhook_id', '=', id)
        .executeTakeFirst();
      if (!row) throw new ApiError('NOT_FOUND', `delivery ${deliveryId} not found`);
      const set = { status: 'pending', attempts: 0, next_attempt_at: now, last_error: null };
      await tx.db.updateTable('webhook_deliveries').set(set).where('id', '=', deliveryId).execute();
      await this.#audit(tx, actor, 'webhook.redelivered', hook, now, { deliveryId });
      return deliveryView({ ...row, ...set });
    });
  }

  async #row(db: Store['db'], id: string): Promise<WebhooksTable> {
    const row = await db
      .selectFrom('webhooks')
      .selectAll()
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (!row) throw new ApiError('NOT_FOUND', `webhook ${id} not found`);
    return row;
  }

  async #audit(
    tx: Tx,
    actor: Actor,
    action: string,
    hook: WebhooksTable,
    now: number,
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    await tx.audit({
      at: now,
      actor: actorName(actor),
      action,
      targetType: 'webhook',
      targetId: hook.id,
      data: { consumerId: hook.consumer_id, url: hook.url, ...extra },
    });
  }
}

/** Checks an event filter: known types, `*`, or a `family.*` wildcard that matches some type. */
function checkEvents(events: readonly string[]): string[] {
  if (events.length === 0)
    throw new ApiError('VALIDATION_FAILED', 'events: at least one event type', { field: 'events' });
  for (const e of events) {
    const wildcard = e === '*' || (e.endsWith('.*') && WEBHOOK_EVENT_TYPES.some((t) => t.startsWith(e.slice(0, -1))));
    if (!wildcard && !isWebhookEventType(e)) {
      throw new ApiError('VALIDATION_FAILED', `events: unknown event type ${JSON.stringify(e)}`, {
        field: 'events',
        known: WEBHOOK_EVENT_TYPES,
      });
    }
  }
  return [...new Set(events)];
}

function webhookView(row: WebhooksTable, now: number): WebhookView {
  const overlap = row.previous_secret_until !== null && row.previous_secret_until > now;
  return {
    id: row.id,
    url: row.url,
    events: JSON.parse(row.events),
    consumerId: row.consumer_id,
    description: row.description,
    enabled: row.enabled === 1,
    previousSecretExpiresAt: overlap ? iso(row.previous_secret_until) : null,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

/** The API view of a delivery row. */
export function deliveryView(row: WebhookDeliveriesTable): DeliveryView {
  return {
    id: row.id,
    webhookId: row.webhook_id,
    eventType: row.event_type,
    eventSeq: row.event_seq,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: iso(row.next_attempt_at),
    lastAttemptAt: iso(row.last_attempt_at),
    responseStatus: row.response_status,
    lastError: row.last_error,
    createdAt: iso(row.created_at),
    deliveredAt: iso(row.delivered_at),
    payload: JSON.parse(row.payload),
  };
}
