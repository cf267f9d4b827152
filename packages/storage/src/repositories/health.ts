import { sql } from 'kysely';
import type { Db } from '../store.js';

/** True when the database answers a trivial query. */
export function databaseAnswers(db: Db): Promise<boolean> {
  return sql`select 1`.execute(db).then(
    () => true,
    () => false,
  );
}
