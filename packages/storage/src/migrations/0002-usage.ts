import type { Kysely } from 'kysely';

/** Usage counts per key, minute and verification outcome. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('usage_minutes')
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('consumer_id', 'text', (c) => c.notNull())
    .addColumn('minute', 'bigint', (c) => c.notNull())
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('count', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('usage_minutes_pk', ['key_id', 'minute', 'code'])
    .execute();
  await db.schema.createIndex('usage_consumer_idx').on('usage_minutes').columns(['consumer_id', 'minute']).execute();
}
