import { ApiError, type Clock, newId } from '@keyroll/core';
import {
  type DeliveryRecord,
  deleteWebhook,
  findDelivery,
  findLiveWebhook,
  insertWebhook,
  listDeliveries,
  listLiveWebhooks,
  type Page,
  type PageRequest,
  readAuditSeqHead,
  requeueDelivery,
  type Store,
  type Tx,
  updateWebhook,
  type WebhookChanges,
  type WebhookRecord,
} from '@keyroll/storage';
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
      const created: WebhookRecord = {
        id,
        url,
        events,
        consumerId: input.consumerId ?? null,
        description: input.description ?? null,
        enabled: true,
        secret,
        previousSecret: null,
        previousSecretUntil: null,
        sinceSeq: await readAuditSeqHead(tx.db),
        createdAt: now,
        updatedAt: now,
        deletedAt: null,
      };
      await insertWebhook(tx.db, created);
      return created;
    });
    return { view: webhookView(row, now), secret };
  }

  /** Lists subscriptions, oldest first, optionally those of one consumer. */
  async list(filter: { consumerId?: string | undefined }, page: PageRequest): Promise<Page<WebhookView>> {
    const now = this.#o.clock.now();
    const hooks = await listLiveWebhooks(this.#o.store.db, filter, page);
    return { data: hooks.data.map((h) => webhookView(h, now)), nextCursor: hooks.nextCursor };
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
      const changes: WebhookChanges = {
        updatedAt: now,
        ...(url !== undefined && { url }),
        ...(events !== undefined && { events }),
        ...(patch.consumerId !== undefined && { consumerId: patch.consumerId }),
        ...(patch.description !== undefined && { description: patch.description }),
        ...(patch.enabled !== undefined && { enabled: patch.enabled }),
      };
      await updateWebhook(tx.db, id, changes);
      const updated = { ...current, ...changes };
      await this.#audit(tx, actor, 'webhook.updated', updated, now, { fields: Object.keys(patch) });
      return webhookView(updated, now);
    });
  }

  /** Deletes a subscription; its undelivered deliveries are given up. */
  async delete(actor: Actor, id: string): Promise<void> {
    const now = this.#o.clock.now();
    await this.#o.store.mutate(async (tx) => {
      const current = await this.#row(tx.db, id);
      await deleteWebhook(tx.db, id, now);
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
      await updateWebhook(tx.db, id, {
        secret,
        previousSecret: until === null ? null : current.secret,
        previousSecretUntil: until,
        updatedAt: now,
      });
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
    const deliveries = await listDeliveries(this.#o.store.db, id, filter, page);
    return { data: deliveries.data.map(deliveryView), nextCursor: deliveries.nextCursor };
  }

  /** Queues a delivery again for an immediate attempt, with a fresh attempt budget. */
  async redeliver(actor: Actor, id: string, deliveryId: string): Promise<DeliveryView> {
    const now = this.#o.clock.now();
    return this.#o.store.mutate(async (tx) => {
      const hook = await this.#row(tx.db, id);
      const delivery = await findDelivery(tx.db, id, deliveryId);
      if (!delivery) throw new ApiError('NOT_FOUND', `delivery ${deliveryId} not found`);
      await requeueDelivery(tx.db, deliveryId, now);
      await this.#audit(tx, actor, 'webhook.redelivered', hook, now, { deliveryId });
      return deliveryView({ ...delivery, status: 'pending', attempts: 0, nextAttemptAt: now, lastError: null });
    });
  }

  async #row(db: Store['db'], id: string): Promise<WebhookRecord> {
    const hook = await findLiveWebhook(db, id);
    if (!hook) throw new ApiError('NOT_FOUND', `webhook ${id} not found`);
    return hook;
  }

  async #audit(
    tx: Tx,
    actor: Actor,
    action: string,
    hook: WebhookRecord,
    now: number,
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    await tx.audit({
      at: now,
      actor: actorName(actor),
      action,
      targetType: 'webhook',
      targetId: hook.id,
      data: { consumerId: hook.consumerId, url: hook.url, ...extra },
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

function webhookView(hook: WebhookRecord, now: number): WebhookView {
  const overlap = hook.previousSecretUntil !== null && hook.previousSecretUntil > now;
  return {
    id: hook.id,
    url: hook.url,
    events: hook.events,
    consumerId: hook.consumerId,
    description: hook.description,
    enabled: hook.enabled,
    previousSecretExpiresAt: overlap ? iso(hook.previousSecretUntil) : null,
    createdAt: iso(hook.createdAt),
    updatedAt: iso(hook.updatedAt),
  };
}

/** The API view of a delivery. */
export function deliveryView(d: DeliveryRecord): DeliveryView {
  return {
    id: d.id,
    webhookId: d.webhookId,
    eventType: d.eventType,
    eventSeq: d.eventSeq,
    status: d.status,
    attempts: d.attempts,
    nextAttemptAt: iso(d.nextAttemptAt),
    lastAttemptAt: iso(d.lastAttemptAt),
    responseStatus: d.responseStatus,
    lastError: d.lastError,
    createdAt: iso(d.createdAt),
    deliveredAt: iso(d.deliveredAt),
    payload: d.payload,
  };
}
