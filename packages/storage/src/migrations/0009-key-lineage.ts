import { type Kysely, sql } from 'kysely';

/**
 * Gives every key the id of its lineage (the first key of a rotation chain), so that rate limits
 * and quotas count a key and its successors together. Existing keys are filled in one generation
 * per pass, following `predecessor_id` from the chains' first keys.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('keys').addColumn('lineage_id', 'text').execute();
  await sql`update keys set lineage_id = id where predecessor_id is null`.execute(db);
  for (;;) {
    const pass = await sql`
      update keys set lineage_id = (select p.lineage_id from keys p where p.id = keys.predecessor_id)
      where lineage_id is null
        and predecessor_id in (select id from keys where lineage_id is not null)`.execute(db);
    if (!pass.numAffectedRows) break;
  }
  // A key whose predecessor row is gone starts a lineage of its own.
  await sql`update keys set lineage_id = id where lineage_id is null`.execute(db);
}
