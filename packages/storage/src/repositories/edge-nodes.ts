import { sql } from 'kysely';
import type { Db } from '../store.js';

/** An edge verifier as its change stream last left it. Times are epoch ms. */
export interface EdgeHeartbeat {
  id: string;
  address: string;
  /** The last change sequence sent to the edge. */
  sentSeq: number;
  /** The edge's stated staleness bound: it is live while heard from within it. */
  maxStalenessMs: number;
  connectedAt: number;
  heardAt: number;
}

/** Records that a node sent an edge something (a plain upsert, outside the mutation lock: telemetry). */
export async function writeEdgeHeartbeat(db: Db, edge: EdgeHeartbeat): Promise<void> {
  await db
    .insertInto('edge_nodes')
    .values({
      id: edge.id,
      address: edge.address,
      sent_seq: edge.sentSeq,
      max_staleness_ms: edge.maxStalenessMs,
      connected_at: edge.connectedAt,
      heard_at: edge.heardAt,
    })
    .onConflict((oc) =>
      oc.column('id').doUpdateSet({
        address: edge.address,
        sent_seq: edge.sentSeq,
        max_staleness_ms: edge.maxStalenessMs,
        connected_at: edge.connectedAt,
        heard_at: edge.heardAt,
      }),
    )
    .execute();
}

/** Edges heard from within their own staleness bound as of `now`, by id. */
export async function listLiveEdges(db: Db, now: number): Promise<EdgeHeartbeat[]> {
  const rows = await db
    .selectFrom('edge_nodes')
    .selectAll()
    .where(sql<number>`heard_at + max_staleness_ms`, '>=', now)
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    address: r.address,
    sentSeq: Number(r.sent_seq),
    maxStalenessMs: Number(r.max_staleness_ms),
    connectedAt: Number(r.connected_at),
    heardAt: Number(r.heard_at),
  }));
}

/** Deletes the rows of edges silent since before `before`. */
export async function forgetEdgesSilentSince(db: Db, before: number): Promise<void> {
  await db.deleteFrom('edge_nodes').where('heard_at', '<', before).execute();
}
