import type { LeakPoliciesTable } from '../schema.js';
import type { Db } from '../store.js';

/** The leak policy of a target (`default` or a consumer id), if any. */
export function leakPolicy(db: Db, target: string): Promise<LeakPoliciesTable | undefined> {
  return db.selectFrom('leak_policies').selectAll().where('target', '=', target).executeTakeFirst();
}

/** Every leak policy, by target. */
export function leakPolicies(db: Db): Promise<LeakPoliciesTable[]> {
  return db.selectFrom('leak_policies').selectAll().orderBy('target').execute();
}

/** Writes the policy of `row.target`, replacing the one it had (its creation time is kept). */
export async function putLeakPolicy(db: Db, row: LeakPoliciesTable): Promise<void> {
  await db
    .insertInto('leak_policies')
    .values(row)
    .onConflict((oc) =>
      oc.column('target').doUpdateSet({ action: row.action, grace_ms: row.grace_ms, updated_at: row.updated_at }),
    )
    .execute();
}

/** Removes the policy of a target; true when there was one. */
export async function deleteLeakPolicy(db: Db, target: string): Promise<boolean> {
  const res = await db.deleteFrom('leak_policies').where('target', '=', target).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}
