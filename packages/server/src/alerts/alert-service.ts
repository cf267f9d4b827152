import { ApiError, type Clock } from '@keyroll/core';
import type { AlertsTable, Store } from '@keyroll/storage';
import { decodeCursor, type Page, type PageRequest, pageSize, toPage } from '@keyroll/storage';
import { type Actor, actorName } from '../shared/actor.js';
import { iso } from '../shared/records.js';

/** The alert rules. */
export const ALERT_RULES = [
  'failure_rate',
  'unknown_key_burst',
  'retired_key_used',
  'rotation_deadline',
  'successor_reclaim',
  'key_leaked',
] as const;

/** An alert rule. */
export type AlertRule = (typeof ALERT_RULES)[number];

/** An alert as the API shows it. */
export interface AlertView {
  id: string;
  rule: string;
  severity: string;
  subject: string;
  consumerId: string | null;
  keyId: string | null;
  message: string;
  data: Record<string, unknown>;
  raisedAt: string | null;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
}

/** Filters of an alert listing. */
export interface AlertFilter {
  rule?: string | undefined;
  consumerId?: string | undefined;
  acknowledged?: boolean | undefined;
}

/** What an {@link AlertService} needs. */
export interface AlertServiceOptions {
  store: Store;
  clock: Clock;
}

/** Stored alerts: list them, acknowledge them. */
export class AlertService {
  readonly #o: AlertServiceOptions;

  constructor(options: AlertServiceOptions) {
    this.#o = options;
  }

  /** Alerts, newest first. */
  async list(filter: AlertFilter, page: PageRequest): Promise<Page<AlertView>> {
    const size = pageSize(page);
    const before = decodeCursor(page.cursor);
    let q = this.#o.store.db.selectFrom('alerts').selectAll();
    if (filter.rule) q = q.where('rule', '=', filter.rule);
    if (filter.consumerId) q = q.where('consumer_id', '=', filter.consumerId);
    if (filter.acknowledged !== undefined) {
      q = q.where('acknowledged_at', filter.acknowledged ? 'is not' : 'is', null);
    }
    if (before !== undefined) q = q.where('id', '<', before);
    const rows = await q
      .orderBy('id', 'desc')
      .limit(size + 1)
      .execute();
    return toPage(rows, size, (r) => r.id, alertView);
  }

  /** One alert; 404 when unknown. */
  async get(id: string): Promise<AlertView> {
    const row = await this.#o.store.db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new ApiError('NOT_FOUND', `alert ${id} not found`);
    return alertView(row);
  }

  /** Marks an alert as seen; acknowledging twice keeps the first acknowledgement. */
  async acknowledge(actor: Actor, id: string): Promise<AlertView> {
    const now = this.#o.clock.now();
    return this.#o.store.mutate(async (tx) => {
      const row = await tx.db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) throw new ApiError('NOT_FOUND', `alert ${id} not found`);
      if (row.acknowledged_at !== null) return alertView(row);
      const set = { acknowledged_at: now, acknowledged_by: actorName(actor) };
      await tx.db.updateTable('alerts').set(set).where('id', '=', id).execute();
      await tx.audit({
        at: now,
        actor: actorName(actor),
        action: 'alert.acknowledged',
        targetType: 'alert',
        targetId: id,
        data: { consumerId: row.consumer_id, rule: row.rule },
      });
      return alertView({ ...row, ...set });
    });
  }
}

/** The API view of an alert row. */
export function alertView(row: AlertsTable): AlertView {
  return {
    id: row.id,
    rule: row.rule,
    severity: row.severity,
    subject: row.subject,
    consumerId: row.consumer_id,
    keyId: row.key_id,
    message: row.message,
    data: JSON.parse(row.data),
    raisedAt: iso(row.raised_at),
    acknowledgedAt: iso(row.acknowledged_at),
    acknowledgedBy: row.acknowledged_by,
  };
}
