import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { appendAudit, appendChange } from './append.js';
import type { DialectName } from './dialect.js';
import { ensurePrivateDir, ensurePrivateFile, tightenIfPresent } from './private-files.js';
import { foldCase, SQLITE_FOLD_FUNCTION } from './repositories/text-search.js';
import type { Database } from './schema.js';
import type { Store, Tx } from './store.js';

/** Where the data lives: a PostgreSQL URL, or else an SQLite file in the data directory. */
export interface StoreOptions {
  databaseUrl?: string | undefined;
  dataDir: string;
  /** PostgreSQL pool size. */
  poolSize?: number;
}

/** Arbitrary constant that names keyroll's mutation lock in `pg_advisory_xact_lock`. */
const PG_MUTATION_LOCK = 7_070_001;

/** Opens the database named by the options; does not migrate (see {@link migrateToLatest}). */
export function createStore(options: StoreOptions): Store {
  const url = options.databaseUrl;
  if (url && /^postgres(ql)?:\/\//.test(url)) return postgresStore(url, options.poolSize ?? 10);
  if (url && !url.startsWith('sqlite:')) throw new Error('KEYROLL_DATABASE_URL must start with postgres:// or sqlite:');
  const file = url ? url.slice('sqlite:'.length) : join(options.dataDir, 'keyroll.db');
  if (!url) ensurePrivateDir(options.dataDir);
  return sqliteStore(file);
}

function sqliteStore(file: string): Store {
  // The file holds webhook secrets. SQLite gives its -wal and -shm files the mode of the database
  // file, so making that 0600 before the first open covers all three; existing ones are tightened.
  const onDisk = file !== '' && file !== ':memory:';
  if (onDisk) ensurePrivateFile(file);
  const database = new SQLite(file);
  database.pragma('journal_mode = WAL');
  if (onDisk) for (const suffix of ['-wal', '-shm']) tightenIfPresent(`${file}${suffix}`);
  database.pragma('busy_timeout = 5000');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  registerFunctions(database);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  return {
    db,
    dialect: 'sqlite',
    // BEGIN IMMEDIATE takes the write lock up front, so that several processes on one file queue
    // instead of failing on a read-to-write upgrade.
    mutate: (fn) =>
      db.connection().execute(async (conn) => {
        await sql`begin immediate`.execute(conn);
        try {
          const result = await fn(makeTx(conn, 'sqlite'));
          await sql`commit`.execute(conn);
          return result;
        } catch (e) {
          await sql`rollback`.execute(conn);
          throw e;
        }
      }),
    readConsistently: (fn) => (onDisk ? readOnOwnConnection(file, fn) : db.transaction().execute(fn)),
    close: () => db.destroy(),
  };
}

/**
 * The SQL functions keyroll's queries call on SQLite, registered on each connection (they live
 * per connection): {@link SQLITE_FOLD_FUNCTION}, case folding beyond A–Z for the searches.
 */
function registerFunctions(database: SQLite.Database): void {
  database.function(SQLITE_FOLD_FUNCTION, { deterministic: true }, (value: unknown) =>
    typeof value === 'string' ? foldCase(value) : value,
  );
}

/** Runs `fn` in a read transaction on a read-only connection to `file` of its own, closed when `fn` settles. */
async function readOnOwnConnection<T>(file: string, fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  const database = new SQLite(file, { readonly: true, fileMustExist: true });
  const reader = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  try {
    database.pragma('busy_timeout = 5000');
    registerFunctions(database);
    return await reader.transaction().execute(fn);
  } finally {
    await reader.destroy();
  }
}

function postgresStore(url: string, max: number): Store {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    // bigint columns hold epoch milliseconds and sequence numbers, all well inside 2^53.
    types: { getTypeParser: (oid, format) => (oid === 20 ? Number : pg.types.getTypeParser(oid, format)) },
  });
  // An idle connection that the server drops (restart, failover, outage) is reported here; without
  // a listener the pool would throw it as an uncaught exception. The next query reconnects.
  pool.on('error', () => undefined);
  // The pool listens only to idle connections: one dropped while checked out (inside a mutation,
  // between two queries) would crash the process. Its query fails instead; the pool discards it.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    dialect: 'postgres',
    // One cluster-wide lock per mutation: change-log sequence numbers then commit in order, so a
    // follower reading "everything after seq N" never skips a row that commits late. BEGIN and the
    // lock go in one round trip: one simple-protocol query (no parameters) of two statements.
    mutate: (fn) =>
      db.connection().execute(async (conn) => {
        try {
          await sql.raw(`begin; select pg_advisory_xact_lock(${PG_MUTATION_LOCK})`).execute(conn);
          const result = await fn(makeTx(conn, 'postgres'));
          await commitPostgres(conn);
          return result;
        } catch (e) {
          // Also after a failed BEGIN or COMMIT (a no-op then). A connection that broke is dropped
          // by the pool; the mutation's own error is the one to report.
          await sql`rollback`.execute(conn).catch(() => undefined);
          throw e;
        }
      }),
    readConsistently: (fn) =>
      db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(fn),
    close: () => db.destroy(),
  };
}

/**
 * COMMITs the connection's transaction. PostgreSQL answers a COMMIT of a transaction that an earlier
 * statement error left aborted with a ROLLBACK tag instead of an error: that must fail the mutation.
 */
async function commitPostgres(conn: Kysely<Database>): Promise<void> {
  const { rows } = await sql<{ command?: string }>`commit`.execute(conn);
  if (rows[0]?.command === 'ROLLBACK') {
    throw new Error('the transaction was rolled back at COMMIT: an earlier statement in it failed');
  }
}

function makeTx(db: Kysely<Database>, dialect: DialectName): Tx {
  return {
    db,
    dialect,
    change: (c) => appendChange(db, dialect, c),
    audit: (e) => appendAudit(db, e),
  };
}
