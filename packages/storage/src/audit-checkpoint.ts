import type { Kysely } from 'kysely';
import { type AuditKey, checkpointMac, macMatches } from './audit-mac.js';
import type { Database } from './schema.js';

/** A position of the chain that a verification found intact. */
export interface AuditCheckpoint {
  seq: number;
  hash: string;
  /** Events from the genesis through `seq`. */
  events: number;
}

/** How many of the newest checkpoints are tried: forged rows above them only cost a longer check. */
const CANDIDATES = 8;

/** The newest checkpoint whose MAC holds under `key`; `null` when there is none. */
export async function latestCheckpoint(db: Kysely<Database>, key: AuditKey): Promise<AuditCheckpoint | null> {
  const rows = await db.selectFrom('audit_checkpoints').selectAll().orderBy('seq', 'desc').limit(CANDIDATES).execute();
  const good = rows.find((r) => macMatches(r.mac, checkpointMac(key, r.seq, r.hash, r.events)));
  return good ? { seq: good.seq, hash: good.hash, events: good.events } : null;
}

/** Records a verified position and drops the older ones. Several nodes may record at once. */
export async function recordCheckpoint(
  db: Kysely<Database>,
  key: AuditKey,
  cp: AuditCheckpoint,
  at: number,
): Promise<void> {
  await db
    .insertInto('audit_checkpoints')
    .values({ ...cp, mac: checkpointMac(key, cp.seq, cp.hash, cp.events), verified_at: at })
    .onConflict((oc) => oc.column('seq').doNothing())
    .execute();
  await db.deleteFrom('audit_checkpoints').where('seq', '<', cp.seq).execute();
}
