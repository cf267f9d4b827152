import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStore, migrateToLatest, type Store } from '@keyroll/storage';
import pg from 'pg';
import { eventually } from './eventually.js';

/** A database for one test file: a migrated store, its URL, and how to throw it away. */
export interface TestDatabase {
  store: Store;
  /** Connection string another process (or a second node) can open. */
  url: string;
  dataDir: string;
  drop(): Promise<void>;
}

/** What a database can do in the suites: a suite that needs one skips by it, never by the dialect's name. */
export interface DialectCaps {
  /**
   * Two nodes (each with its own connections) writing at once in one process. Not SQLite: its
   * synchronous driver waits for the other connection's write lock while blocking the event loop
   * that connection needs to let go of it.
   */
  twoNodes: boolean;
  /** Mutations of one store overlap (several connections), so sequence numbers could commit out of order. */
  concurrentMutations: boolean;
  /** Commits are announced (LISTEN/NOTIFY): followers are told instead of polling. */
  notify: boolean;
}

/** One database the suites run against. */
export interface TestDialect {
  name: 'sqlite' | 'postgres';
  available: boolean;
  caps: DialectCaps;
  create(): Promise<TestDatabase>;
}

const PG_URL = process.env.KEYROLL_TEST_PG_URL;
/** Redis for the suites that need it; unset skips them. */
export const REDIS_URL = process.env.KEYROLL_TEST_REDIS_URL;
const ONLY = process.env.KEYROLL_TEST_DIALECTS?.split(',');

async function createSqlite(): Promise<TestDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyroll-test-'));
  const url = `sqlite:${join(dataDir, 'keyroll.db')}`;
  const store = createStore({ databaseUrl: url, dataDir });
  await migrateToLatest(store.db, store.dialect);
  return {
    store,
    url,
    dataDir,
    drop: async () => {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Creates a fresh PostgreSQL database next to the one in KEYROLL_TEST_PG_URL. */
async function createPostgres(): Promise<TestDatabase> {
  if (!PG_URL) throw new Error('KEYROLL_TEST_PG_URL is not set');
  const name = `keyroll_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const parsed = new URL(PG_URL);
  parsed.pathname = `/${name}`;
  const url = parsed.toString();
  const dataDir = mkdtempSync(join(tmpdir(), 'keyroll-test-'));
  const store = createStore({ databaseUrl: url, dataDir, poolSize: 5 });
  await migrateToLatest(store.db, store.dialect);
  return {
    store,
    url,
    dataDir,
    drop: async () => {
      await store.close();
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      // The pool's sockets may still be closing: retry briefly instead of forcing them off.
      let refused: unknown;
      await eventually(
        () =>
          c.query(`drop database if exists ${name}`).then(
            () => true,
            (e: unknown) => {
              refused = e;
              return false;
            },
          ),
        `dropping ${name}`,
        2_500,
      ).catch(() => {
        throw refused;
      });
      await c.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The databases to run shared suites against, narrowed by KEYROLL_TEST_DIALECTS. */
export const DIALECTS: TestDialect[] = (
  [
    {
      name: 'sqlite',
      available: true,
      caps: { twoNodes: false, concurrentMutations: false, notify: false },
      create: createSqlite,
    },
    {
      name: 'postgres',
      available: Boolean(PG_URL),
      caps: { twoNodes: true, concurrentMutations: true, notify: true },
      create: createPostgres,
    },
  ] satisfies TestDialect[]
).filter((d) => !ONLY || ONLY.includes(d.name));

/** The dialects (available or not: suites skip the unavailable ones visibly) that have capability `cap`. */
export function dialectsWith(cap: keyof DialectCaps): TestDialect[] {
  return DIALECTS.filter((d) => d.caps[cap]);
}
