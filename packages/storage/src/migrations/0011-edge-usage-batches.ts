import type { Kysely } from 'kysely';

/** Usage batches received from edge verifiers, by id: a batch sent again (a retry) is counted once. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('edge_usage_batches')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('edge_usage_batches_received_idx')
    .on('edge_usage_batches')
    .column('received_at')
    .execute();
}
