import type { Kysely } from 'kysely';

/**
 * Leak response: per-consumer (and default) leak policies, and incidents — one per leaked key, so
 * that a report seen twice (GitHub retries, two scanners) changes nothing the second time.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('leak_policies')
    .addColumn('target', 'text', (c) => c.primaryKey())
    .addColumn('consumer_id', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('grace_ms', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('incidents')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('key_id', 'text', (c) => c.notNull().unique())
    .addColumn('consumer_id', 'text', (c) => c.notNull())
    .addColumn('key_hint', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('url', 'text')
    .addColumn('reported_by', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('grace_ms', 'bigint', (c) => c.notNull())
    .addColumn('rotation_id', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('reported_at', 'bigint', (c) => c.notNull())
    .addColumn('contained_at', 'bigint')
    .addColumn('revokes_at', 'bigint')
    .addColumn('successor_claimed_at', 'bigint')
    .addColumn('reuse_detected_at', 'bigint')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('incidents_consumer_idx').on('incidents').column('consumer_id').execute();
  await db.schema.createIndex('incidents_status_idx').on('incidents').column('status').execute();
}
