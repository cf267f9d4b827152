import type { Db } from '../store.js';

/** One exported usage row: a key's verifications with one outcome code in one minute. */
export interface UsageExportRow {
  /** Start of the minute, epoch ms. */
  minute: number;
  consumerId: string;
  /** `null` when the consumer is no longer stored. */
  consumerName: string | null;
  keyId: string;
  /** `null` when the key is no longer stored. */
  keyName: string | null;
  code: string;
  count: number;
}

/** Where a page of the export resumes: after this row's sort key (minute, key id, code). */
export type UsageExportPosition = Pick<UsageExportRow, 'minute' | 'keyId' | 'code'>;

/** The minutes to export: `from` inclusive, `to` exclusive, epoch ms (a row counts by its minute's start). */
export interface UsageExportRange {
  from: number;
  to: number;
}

/** Rows per page when none is given. */
const USAGE_EXPORT_PAGE_SIZE = 1000;

/**
 * One page of usage rows in the range, ordered by minute, key id and code, after `after` (keyset
 * paging on the primary key's columns: each page is one indexed range read, however deep).
 */
export async function usageExportPage(
  db: Db,
  range: UsageExportRange,
  after: UsageExportPosition | undefined,
  limit: number,
): Promise<UsageExportRow[]> {
  let query = db
    .selectFrom('usage_minutes as u')
    .leftJoin('keys as k', 'k.id', 'u.key_id')
    .leftJoin('consumers as c', 'c.id', 'u.consumer_id')
    .select([
      'u.minute',
      'u.key_id',
      'u.consumer_id',
      'u.code',
      'u.count',
      'k.name as key_name',
      'c.name as consumer_name',
    ])
    .where('u.minute', '>=', range.from)
    .where('u.minute', '<', range.to);
  if (after) {
    query = query.where((eb) =>
      eb(eb.refTuple('u.minute', 'u.key_id', 'u.code'), '>', eb.tuple(after.minute, after.keyId, after.code)),
    );
  }
  const rows = await query.orderBy('u.minute').orderBy('u.key_id').orderBy('u.code').limit(limit).execute();
  return rows.map((r) => ({
    minute: Number(r.minute),
    consumerId: r.consumer_id,
    consumerName: r.consumer_name,
    keyId: r.key_id,
    keyName: r.key_name,
    code: r.code,
    count: Number(r.count),
  }));
}

/** Every usage row in the range, in export order, read page by page (`pageSize` rows per query). */
export async function* usageExportRows(
  db: Db,
  range: UsageExportRange,
  pageSize = USAGE_EXPORT_PAGE_SIZE,
): AsyncGenerator<UsageExportRow> {
  let after: UsageExportPosition | undefined;
  for (;;) {
    const page = await usageExportPage(db, range, after, pageSize);
    yield* page;
    const last = page[page.length - 1];
    if (page.length < pageSize || last === undefined) return;
    after = { minute: last.minute, keyId: last.keyId, code: last.code };
  }
}
