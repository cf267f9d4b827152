import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DIALECTS, type TestDatabase } from '../../../test/support/databases.js';

const postgres = DIALECTS.find((d) => d.name === 'postgres');

// A connection the server drops while a mutation holds it (between two of its queries) must fail that
// mutation, not the process: pg emits 'error' on a checked-out client, and an 'error' event without a
// listener is an uncaught exception (vitest reports it as an unhandled error and fails the run).
describe.skipIf(!postgres?.available)('PostgreSQL connection lost inside a mutation', () => {
  let db: TestDatabase;
  let admin: pg.Client;
  beforeAll(async () => {
    db = await postgres!.create();
    admin = new pg.Client({ connectionString: process.env.KEYROLL_TEST_PG_URL });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await db?.drop();
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('rejects the mutation and keeps the process alive', async () => {
    // The pool's clients are pg.Client instances: the one that runs pg_backend_pid() is the mutation's.
    const queries = vi.spyOn(pg.Client.prototype, 'query');
    const mutation = db.store.mutate(async (tx) => {
      const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx.db);
      const client = queries.mock.contexts.at(-1) as pg.Client;
      const ended = new Promise((resolve) => client.once('end', resolve));
      await admin.query('select pg_terminate_backend($1)', [rows[0]?.pid]);
      // The client has seen the server's error and the closed socket while no query ran on it
      // (pg emits 'error', then 'end').
      await ended;
      await sql`select 1`.execute(tx.db);
    });
    await expect(mutation).rejects.toThrow();
    // The pool recovers: the next mutation gets a fresh connection.
    await expect(
      db.store.mutate(async (tx) => (await sql<{ one: number }>`select 1 as one`.execute(tx.db)).rows[0]?.one),
    ).resolves.toBe(1);
  });
});
