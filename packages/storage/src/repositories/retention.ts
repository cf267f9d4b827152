import { type Expression, type SelectQueryBuilder, sql } from 'kysely';
import type { DialectName } from '../dialect.js';
import type { Db } from '../store.js';

/** The tables retention prunes. Audit events are never pruned (the hash chain must stay verifiable). */
export type PrunedTable =
  | 'usage_minutes'
  | 'unknown_key_minutes'
  | 'key_clients'
  | 'changes'
  | 'webhook_deliveries'
  | 'alerts'
  | 'edge_usage_batches';

type Prunable = SelectQueryBuilder<never, never, unknown>;

/**
 * Per table, at most `limit` rows past `horizon`: an epoch ms for every table but `changes`, whose
 * horizon is the first sequence number to keep (pruned as a prefix).
 */
const PAST_HORIZON: Record<PrunedTable, (db: Db, horizon: number, limit: number) => Prunable> = {
  usage_minutes: (db, before, n) => db.selectFrom('usage_minutes').where('minute', '<', before).limit(n),
  unknown_key_minutes: (db, before, n) => db.selectFrom('unknown_key_minutes').where('minute', '<', before).limit(n),
  key_clients: (db, before, n) => db.selectFrom('key_clients').where('last_seen', '<', before).limit(n),
  changes: (db, keepFrom, n) => db.selectFrom('changes').where('seq', '<', keepFrom).orderBy('seq').limit(n),
  // Pending and retrying deliveries always stay.
  webhook_deliveries: (db, before, n) =>
    db
      .selectFrom('webhook_deliveries')
      .where('status', 'in', ['delivered', 'dead'])
      .where('created_at', '<', before)
      .limit(n),
  // Unacknowledged alerts always stay.
  alerts: (db, before, n) =>
    db.selectFrom('alerts').where('acknowledged_at', 'is not', null).where('raised_at', '<', before).limit(n),
  edge_usage_batches: (db, before, n) => db.selectFrom('edge_usage_batches').where('received_at', '<', before).limit(n),
};

/**
 * Deletes at most `limit` rows of `table` past `horizon` (see {@link PAST_HORIZON}) in one short
 * statement outside the mutation lock; returns how many. Rows are picked by their physical row id
 * (`ctid` on PostgreSQL, `rowid` on SQLite), whatever the table's primary key, so two runners at
 * once only delete the same rows once.
 */
export async function pruneBatch(
  db: Db,
  dialect: DialectName,
  table: PrunedTable,
  horizon: number,
  limit: number,
): Promise<number> {
  const rowId = dialect === 'postgres' ? sql`ctid` : sql`rowid`;
  const ids: Expression<unknown> = PAST_HORIZON[table](db, horizon, limit).select(rowId.as('row_id'));
  const result = await db.deleteFrom(table).where(rowId, 'in', ids).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** The newest change's sequence number (0 when none) and the first one written at or after `since` (`null` when none). */
export async function readChangeRetentionBounds(
  db: Db,
  since: number,
): Promise<{ head: number; firstSince: number | null }> {
  const row = await db
    .selectFrom('changes')
    .select((eb) => [
      eb.fn.max('seq').as('head'),
      eb.fn.min(eb.case().when('at', '>=', since).then(eb.ref('seq')).end()).as('young'),
    ])
    .executeTakeFirst();
  return { head: Number(row?.head ?? 0), firstSince: row?.young == null ? null : Number(row.young) };
}
