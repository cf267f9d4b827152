import type { ChangeKind } from '../change-kinds.js';
import type { Db } from '../store.js';

/** One entry of the change log (appended by every repository write, see `Tx.change`). */
export interface ChangeEntry {
  seq: number;
  /** Epoch ms. */
  at: number;
  /** What changed; a kind this version does not know (written by a newer node) is passed on as it is. */
  kind: ChangeKind;
  entityId: string;
  /** SHA-256 of the key concerned, when the change is about one key. */
  keyHash: string | null;
}

/** The sequence number of the newest change (0 for an empty log). */
export async function readChangeLogHead(db: Db): Promise<number> {
  const head = await db
    .selectFrom('changes')
    .select((eb) => eb.fn.max('seq').as('seq'))
    .executeTakeFirst();
  return Number(head?.seq ?? 0);
}

/** At most `limit` changes after sequence number `afterSeq`, in sequence order. */
export async function readChangesAfter(db: Db, afterSeq: number, limit: number): Promise<ChangeEntry[]> {
  const rows = await db
    .selectFrom('changes')
    .select(['seq', 'at', 'kind', 'entity_id', 'key_hash'])
    .where('seq', '>', afterSeq)
    .orderBy('seq')
    .limit(limit)
    .execute();
  return rows.map((row) => ({
    seq: Number(row.seq),
    at: Number(row.at),
    kind: row.kind,
    entityId: row.entity_id,
    keyHash: row.key_hash,
  }));
}

/** Whether the log keeps any change at or before sequence number `seq` (the retention job prunes a prefix). */
export async function hasChangesUpTo(db: Db, seq: number): Promise<boolean> {
  const kept = await db.selectFrom('changes').select('seq').where('seq', '<=', seq).limit(1).execute();
  return kept.length > 0;
}
