import { type Clock, newId } from '@keyroll/core';
import { readState, type Store, writeState } from '@keyroll/storage';
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
    const newer = await this.#store.db
      .selectFrom('audit_events')
      .select('seq')
      .where('seq', '>', seen)
      .limit(1)
      .executeTakeFirst();
    if (!newer) return 0;
    return this.#store.mutate(async (tx) => {
      const cursor = (await readState<number>(tx.db, CURSOR)) ?? 0;
      const events = await tx.db
        .selectFrom('audit_events')
        .selectAll()
        .where('seq', '>', cursor)
        .orderBy('seq')
        .limit(this.#batch)
        .execute();
      const last = events[events.length - 1];
      if (!last) return 0;
      const hooks = (
        await tx.db
          .selectFrom('webhooks')
          .select(['id', 'events', 'consumer_id', 'since_seq'])
          .where('deleted_at', 'is', null)
          .where('enabled', '=', 1)
          .execute()
      ).map((h) => {
        const filter: unknown = JSON.parse(h.events);
        return { ...h, filter: Array.isArray(filter) ? filter.map(String) : [] };
      });
      const now = this.#clock.now();
      for (const event of events) {
        const data: Record<string, unknown> = JSON.parse(event.data);
        for (const type of webhookEventsOf(event.action, data)) {
          const payload = JSON.stringify(webhookPayload(type, event));
          for (const hook of hooks) {
            if (hook.since_seq >= event.seq) continue;
            if (!eventFilterMatches(hook.filter, type)) continue;
            if (hook.consumer_id !== null && hook.consumer_id !== data.consumerId) continue;
            await tx.db
              .insertInto('webhook_deliveries')
              .values({
                id: newId('delivery', now),
                webhook_id: hook.id,
                event_seq: event.seq,
                event_type: type,
                payload,
                status: 'pending',
                attempts: 0,
                next_attempt_at: now,
                last_attempt_at: null,
                response_status: null,
                last_error: null,
                created_at: now,
                delivered_at: null,
              })
              .onConflict((oc) => oc.columns(['webhook_id', 'event_seq', 'event_type']).doNothing())
              .execute();
          }
        }
      }
      await writeState(tx.db, CURSOR, last.seq, now);
      return events.length;
    });
  }
}
