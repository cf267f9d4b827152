import { sql } from 'kysely';
import type { Db } from '../store.js';

/** Verifications of one key in one minute with one outcome, as an edge counted them. */
export interface EdgeUsageBucket {
  keyId: string;
  /** Epoch ms at the start of the minute. */
  minute: number;
  code: string;
  count: number;
}

/** One batch of an edge's usage: applied at most once, by `id`. */
export interface EdgeUsageBatch {
  id: string;
  buckets: EdgeUsageBucket[];
  /** The latest accepted use of each key (epoch ms). */
  lastUsed: { keyId: string; at: number }[];
}

/**
 * Adds an edge's usage counts and last-use times, once per batch id, in one transaction: a batch
 * sent again after a lost answer finds its id and changes nothing. Keys this store does not hold
 * are skipped; each count is filed under the key's own consumer, whatever the edge believed.
 * Returns false for a batch already applied.
 */
export function recordEdgeUsage(db: Db, batch: EdgeUsageBatch, now: number): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto('edge_usage_batches')
      .values({ id: batch.id, received_at: now })
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) return false;
    const ids = [...new Set([...batch.buckets.map((b) => b.keyId), ...batch.lastUsed.map((u) => u.keyId)])];
    if (ids.length === 0) return true;
    const owners = new Map(
      (await trx.selectFrom('keys').select(['id', 'consumer_id']).where('id', 'in', ids).execute()).map((k) => [
        k.id,
        k.consumer_id,
      ]),
    );
    for (const b of batch.buckets) {
      const consumerId = owners.get(b.keyId);
      if (consumerId === undefined) continue;
      await trx
        .insertInto('usage_minutes')
        .values({ key_id: b.keyId, consumer_id: consumerId, minute: b.minute, code: b.code, count: b.count })
        .onConflict((oc) =>
          oc.columns(['key_id', 'minute', 'code']).doUpdateSet({ count: sql`usage_minutes.count + ${b.count}` }),
        )
        .execute();
    }
    for (const u of batch.lastUsed) {
      if (!owners.has(u.keyId)) continue;
      await trx
        .updateTable('keys')
        .set({ last_used_at: u.at })
        .where('id', '=', u.keyId)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', u.at)]))
        .execute();
    }
    return true;
  });
}
