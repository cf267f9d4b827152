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
