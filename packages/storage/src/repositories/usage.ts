import { sql } from 'kysely';
import type { Db } from '../store.js';

/** Verifications of one key in one minute bucket with one outcome code. */
export interface UsageCount {
  keyId: string;
  consumerId: string;
  /** Start of the minute, epoch ms. */
  minute: number;
  code: string;
  count: number;
}

/**
 * Adds verification counts to `usage_minutes` and moves keys' `last_used_at` forward (never back),
 * in one transaction of its own (usage is metered outside the mutation lock). Give rows in one fixed
 * order so that nodes writing at once cannot deadlock each other.
 */
export async function recordUsage(
  db: Db,
  counts: readonly UsageCount[],
  lastUsed: readonly (readonly [keyId: string, at: number])[],
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (const c of counts) {
      await trx
        .insertInto('usage_minutes')
        .values({ key_id: c.keyId, consumer_id: c.consumerId, minute: c.minute, code: c.code, count: c.count })
        .onConflict((oc) =>
          oc.columns(['key_id', 'minute', 'code']).doUpdateSet({ count: sql`usage_minutes.count + ${c.count}` }),
        )
        .execute();
    }
    for (const [keyId, at] of lastUsed) {
      await trx
        .updateTable('keys')
        .set({ last_used_at: at })
        .where('id', '=', keyId)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)]))
        .execute();
    }
  });
}
