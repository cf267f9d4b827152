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
 * in one transaction of its own (usage is metered outside the mutation lock), so `db` is the store's
 * handle, not a transaction. Give rows in one fixed order so that nodes writing at once cannot
 * deadlock each other.
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

/** A time range over minute buckets, epoch ms, `to` exclusive. */
export interface MinuteRange {
  from: number;
  to: number;
}

/** Verifications with one outcome code in one bucket of a usage series. */
export interface UsageBucketCount {
  /** Start of the bucket, epoch ms. */
  bucket: number;
  code: string;
  count: number;
}

/** SQL for the start of the `bucketMs`-long bucket holding a minute (a literal, so that it groups). */
function bucketOf(bucketMs: number) {
  return sql<number | string>`minute - (minute % ${sql.lit(bucketMs)})`;
}

/** Verification counts per bucket of `bucketMs` and code, of one key, one consumer or every key. */
export async function usageByBucket(
  db: Db,
  scope: { keyId?: string | undefined; consumerId?: string | undefined },
  range: MinuteRange,
  bucketMs: number,
): Promise<UsageBucketCount[]> {
  const bucket = bucketOf(bucketMs);
  let q = db
    .selectFrom('usage_minutes')
    .select((eb) => [bucket.as('bucket'), 'code', eb.fn.sum<number | string>('count').as('n')])
    .where('minute', '>=', range.from)
    .where('minute', '<', range.to);
  if (scope.keyId) q = q.where('key_id', '=', scope.keyId);
  if (scope.consumerId) q = q.where('consumer_id', '=', scope.consumerId);
  const rows = await q.groupBy([bucket, 'code']).execute();
  return rows.map((r) => ({ bucket: Number(r.bucket), code: r.code, count: Number(r.n) }));
}

/** Verification counts (every code) per key and bucket of `bucketMs`, of the keys `keyIds`. */
export async function usageByKeyAndBucket(
  db: Db,
  keyIds: readonly string[],
  range: MinuteRange,
  bucketMs: number,
): Promise<{ keyId: string; bucket: number; count: number }[]> {
  const bucket = bucketOf(bucketMs);
  const rows = await db
    .selectFrom('usage_minutes')
    .select((eb) => ['key_id', bucket.as('bucket'), eb.fn.sum<number | string>('count').as('n')])
    .where('key_id', 'in', keyIds)
    .where('minute', '>=', range.from)
    .where('minute', '<', range.to)
    .groupBy(['key_id', bucket])
    .execute();
  return rows.map((r) => ({ keyId: r.key_id, bucket: Number(r.bucket), count: Number(r.n) }));
}

/** Verification counts per consumer and code in a range, of the codes `codes`. */
export async function usageByConsumerAndCode(
  db: Db,
  range: MinuteRange,
  codes: readonly string[],
): Promise<{ consumerId: string; code: string; count: number }[]> {
  const rows = await db
    .selectFrom('usage_minutes')
    .select((eb) => ['consumer_id', 'code', eb.fn.sum<number | string>('count').as('n')])
    .where('minute', '>=', range.from)
    .where('minute', '<', range.to)
    .where('code', 'in', codes)
    .groupBy(['consumer_id', 'code'])
    .execute();
  return rows.map((r) => ({ consumerId: r.consumer_id, code: r.code, count: Number(r.n) }));
}

/** Verifications of one key with one code in a range, and the last minute they were seen in. */
export interface KeyCodeUsage {
  keyId: string;
  consumerId: string;
  code: string;
  count: number;
  /** Start of the last minute with such verifications, epoch ms. */
  lastMinute: number;
}

/**
 * Verification counts per key and code in a range, of the codes `codes`; with `limit`, only the
 * `limit` largest counts, largest first.
 */
export async function usageByKeyAndCode(
  db: Db,
  range: MinuteRange,
  codes: readonly string[],
  limit?: number,
): Promise<KeyCodeUsage[]> {
  const q = db
    .selectFrom('usage_minutes')
    .select((eb) => [
      'key_id',
      'consumer_id',
      'code',
      eb.fn.sum<number | string>('count').as('n'),
      eb.fn.max('minute').as('last'),
    ])
    .where('minute', '>=', range.from)
    .where('minute', '<', range.to)
    .where('code', 'in', codes)
    .groupBy(['key_id', 'consumer_id', 'code']);
  const rows = await (limit === undefined ? q : q.orderBy('n', 'desc').limit(limit)).execute();
  return rows.map((r) => ({
    keyId: r.key_id,
    consumerId: r.consumer_id,
    code: r.code,
    count: Number(r.n),
    lastMinute: Number(r.last),
  }));
}

/** Verifications of one key with one code from the minute `fromMinute` on. */
export async function countKeyUsageSince(db: Db, keyId: string, code: string, fromMinute: number): Promise<number> {
  const row = await db
    .selectFrom('usage_minutes')
    .select((eb) => eb.fn.sum<number | string | null>('count').as('n'))
    .where('key_id', '=', keyId)
    .where('minute', '>=', fromMinute)
    .where('code', '=', code)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** One consumer's verifications in one minute: all of them, and the failed ones (any code but `VALID`). */
export interface ConsumerMinute {
  consumerId: string;
  minute: number;
  total: number;
  failed: number;
}

/** Every consumer's total and failed verifications per minute in a range, oldest minute first. */
export async function failuresByConsumerMinute(db: Db, range: MinuteRange): Promise<ConsumerMinute[]> {
  const rows = await db
    .selectFrom('usage_minutes')
    .select((eb) => [
      'consumer_id',
      'minute',
      eb.fn.sum<number | string>('count').as('total'),
      eb.fn.sum<number | string>(sql`case when code = 'VALID' then 0 else count end`).as('failed'),
    ])
    .where('minute', '>=', range.from)
    .where('minute', '<', range.to)
    .groupBy(['consumer_id', 'minute'])
    .orderBy('minute')
    .execute();
  return rows.map((r) => ({
    consumerId: r.consumer_id,
    minute: Number(r.minute),
    total: Number(r.total),
    failed: Number(r.failed),
  }));
}
