import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

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

const PRE_START = 'rotation.pre_start:';

/** The `monitoring_state` name of the requests an old key served in its rotation's first minute before the start. */
function preStartName(oldKeyId: string, startedAt: number): string {
  return `${PRE_START}${oldKeyId}@${startedAt}`;
}

/**
 * Requests the old key of a rotation served in the minute of the rotation's start but before it,
 * summed over every node that reported them (0 when none did).
 */
export async function requestsBeforeStart(db: Kysely<Database>, oldKeyId: string, startedAt: number): Promise<number> {
  return (await readState<number>(db, preStartName(oldKeyId, startedAt))) ?? 0;
}

/** Adds one node's report to {@link requestsBeforeStart}'s total; call inside a mutation. */
export async function addRequestsBeforeStart(
  db: Kysely<Database>,
  report: { oldKeyId: string; startedAt: number; requests: number },
  now: number,
): Promise<void> {
  const name = preStartName(report.oldKeyId, report.startedAt);
  await writeState(db, name, ((await readState<number>(db, name)) ?? 0) + report.requests, now);
}

/** Deletes the totals of {@link requestsBeforeStart} last written before `before`. */
export async function prunePreStartTotals(db: Kysely<Database>, before: number): Promise<void> {
  await db
    .deleteFrom('monitoring_state')
    .where('name', 'like', `${PRE_START}%`)
    .where('updated_at', '<', before)
    .execute();
}
