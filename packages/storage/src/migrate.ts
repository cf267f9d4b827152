import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';
import type { DialectName } from './dialect.js';
import { migrationContext } from './migrations/context.js';
import { MIGRATIONS } from './migrations/index.js';
import type { Database } from './schema.js';

/** Applies every pending migration; safe to call from several nodes at once (Kysely locks). */
export async function migrateToLatest(db: Kysely<Database>, dialect: DialectName): Promise<void> {
  const ctx = migrationContext(dialect);
  const provider: MigrationProvider = {
    getMigrations: async () =>
      Object.fromEntries(
        Object.entries(MIGRATIONS).map(([name, m]): [string, Migration] => [name, { up: (d) => m.up(d, ctx) }]),
      ),
  };
  const { error, results } = await new Migrator({
    db,
    provider,
    migrationTableName: 'keyroll_migrations',
  }).migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${String(error)}`, { cause: error });
  }
}
