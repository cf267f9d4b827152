import { type Clock, newId } from '@keyroll/core';
import {
  listAuditEvents,
  listEnabledWebhooks,
  queueDelivery,
  readState,
  type Store,
  writeState,
} from '@keyroll/storage';
import { eventFilterMatches, webhookEventsOf } from './event-types.js';
import { webhookPayload } from './webhook-payload.js';

/** What a {@link WebhookDispatcher} needs. */
export interface WebhookDispatcherOptions {
  store: Store;
  clock: Clock;
  /** Audit events handled per transaction (default 500). */
  batchSize?: number;
}

/** Where the dispatcher's cursor is kept in `monitoring_state`. */
const CURSOR = 'webhooks.dispatch_cursor';

/**
 * Turns audit events into webhook deliveries. The audit log is written in the same transaction as
 * every mutation, so it is the durable outbox: the dispatcher follows it by sequence number and fans
 * each event out to the matching subscriptions, writing the deliveries and its cursor in one
 * transaction — a crash at any point neither loses nor duplicates a delivery.
 */
export class WebhookDispatcher {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #batch: number;

  constructor(options: WebhookDispatcherOptions) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#batch = options.batchSize ?? 500;
  }

  /** Fans out every audit event written since the last call; returns how many events were read. */
  async tick(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.#step();
      total += n;
      if (n < this.#batch) return total;
    }
  }

  async #step(): Promise<number> {
    const seen = (await readState<number>(this.#store.db, CURSOR)) ?? 0;
    if ((await listAuditEvents(this.#store.db, { afterSeq: seen, limit: 1 })).length === 0) return 0;
    return this.#store.mutate(async (tx) => {
      const cursor = (await readState<number>(tx.db, CURSOR)) ?? 0;
      const events = await listAuditEvents(tx.db, { afterSeq: cursor, limit: this.#batch });
      const last = events[events.length - 1];
      if (!last) return 0;
      const hooks = await listEnabledWebhooks(tx.db);
      const now = this.#clock.now();
      for (const event of events) {
        for (const type of webhookEventsOf(event.action, event.data)) {
          const payload = webhookPayload(type, event);
          for (const hook of hooks) {
            if (hook.sinceSeq >= event.seq) continue;
            if (!eventFilterMatches(hook.events, type)) continue;
            if (hook.consumerId !== null && hook.consumerId !== event.data.consumerId) continue;
            await queueDelivery(tx.db, {
              id: newId('delivery', now),
              webhookId: hook.id,
              eventSeq: event.seq,
              eventType: type,
              payload,
              at: now,
            });
          }
        }
      }
      await writeState(tx.db, CURSOR, last.seq, now);
      return events.length;
    });
  }
}
