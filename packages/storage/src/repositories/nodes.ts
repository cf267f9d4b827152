import type { Db } from '../store.js';

/** A node of the cluster as its last heartbeat left it. Times are epoch ms. */
export interface NodeHeartbeat {
  id: string;
  address: string;
  /** The last change-log sequence number the node has applied to its cache. */
  appliedSeq: number;
  startedAt: number;
  heartbeatAt: number;
}

/** Writes a node's heartbeat (a plain upsert, outside the mutation lock: heartbeats are telemetry). */
export async function writeNodeHeartbeat(db: Db, node: NodeHeartbeat): Promise<void> {
  await db
    .insertInto('cluster_nodes')
    .values({
      id: node.id,
      address: node.address,
      applied_seq: node.appliedSeq,
      started_at: node.startedAt,
      heartbeat_at: node.heartbeatAt,
    })
    .onConflict((oc) =>
      oc
        .column('id')
        .doUpdateSet({ address: node.address, applied_seq: node.appliedSeq, heartbeat_at: node.heartbeatAt }),
    )
    .execute();
}

/** Nodes whose last heartbeat is after `since`, by id. */
export async function listNodesHeardSince(db: Db, since: number): Promise<NodeHeartbeat[]> {
  const rows = await db
    .selectFrom('cluster_nodes')
    .selectAll()
    .where('heartbeat_at', '>', since)
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    address: r.address,
    appliedSeq: Number(r.applied_seq),
    startedAt: Number(r.started_at),
    heartbeatAt: Number(r.heartbeat_at),
  }));
}

/** Deletes the rows of nodes silent since before `before`. */
export async function forgetNodesSilentSince(db: Db, before: number): Promise<void> {
  await db.deleteFrom('cluster_nodes').where('heartbeat_at', '<', before).execute();
}

/** Deletes a node's row, so that nobody waits for it any more. */
export async function removeNode(db: Db, id: string): Promise<void> {
  await db.deleteFrom('cluster_nodes').where('id', '=', id).execute();
}
