import { decodeCursor, type Page, type PageRequest, pageSize, toPage } from '../pagination.js';
import type { AlertsTable } from '../schema.js';
import type { Db } from '../store.js';
import { readJson } from './json-columns.js';

/** A stored alert, its data decoded. Times are epoch ms. */
export interface AlertRecord {
  id: string;
  rule: string;
  severity: string;
  /** What the alert is about; alerts are de-duplicated by rule and subject. */
  subject: string;
  consumerId: string | null;
  keyId: string | null;
  message: string;
  data: Record<string, unknown>;
  raisedAt: number;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
}

/** Filters of an alert listing. */
export interface AlertListFilter {
  rule?: string | undefined;
  consumerId?: string | undefined;
  acknowledged?: boolean | undefined;
}

/** Decodes an `alerts` row. */
export function decodeAlert(row: AlertsTable): AlertRecord {
  return {
    id: row.id,
    rule: row.rule,
    severity: row.severity,
    subject: row.subject,
    consumerId: row.consumer_id,
    keyId: row.key_id,
    message: row.message,
    data: readJson(row.data),
    raisedAt: row.raised_at,
    acknowledgedAt: row.acknowledged_at,
    acknowledgedBy: row.acknowledged_by,
  };
}

/** Stores a new alert. */
export async function insertAlert(db: Db, alert: AlertRecord): Promise<void> {
  await db
    .insertInto('alerts')
    .values({
      id: alert.id,
      rule: alert.rule,
      severity: alert.severity,
      subject: alert.subject,
      consumer_id: alert.consumerId,
      key_id: alert.keyId,
      message: alert.message,
      data: JSON.stringify(alert.data),
      raised_at: alert.raisedAt,
      acknowledged_at: alert.acknowledgedAt,
      acknowledged_by: alert.acknowledgedBy,
    })
    .execute();
}

/** Alerts, newest first. */
export async function listAlerts(db: Db, filter: AlertListFilter, page: PageRequest): Promise<Page<AlertRecord>> {
  const size = pageSize(page);
  const before = decodeCursor(page.cursor);
  let q = db.selectFrom('alerts').selectAll();
  if (filter.rule) q = q.where('rule', '=', filter.rule);
  if (filter.consumerId) q = q.where('consumer_id', '=', filter.consumerId);
  if (filter.acknowledged !== undefined) q = q.where('acknowledged_at', filter.acknowledged ? 'is not' : 'is', null);
  if (before !== undefined) q = q.where('id', '<', before);
  const rows = await q
    .orderBy('id', 'desc')
    .limit(size + 1)
    .execute();
  return toPage(rows, size, (r) => r.id, decodeAlert);
}

/** One alert; `undefined` when unknown. */
export async function findAlert(db: Db, id: string): Promise<AlertRecord | undefined> {
  const row = await db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
  return row && decodeAlert(row);
}

/** Marks an alert acknowledged at `at` by `by`. */
export async function acknowledgeAlert(db: Db, id: string, at: number, by: string): Promise<void> {
  await db.updateTable('alerts').set({ acknowledged_at: at, acknowledged_by: by }).where('id', '=', id).execute();
}

/** When the latest alert of a rule and subject raised at or after `since` was raised; `undefined` when none was. */
export async function latestAlertRaisedAt(
  db: Db,
  rule: string,
  subject: string,
  since: number,
): Promise<number | undefined> {
  const row = await db
    .selectFrom('alerts')
    .select('raised_at')
    .where('rule', '=', rule)
    .where('subject', '=', subject)
    .where('raised_at', '>=', since)
    .orderBy('raised_at', 'desc')
    .executeTakeFirst();
  return row && Number(row.raised_at);
}
