import type { Kysely } from 'kysely';
import type { MigrationContext } from './context.js';

/** Consumers, keys, the change log and the audit chain. */
export async function up(db: Kysely<unknown>, { seqColumn }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('consumers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text', (c) => c.unique())
    .addColumn('metadata', 'text', (c) => c.notNull())
    .addColumn('plan_id', 'text')
    .addColumn('rate_limit', 'text')
    .addColumn('quota', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('deleted_at', 'bigint')
    .execute();

  await db.schema
    .createTable('keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('consumer_id', 'text', (c) => c.notNull().references('consumers.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull().unique())
    .addColumn('hint', 'text', (c) => c.notNull())
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('predecessor_id', 'text')
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('metadata', 'text', (c) => c.notNull())
    .addColumn('allowed_ips', 'text')
    .addColumn('rate_limit', 'text')
    .addColumn('quota', 'text')
    .addColumn('plan_id', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint')
    .addColumn('retires_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .addColumn('revoke_reason', 'text')
    .addColumn('last_used_at', 'bigint')
    .execute();
  await db.schema.createIndex('keys_consumer_idx').on('keys').columns(['consumer_id', 'id']).execute();

  await db.schema
    .createTable('changes')
    .addColumn('seq', seqColumn.type, seqColumn.build)
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('entity_id', 'text', (c) => c.notNull())
    .addColumn('key_hash', 'text')
    .execute();

  await db.schema
    .createTable('audit_events')
    .addColumn('seq', seqColumn.type, seqColumn.build)
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target_type', 'text', (c) => c.notNull())
    .addColumn('target_id', 'text', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_target_idx').on('audit_events').columns(['target_id', 'seq']).execute();
}
