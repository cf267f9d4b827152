import type { Kysely } from 'kysely';

/**
 * Edge verifiers connected to a node's change stream: an edge is live (and holds back change-log
 * retention) while it was heard from within its own staleness bound.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('edge_nodes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('sent_seq', 'bigint', (c) => c.notNull())
    .addColumn('max_staleness_ms', 'bigint', (c) => c.notNull())
    .addColumn('connected_at', 'bigint', (c) => c.notNull())
    .addColumn('heard_at', 'bigint', (c) => c.notNull())
    .execute();
}
