import type { Kysely } from 'kysely';
import { auditHash, GENESIS_HASH } from './append.js';
import { type AuditCheckpoint, latestCheckpoint, recordCheckpoint } from './audit-checkpoint.js';
import { readAuditHead, type SealedHead } from './audit-head.js';
import type { AuditKey } from './audit-mac.js';
import type { Database } from './schema.js';

/** Why a chain check failed. */
export type AuditFailure =
  | 'hash_mismatch'
  | 'link_mismatch'
  | 'checkpoint_mismatch'
  | 'truncated'
  | 'head_mismatch'
  | 'head_missing'
  | 'head_unverifiable'
  | 'head_alarm'
  | 'head_rolled_back';

/** Result of a chain check. */
export interface AuditChainReport {
  ok: boolean;
  /** Events in the chain, from the genesis through the last one checked. */
  events: number;
  /** Hash of the last event checked. */
  head: string;
  /** The first event whose hash or link does not hold. */
  brokenAt?: { seq: number; id: string; reason: 'hash_mismatch' | 'link_mismatch' | 'checkpoint_mismatch' };
  /** Why the check failed, and in words. */
  reason?: AuditFailure;
  detail?: string;
  /** Events missing at the end of the chain: those after `after` through the sealed head `through`. */
  missing?: { after: number; through: number };
  /** Events re-hashed by this check. */
  checked: number;
  /** Sequence number after which this check started hashing (0: the genesis). */
  from: number;
  /** Whether this check started at the genesis rather than at a checkpoint. */
  full: boolean;
  /** Sequence number of the sealed head, when a key was given and a head exists. */
  sealedSeq?: number;
}

