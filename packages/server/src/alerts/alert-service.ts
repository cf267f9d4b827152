import { ApiError, type Clock } from '@keyroll/core';
import {
  type AlertListFilter,
  type AlertRecord,
  acknowledgeAlert,
  findAlert,
  listAlerts,
  type Page,
  type PageRequest,
  type Store,
} from '@keyroll/storage';
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
  async list(filter: AlertListFilter, page: PageRequest): Promise<Page<AlertView>> {
    const alerts = await listAlerts(this.#o.store.db, filter, page);
    return { data: alerts.data.map(alertView), nextCursor: alerts.nextCursor };
  }

  /** One alert; 404 when unknown. */
  async get(id: string): Promise<AlertView> {
    const alert = await findAlert(this.#o.store.db, id);
    if (!alert) throw new ApiError('NOT_FOUND', `alert ${id} not found`);
    return alertView(alert);
  }

  /** Marks an alert as seen; acknowledging twice keeps the first acknowledgement. */
  async acknowledge(actor: Actor, id: string): Promise<AlertView> {
    const now = this.#o.clock.now();
    return this.#o.store.mutate(async (tx) => {
      const alert = await findAlert(tx.db, id);
      if (!alert) throw new ApiError('NOT_FOUND', `alert ${id} not found`);
      if (alert.acknowledgedAt !== null) return alertView(alert);
      const set = { acknowledgedAt: now, acknowledgedBy: actorName(actor) };
      await acknowledgeAlert(tx.db, id, set.acknowledgedAt, set.acknowledgedBy);
      await tx.audit({
        at: now,
        actor: actorName(actor),
        action: 'alert.acknowledged',
        targetType: 'alert',
        targetId: id,
        data: { consumerId: alert.consumerId, rule: alert.rule },
      });
      return alertView({ ...alert, ...set });
    });
  }
}

/** The API view of an alert. */
export function alertView(alert: AlertRecord): AlertView {
  return {
    ...alert,
    raisedAt: iso(alert.raisedAt),
    acknowledgedAt: iso(alert.acknowledgedAt),
  };
}
