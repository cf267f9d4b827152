import type { Database } from '@keyroll/storage';
import type { Kysely } from 'kysely';

/** Reads a named monitoring value (a cursor, a baseline); `undefined` when never written. */
export async function readState<T>(db: Kysely<Database>, name: string): Promise<T | undefined> {
  const row = await db.selectFrom('monitoring_state').select('value').where('name', '=', name).executeTakeFirst();
  return row ? JSON.parse(row.value) : undefined;
}

/** Writes a named monitoring value; call inside a mutation. */
export async function writeState(db: Kysely<Database>, name: string, value: unknown, now: number): Promise<void> {
  const json = JSON.stringify(value);
  await db
    .insertInto('monitoring_state')
    .values({ name, value: json, updated_at: now })
    .onConflict((oc) => oc.column('name').doUpdateSet({ value: json, updated_at: now }))
    .execute();
}