/** Options of {@link verifyAuditChain}. */
export interface VerifyAuditOptions {
  /** Checks the sealed head and uses checkpoints; without it, only the links are walked from the genesis. */
  key?: AuditKey;
  /** Ignores checkpoints and re-hashes every event. */
  full?: boolean;
  /** Events hashed between two pauses (default 500). */
  sliceSize?: number;
  /** Runs between two slices so that other work is served (default: the next turn of the event loop). */
  pause?: () => Promise<void>;
  /** Told after each slice how many events it hashed. */
  onSlice?: (hashed: number) => void;
  /** The highest head sequence number this node has seen: a lower head was rolled back. */
  minHeadSeq?: number;
  /** Epoch ms stamped on a new checkpoint. */
  now?: number;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Re-computes the links of the audit chain in slices that yield between them. With a key, starts
 * at the newest keyed checkpoint (unless `full`), checks that the chain still reaches the sealed
 * head, and records a new checkpoint when everything holds.
 */
export async function verifyAuditChain(
  db: Kysely<Database>,
  options: VerifyAuditOptions = {},
): Promise<AuditChainReport> {
  const { key, sliceSize = 500, pause = nextTurn } = options;
  // The head is read before the walk: events appended meanwhile lie beyond it, never before it.
  const head = key ? await readAuditHead(db, key) : null;
  const start = key && !options.full ? await latestCheckpoint(db, key) : null;
  const from: AuditCheckpoint = start ?? { seq: 0, hash: GENESIS_HASH, events: 0 };
  const base = { from: from.seq, full: start === null, ...(head && { sealedSeq: head.seq }) };
  if (start) {
    const row = await db.selectFrom('audit_events').selectAll().where('seq', '=', start.seq).executeTakeFirst();
    if (!row) {
      const tail = await db.selectFrom('audit_events').select('seq').orderBy('seq', 'desc').limit(1).executeTakeFirst();
      const after = tail?.seq ?? 0;
      if (after < start.seq) {
        const through = Math.max(start.seq, head?.seq ?? 0);
        const detail = `the chain ends at #${after} but #${through} was seen before: the events after #${after} through #${through} are missing`;
        const missing = { after, through };
        return { ok: false, events: 0, head: '', checked: 0, ...base, reason: 'truncated', detail, missing };
      }
    }
    if (!row || row.hash !== start.hash || auditHash(row) !== row.hash) {
      const detail = `event #${start.seq} is not the one a previous check verified: the chain was rewritten or cut at or before it (run a full check to find where)`;
      return {
        ok: false,
        events: start.events,
        head: start.hash,
        checked: 0,
        ...base,
        reason: 'checkpoint_mismatch',
        detail,
        ...(row && { brokenAt: { seq: row.seq, id: row.id, reason: 'checkpoint_mismatch' as const } }),
      };
    }
  }
  let prev = from.hash;
  let last = from.seq;
  let events = from.events;
  let checked = 0;
  let hashAtHead: string | undefined;
  for (;;) {
    const rows = await db
      .selectFrom('audit_events')
      .selectAll()
      .where('seq', '>', last)
      .orderBy('seq')
      .limit(sliceSize)
      .execute();
    for (const row of rows) {
      const reason: 'link_mismatch' | 'hash_mismatch' | null =
        row.prev_hash !== prev ? 'link_mismatch' : auditHash(row) !== row.hash ? 'hash_mismatch' : null;
      if (reason) {
        const detail = `event #${row.seq} (${row.id}): ${reason === 'link_mismatch' ? 'its link does not name the event before it (an event was removed or inserted)' : 'its content does not match its hash (altered)'}`;
        const brokenAt = { seq: row.seq, id: row.id, reason };
        return { ok: false, events, head: prev, checked, ...base, brokenAt, reason, detail };
      }
      if (row.seq === head?.seq) hashAtHead = row.hash;
      prev = row.hash;
      last = row.seq;
      events++;
    }
    checked += rows.length;
    options.onSlice?.(rows.length);
    if (rows.length < sliceSize) break;
    await pause();
  }
  const report: AuditChainReport = { ok: true, events, head: prev, checked, ...base };
  if (!key) return report;
  const failure = await headFailure(db, head, { last, events, start: from.seq, hashAtHead, min: options.minHeadSeq });
  if (failure) return { ...report, ok: false, ...failure };
  if (last > from.seq) await recordCheckpoint(db, key, { seq: last, hash: prev, events }, options.now ?? Date.now());
  return report;
}

interface WalkEnd {
  last: number;
  events: number;
  start: number;
  hashAtHead: string | undefined;
  min: number | undefined;
}

/** Whether the walked chain still reaches the sealed head; the failure when not. */
async function headFailure(
  db: Kysely<Database>,
  head: SealedHead | null,
  end: WalkEnd,
): Promise<Pick<AuditChainReport, 'reason' | 'detail' | 'missing'> | null> {
  if (!head) {
    if (end.events === 0) return null;
    return { reason: 'head_missing', detail: 'the chain has events but no sealed head (the head row was deleted)' };
  }
  if (!head.valid) {
    const detail =
      'the sealed head was not written with this node’s audit key: forged, or the nodes do not share KEYROLL_AUDIT_KEY';
    return { reason: 'head_unverifiable', detail };
  }
  if (head.alarm) return { reason: 'head_alarm', detail: head.alarm };
  if ((end.min !== undefined && head.seq < end.min) || head.seq < end.start) {
    const seen = Math.max(end.min ?? 0, end.start);
    return {
      reason: 'head_rolled_back',
      detail: `the sealed head (#${head.seq}) is older than one already seen (#${seen}): it was replaced by an earlier copy`,
    };
  }
  if (end.last < head.seq) {
    return {
      reason: 'truncated',
      detail: `the chain ends at #${end.last} but the sealed head is #${head.seq}: the events after #${end.last} through #${head.seq} are missing`,
      missing: { after: end.last, through: head.seq },
    };
  }
  const atHead =
    end.hashAtHead ??
    (await db.selectFrom('audit_events').select('hash').where('seq', '=', head.seq).executeTakeFirst())?.hash;
  if (atHead === head.hash) return null;
  return {
    reason: 'head_mismatch',
    detail: `event #${head.seq} is not the one the sealed head names: the end of the chain was rewritten`,
  };
}
