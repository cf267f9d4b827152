import { sql } from 'kysely';
import type { DialectName } from '../dialect.js';
import type { Db, Store } from '../store.js';
import { readChangeLogHead } from './changes.js';
import { type ConsumerRecord, decodeConsumer } from './consumers.js';
import { decodeKey, type KeyRecord } from './keys.js';
import { decodePlan, type PlanRecord } from './plans.js';

/** Everything an edge verifier holds, read at one change sequence. */
export interface DataPlaneSnapshot {
  /** The sequence number of the newest change the rows reflect. */
  seq: number;
  /** Every key, whatever its status (a revoked key must be refused as `REVOKED`, not `NOT_FOUND`). */
  keys: KeyRecord[];
  /** Consumers that are not deleted (their limits and plans apply to their keys). */
  consumers: ConsumerRecord[];
  plans: PlanRecord[];
}

/**
 * Reads the change-log head and every row verification needs in one transaction, so the rows are
 * exactly those of the head: on PostgreSQL a `repeatable read` snapshot (mutations commit in
 * sequence order under the mutation lock); on SQLite a transaction on the store's one connection.
 */
export function readDataPlaneSnapshot(db: Db): Promise<DataPlaneSnapshot> {
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const seq = await readChangeLogHead(trx);
      const keys = (await trx.selectFrom('keys').selectAll().orderBy('id').execute()).map(decodeKey);
      const consumers = (
        await trx.selectFrom('consumers').selectAll().where('deleted_at', 'is', null).orderBy('id').execute()
      ).map(decodeConsumer);
      const plans = (await trx.selectFrom('plans').selectAll().orderBy('id').execute()).map(decodePlan);
      return { seq, keys, consumers, plans };
    });
}

/**
 * The order of a {@link DataPlaneKey}'s fields in its array form (see {@link DataPlaneKeyForm}).
 * New fields are only ever appended.
 */
export const DATA_PLANE_KEY_FIELDS = [
  'hash',
  'id',
  'consumerId',
  'name',
  'version',
  'lineageId',
  'predecessorId',
  'scopes',
  'metadata',
  'allowedIps',
  'rateLimit',
  'quota',
  'planId',
  'expiresAt',
  'retiresAt',
  'revokedAt',
] as const satisfies readonly (keyof KeyRecord)[];

/**
 * The fields of a key an edge verifier needs: a {@link KeyRecord} without its hint, prefix, revoke
 * reason and bookkeeping times (never a secret: only its SHA-256).
 */
export type DataPlaneKey = Pick<KeyRecord, (typeof DATA_PLANE_KEY_FIELDS)[number]>;

/** Where {@link streamDataPlaneSnapshot} hands what it reads, page by page; each call is awaited (back-pressure). */
export interface DataPlaneSnapshotSink {
  /** The change sequence the rows are read at, and how many keys follow; called first, before any row. */
  head(seq: number, keyCount: number): Promise<void> | void;
  /**
   * A page of keys, each as the JSON text of a {@link DataPlaneKey} in the form asked for (what
   * `JSON.parse` of it gives holds the same fields as {@link decodeKey}'s record), written by the
   * database itself: no row object is built per key.
   */
  keys(page: string[]): Promise<void> | void;
  consumers(page: ConsumerRecord[]): Promise<void> | void;
  plans(page: PlanRecord[]): Promise<void> | void;
}

/** Rows read per query of {@link streamDataPlaneSnapshot} by default. */
export const SNAPSHOT_PAGE_SIZE = 2000;

/**
 * How {@link streamDataPlaneSnapshot} writes each key: `object`, the JSON object of a
 * {@link DataPlaneKey}; `array`, a JSON array of its values in {@link DATA_PLANE_KEY_FIELDS} order
 * (half the bytes, and about half the parsing for the reader).
 */
export type DataPlaneKeyForm = 'object' | 'array';

/**
 * A `keys` row as JSON text, built in SQL (as {@link decodeKey} reads the row: a missing lineage is
 * the key's own, an empty or `NULL` JSON column is `null`).
 */
