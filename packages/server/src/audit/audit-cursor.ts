import { ApiError, sha256Hex } from '@keyroll/core';
import { decodeCursor } from '@keyroll/storage';

/** The order of an audit listing: oldest first (`asc`) or newest first (`desc`). */
export type AuditOrder = 'asc' | 'desc';

/** What an audit listing's cursor is bound to: its order and a digest of its filters. */
export interface AuditListing {
  order: AuditOrder;
  /** The listing's filters, in a fixed order (`undefined` for a filter not given). */
  filters: readonly (string | number | undefined)[];
}

function digest(listing: AuditListing): string {
  return sha256Hex(JSON.stringify([listing.order, ...listing.filters.map((f) => f ?? null)])).slice(0, 16);
}

/** The sort key (before encoding as a cursor) of the page after the event `seq` of this listing. */
export function auditCursorKey(listing: AuditListing, seq: number): string {
  return `${listing.order}.${digest(listing)}.${seq}`;
}

/**
 * The sequence number a cursor continues after, or `undefined` for the first page. 400
 * INVALID_CURSOR when the cursor is not an audit cursor, or was issued for another order or filter
 * (continuing it would skip or repeat events).
 */
export function auditCursorSeq(listing: AuditListing, cursor: string | undefined): number | undefined {
  const after = decodeCursor(cursor);
  if (after === undefined) return undefined;
  const m = /^(asc|desc)\.([0-9a-f]{16})\.(\d{1,15})$/.exec(after);
  if (!m) throw new ApiError('INVALID_CURSOR', 'cursor is not valid');
  if (m[1] !== listing.order || m[2] !== digest(listing)) {
    throw new ApiError(
      'INVALID_CURSOR',
      `cursor belongs to a listing with another order or other filters (it was issued for order=${m[1]}): ` +
        'pass the same order and filters as the first page, or start again without cursor',
    );
  }
  return Number(m[3]);
}
