import type { Kysely } from 'kysely';
import { auditHash, GENESIS_HASH } from './append.js';
import type { Database } from './schema.js';

/** Result of walking the audit chain end to end. */
export interface AuditChainReport {
  ok: boolean;
  events: number;
  head: string;
  /** The first event whose hash or link does not hold. */
  brokenAt?: { seq: number; id: string; reason: 'hash_mismatch' | 'link_mismatch' };
}

/** Re-computes every link of the audit chain, in pages, and reports the first broken one. */
export async function verifyAuditChain(db: Kysely<Database>, pageSize = 1000): Promise<AuditChainReport> {
  let prev = GENESIS_HASH;
  let after = 0;
  let events = 0;
  for (;;) {
    const rows = await db
      .selectFrom('audit_events')
      .selectAll()
      .where('seq', '>', after)
      .orderBy('seq')
      .limit(pageSize)
      .execute();
    for (const row of rows) {
      if (row.prev_hash !== prev) return broken(row, 'link_mismatch', events, prev);
      if (auditHash(row) !== row.hash) return broken(row, 'hash_mismatch', events, prev);
      prev = row.hash;
      after = row.seq;
      events++;
    }
    if (rows.length < pageSize) return { ok: true, events, head: prev };
  }
}

function broken(
  row: { seq: number; id: string },
  reason: 'hash_mismatch' | 'link_mismatch',
  events: number,
  head: string,
): AuditChainReport {
  return { ok: false, events, head, brokenAt: { seq: row.seq, id: row.id, reason } };
}
