import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

  it('rejects the mutation and keeps the process alive', async () => {
    const mutation = db.store.mutate(async (tx) => {
      const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx.db);
      await admin.query('select pg_terminate_backend($1)', [rows[0]?.pid]);
      // Wait (bounded) for the dropped connection to be noticed while no query runs on it.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await sql`select 1`.execute(tx.db);
    });
    await expect(mutation).rejects.toThrow();
    // The pool recovers: the next mutation gets a fresh connection.
    await expect(
      db.store.mutate(async (tx) => (await sql<{ one: number }>`select 1 as one`.execute(tx.db)).rows[0]?.one),
    ).resolves.toBe(1);
  });
});
