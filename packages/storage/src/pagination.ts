import { ApiError } from '@keyroll/core';
import { type SelectQueryBuilder, sql } from 'kysely';

/** A page request: at most `limit` items after the opaque `cursor`. */
export interface PageRequest {
  limit?: number | undefined;
  cursor?: string | undefined;
}

/** A page of results and the cursor of the next one (`null` at the end). */
export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

/** Default and largest page sizes. */
export const PAGE_LIMITS = { default: 20, max: 100 } as const;

/** Decodes a cursor into the sort key it carries; 400 INVALID_CURSOR when it was not ours. Empty means the first page. */
export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!decoded.startsWith('c1:') || decoded.length > 200) throw new ApiError('INVALID_CURSOR', 'cursor is not valid');
  return decoded.slice(3);
}

/** Encodes a sort key as an opaque cursor. */
export function encodeCursor(after: string): string {
  return Buffer.from(`c1:${after}`, 'utf8').toString('base64url');
}

/** The page size to fetch: the request's limit, bounded. */
export function pageSize(req: PageRequest): number {
  return Math.min(Math.max(req.limit ?? PAGE_LIMITS.default, 1), PAGE_LIMITS.max);
}

/** Turns `size + 1` fetched rows into a page, using `sortKey` of the last row as the next cursor. */
export function toPage<R, T>(rows: R[], size: number, sortKey: (row: R) => string, view: (row: R) => T): Page<T> {
  const more = rows.length > size;
  const kept = more ? rows.slice(0, size) : rows;
  const last = kept[kept.length - 1];
  return { data: kept.map(view), nextCursor: more && last !== undefined ? encodeCursor(sortKey(last)) : null };
}

/** Fetches one page of a single-table query in `id` order (ids sort by creation: oldest first). */
export async function pageById<DB, TB extends keyof DB, O extends { id: string }, T>(
  query: SelectQueryBuilder<DB, TB, O>,
  page: PageRequest,
  view: (row: O) => T,
): Promise<Page<T>> {
  const size = pageSize(page);
  const after = decodeCursor(page.cursor);
  const rows = await (after === undefined ? query : query.where(sql<boolean>`id > ${after}`))
    .orderBy(sql`id`)
    .limit(size + 1)
    .execute();
  return toPage(rows, size, (r) => r.id, view);
}
