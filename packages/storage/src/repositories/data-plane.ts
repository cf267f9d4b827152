import type { Db } from '../store.js';
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

/** Where {@link streamDataPlaneSnapshot} hands what it reads, page by page; each call is awaited (back-pressure). */
export interface DataPlaneSnapshotSink {
  /** The change sequence the rows are read at; called first, before any row. */
  head(seq: number): Promise<void> | void;
  keys(page: KeyRecord[]): Promise<void> | void;
  consumers(page: ConsumerRecord[]): Promise<void> | void;
  plans(page: PlanRecord[]): Promise<void> | void;
}

/** Rows read per query of {@link streamDataPlaneSnapshot} by default. */
export const SNAPSHOT_PAGE_SIZE = 2000;

/**
 * {@link readDataPlaneSnapshot} without holding every row at once: inside the same one consistent
 * read (a `repeatable read` transaction on PostgreSQL; one transaction on SQLite's one connection,
 * which other queries of the store wait for until it ends), reads the head, then keys, live
 * consumers and plans in pages of `pageSize` rows ordered by id (keyset: `id > last`), handing each
 * page to the sink and awaiting it before reading the next.
 */
export function streamDataPlaneSnapshot(
  db: Db,
  sink: DataPlaneSnapshotSink,
  pageSize: number = SNAPSHOT_PAGE_SIZE,
): Promise<void> {
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw new RangeError('pageSize must be a positive integer');
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      await sink.head(await readChangeLogHead(trx));
      for (let after: string | null = null; ; ) {
        let q = trx.selectFrom('keys').selectAll().orderBy('id').limit(pageSize);
        if (after !== null) q = q.where('id', '>', after);
        const rows = await q.execute();
        if (rows.length > 0) await sink.keys(rows.map(decodeKey));
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
