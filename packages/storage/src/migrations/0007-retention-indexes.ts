import type { Kysely } from 'kysely';

/** Lets the retention job find old usage buckets without scanning the table. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('usage_minute_idx').on('usage_minutes').column('minute').execute();
}
