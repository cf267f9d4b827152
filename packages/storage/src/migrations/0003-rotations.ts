import { type Kysely, sql } from 'kysely';

/**
 * Rotations, rotation policies, the reminders already sent and the scheduler's lease. No table holds
 * a secret: a server-initiated rotation creates its successor only when the old key's holder claims it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('rotations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('consumer_id', 'text', (c) => c.notNull())
    .addColumn('old_key_id', 'text', (c) => c.notNull())
    .addColumn('new_key_id', 'text')
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('origin', 'text', (c) => c.notNull())
    .addColumn('policy_id', 'text')
    .addColumn('retire', 'text', (c) => c.notNull())
    .addColumn('grace_ms', 'bigint', (c) => c.notNull())
    .addColumn('on_reuse', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('deadline_at', 'bigint', (c) => c.notNull())
    .addColumn('claimed_at', 'bigint')
    .addColumn('first_used_at', 'bigint')
    .addColumn('extensions', 'text', (c) => c.notNull())
    .addColumn('ended_at', 'bigint')
    .addColumn('end_reason', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('rotations_state_idx').on('rotations').columns(['state', 'deadline_at']).execute();
  await db.schema.createIndex('rotations_consumer_idx').on('rotations').columns(['consumer_id', 'id']).execute();
  // At most one rolling rotation per old key, whatever the application does.
  await db.schema
    .createIndex('rotations_rolling_old_key_uq')
    .on('rotations')
    .column('old_key_id')
    .unique()
    .where(sql.ref('state'), '=', 'rolling')
    .execute();

  await db.schema
    .createTable('rotation_policies')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // `default`, or the consumer the policy belongs to: one policy each.
    .addColumn('target', 'text', (c) => c.notNull().unique())
    .addColumn('consumer_id', 'text')
    .addColumn('every_ms', 'bigint', (c) => c.notNull())
    .addColumn('grace_ms', 'bigint', (c) => c.notNull())
    .addColumn('retire', 'text', (c) => c.notNull())
    .addColumn('notify_before_ms', 'bigint')
    .addColumn('on_reuse', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('rotation_reminders')
    .addColumn('key_id', 'text', (c) => c.primaryKey())
    .addColumn('due_at', 'bigint', (c) => c.notNull())
    .addColumn('sent_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('scheduler_leases')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
}
