import { decodeCursor, type Page, type PageRequest, pageSize, toPage } from '../pagination.js';
import type { AlertsTable } from '../schema.js';
import type { Db, Tx } from '../store.js';
import { readJson } from './json-columns.js';
import type { WriteEvent } from './write-event.js';

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

/** An alert about to be raised: open (not acknowledged), raised at its event's instant. */
export type NewAlert = Omit<AlertRecord, 'raisedAt' | 'acknowledgedAt' | 'acknowledgedBy'>;

/**
 * Raises an alert: stores it, open and raised at `event.at`, with an `alert.raised` audit event
 * targeting it (`consumerId`, `keyId`, `rule`, `severity`, `message`, then the alert's `data`, then
 * `event.data`), in the caller's transaction. The only way alerts are written. Returns the stored alert.
 */
export async function raiseAlert(tx: Tx, alert: NewAlert, event: WriteEvent): Promise<AlertRecord> {
  const stored: AlertRecord = { ...alert, raisedAt: event.at, acknowledgedAt: null, acknowledgedBy: null };
  await tx.db
    .insertInto('alerts')
    .values({
      id: stored.id,
      rule: stored.rule,
      severity: stored.severity,
      subject: stored.subject,
      consumer_id: stored.consumerId,
      key_id: stored.keyId,
      message: stored.message,
      data: JSON.stringify(stored.data),
      raised_at: stored.raisedAt,
      acknowledged_at: null,
      acknowledged_by: null,
    })
    .execute();
  const { consumerId, keyId, rule, severity, message, data } = stored;
  await tx.audit({
    at: event.at,
    actor: event.actor,
    action: 'alert.raised',
    targetType: 'alert',
    targetId: stored.id,
    data: { consumerId, keyId, rule, severity, message, ...data, ...event.data },
  });
  return stored;
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