function dataPlaneKeyJson(dialect: DialectName, form: DataPlaneKeyForm) {
  // Each field's SQL, in DATA_PLANE_KEY_FIELDS order.
  const values: Record<(typeof DATA_PLANE_KEY_FIELDS)[number], string> =
    dialect === 'sqlite'
      ? {
          hash: 'hash',
          id: 'id',
          consumerId: 'consumer_id',
          name: 'name',
          version: 'version',
          lineageId: 'coalesce(lineage_id, id)',
          predecessorId: 'predecessor_id',
          scopes: 'json(scopes)',
          metadata: 'json(metadata)',
          allowedIps: "json(nullif(allowed_ips, ''))",
          rateLimit: "json(nullif(rate_limit, ''))",
          quota: "json(nullif(quota, ''))",
          planId: 'plan_id',
          expiresAt: 'expires_at',
          retiresAt: 'retires_at',
          revokedAt: 'revoked_at',
        }
      : {
          hash: 'hash',
          id: 'id',
          consumerId: 'consumer_id',
          name: 'name',
          version: 'version',
          lineageId: 'coalesce(lineage_id, id)',
          predecessorId: 'predecessor_id',
          scopes: 'scopes::json',
          metadata: 'metadata::json',
          allowedIps: "nullif(allowed_ips, '')::json",
          rateLimit: "nullif(rate_limit, '')::json",
          quota: "nullif(quota, '')::json",
          planId: 'plan_id',
          expiresAt: 'expires_at',
          retiresAt: 'retires_at',
          revokedAt: 'revoked_at',
        };
  const args = DATA_PLANE_KEY_FIELDS.map((f) => (form === 'object' ? `'${f}', ${values[f]}` : values[f])).join(', ');
  const fn =
    dialect === 'sqlite'
      ? form === 'object'
        ? 'json_object'
        : 'json_array'
      : form === 'object'
        ? 'json_build_object'
        : 'json_build_array';
  // Only constant text goes in here (column names and field names above), never a value.
  return sql<string>`${sql.raw(`${fn}(${args})${dialect === 'postgres' ? '::text' : ''}`)}`;
}

/**
 * {@link readDataPlaneSnapshot} without holding every row at once, and without holding up the
 * store's writes: inside one consistent read ({@link Store.readConsistently}: a `repeatable read`
 * transaction on PostgreSQL; on SQLite a read transaction on a connection of its own, so the store
 * keeps writing while a slow client downloads), reads the head and the number of keys, then keys
 * (as JSON text in `keyForm`, see {@link DataPlaneSnapshotSink.keys}), live consumers and plans in pages of
 * `pageSize` rows ordered by id (keyset: `id > last`), handing each page to the sink and awaiting it
 * before reading the next. When the sink throws (the client went away), the read ends and its
 * connection is let go.
 */
export function streamDataPlaneSnapshot(
  store: Pick<Store, 'dialect' | 'readConsistently'>,
  sink: DataPlaneSnapshotSink,
  pageSize: number = SNAPSHOT_PAGE_SIZE,
  keyForm: DataPlaneKeyForm = 'object',
): Promise<void> {
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw new RangeError('pageSize must be a positive integer');
  const keyJson = dataPlaneKeyJson(store.dialect, keyForm);
  return store.readConsistently(async (trx) => {
    const seq = await readChangeLogHead(trx);
    const counted = await trx
      .selectFrom('keys')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow();
    await sink.head(seq, Number(counted.n));
    for (let after: string | null = null; ; ) {
      let q = trx
        .selectFrom('keys')
        .select(['id', keyJson.as('json')])
        .orderBy('id')
        .limit(pageSize);
      if (after !== null) q = q.where('id', '>', after);
      const rows = await q.execute();
      if (rows.length > 0) await sink.keys(rows.map((r) => r.json));
      if (rows.length < pageSize) break;
      after = (rows.at(-1) as { id: string }).id;
    }
    for (let after: string | null = null; ; ) {
      let q = trx.selectFrom('consumers').selectAll().where('deleted_at', 'is', null).orderBy('id').limit(pageSize);
      if (after !== null) q = q.where('id', '>', after);
      const rows = await q.execute();
      if (rows.length > 0) await sink.consumers(rows.map(decodeConsumer));
      if (rows.length < pageSize) break;
      after = (rows.at(-1) as { id: string }).id;
    }
    for (let after: string | null = null; ; ) {
      let q = trx.selectFrom('plans').selectAll().orderBy('id').limit(pageSize);
      if (after !== null) q = q.where('id', '>', after);
      const rows = await q.execute();
      if (rows.length > 0) await sink.plans(rows.map(decodePlan));
      if (rows.length < pageSize) break;
      after = (rows.at(-1) as { id: string }).id;
    }
  });
}
