import type { Kysely } from 'kysely';

/** Plans: a named rate limit and quota that consumers and keys inherit through their `plan_id`. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('plans')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('rate_limit', 'text')
    .addColumn('quota', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('consumers_plan_idx').on('consumers').column('plan_id').execute();
  await db.schema.createIndex('keys_plan_idx').on('keys').column('plan_id').execute();
}
