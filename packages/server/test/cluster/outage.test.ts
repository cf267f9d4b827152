import type { ManualClock } from '@keyroll/core/testing';
import { createKeyroll, type Keyroll, loadConfig } from '@keyroll/server';
import { createStore, type Store } from '@keyroll/storage';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { eventually } from '../../../../test/support/eventually.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { type SecondNode, startSecondNode } from './second-node.js';

const HOUR = 3_600_000;

/** Keys in the three situations the outage tests look at, verified once so that they are cached. */
async function cachedKeys(h: Harness, verify: (key: string) => Promise<{ code: string }>) {
  const plain = await h.consumerWithKey();
  const expiring = await h.consumerWithKey({ expiresIn: '1h' });
  const rotated = await h.consumerWithKey();
  await h.json('POST', `/v1/keys/${rotated.keyId}/rotate`, { gracePeriod: '1h' }, 201);
  for (const k of [plain, expiring, rotated]) expect((await verify(k.key)).code).toBe('VALID');
  return { plain, expiring, rotated };
}

/** A key that has the right form but that no node has ever looked up. */
async function neverSeenKey(h: Harness): Promise<string> {
  const { key, keyId } = await h.consumerWithKey();
  await h.json('POST', `/v1/keys/${keyId}/revoke`, {}, 200);
  return key;
}

const pgDialect = DIALECTS.find((d) => d.name === 'postgres');
describe.skipIf(!pgDialect?.available)('storage outage on PostgreSQL', () => {
  let h: Harness;
  let b: SecondNode;
  let admin: pg.Client;
  let dbName: string;

  beforeAll(async () => {
    h = await createHarness(pgDialect!);
    b = await startSecondNode(h, { nodeId: 'node-b' });
    dbName = new URL(h.db.url).pathname.slice(1);
    admin = new pg.Client({ connectionString: process.env.KEYROLL_TEST_PG_URL });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.query(`alter database ${dbName} allow_connections true`).catch(() => undefined);
    await admin?.end();
    await b?.close();
    await h?.close();
  });

  async function verify(key: string) {
    const res = await h.request({ method: 'POST', url: '/v1/keys/verify', payload: { key } });
    return { status: res.statusCode, ...res.json() };
  }

  it('keeps verifying cached keys, enforces their deadlines, answers 503 for the rest, and catches up after', async () => {
    const keys = await cachedKeys(h, verify);
    const unknown = await neverSeenKey(h);

    // The database refuses every connection, and the open ones are cut.
    await admin.query(`alter database ${dbName} allow_connections false`);
    await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [dbName]);

    expect(await verify(keys.plain.key)).toMatchObject({ status: 200, valid: true, code: 'VALID' });
    expect(await verify(keys.rotated.key)).toMatchObject({ status: 200, valid: true, deprecated: true });
    const miss = await verify(unknown);
    expect(miss).toMatchObject({ status: 503, code: 'UNAVAILABLE' });
    expect(miss.valid).toBeUndefined();

    await eventually(async () => (await h.request({ method: 'GET', url: '/readyz' })).statusCode === 503);
    const ready = (await h.request({ method: 'GET', url: '/readyz' })).json();
    expect(ready).toMatchObject({ status: 'degraded', storage: 'unreachable', changeFeed: { connected: false } });

    // Deadlines need no storage: they are judged from the cached timestamps.
    h.clock.advance(HOUR + 1);
    expect(await verify(keys.expiring.key)).toMatchObject({ status: 200, valid: false, code: 'EXPIRED' });
    expect(await verify(keys.rotated.key)).toMatchObject({ status: 200, valid: false, code: 'RETIRED' });
    expect(await verify(keys.plain.key)).toMatchObject({ status: 200, code: 'VALID' });

    // Storage returns: the node reconnects, and a change made elsewhere reaches it.
    await admin.query(`alter database ${dbName} allow_connections true`);
    await eventually(async () => (await h.request({ method: 'GET', url: '/readyz' })).statusCode === 200);
    const revoked = await b.request({ method: 'POST', url: `/v1/keys/${keys.plain.keyId}/revoke`, payload: {} });
    expect(revoked.statusCode).toBe(200);
    await eventually(async () => (await verify(keys.plain.key)).code === 'REVOKED');
    expect((await verify(unknown)).code).toBe('REVOKED');
  });
});

const sqlite = DIALECTS.find((d) => d.name === 'sqlite');
describe.skipIf(!sqlite?.available)('storage outage on SQLite', () => {
  let h: Harness;
  let store: Store;
  let node: Keyroll;
  let clock: ManualClock;

  beforeAll(async () => {
    h = await createHarness(sqlite!);
    clock = h.clock;
    // A node with its own handle on the file, so that its storage can be taken away alone.
    store = createStore({ databaseUrl: h.db.url, dataDir: h.db.dataDir });
    node = await createKeyroll(loadConfig({ KEYROLL_DATA_DIR: h.db.dataDir, KEYROLL_DATABASE_URL: h.db.url }), {
      clock,
      store,
      scheduler: false,
    });
  });
  afterAll(async () => {
    await node?.close().catch(() => undefined); // its last usage flush has nowhere to go
    await h?.close();
  });

  async function verify(key: string) {
    const res = await node.app.inject({
      method: 'POST',
      url: '/v1/keys/verify',
      payload: { key },
      headers: { authorization: `Bearer ${h.rootKey}` },
    });
    return { status: res.statusCode, ...res.json() };
  }

  it('keeps verifying cached keys with their deadlines and answers 503 UNAVAILABLE on a miss', async () => {
    const keys = await cachedKeys(h, verify);
    const unknown = await neverSeenKey(h);
    await store.close();

    expect(await verify(keys.plain.key)).toMatchObject({ status: 200, code: 'VALID' });
    expect(await verify(unknown)).toMatchObject({ status: 503, code: 'UNAVAILABLE' });
    const ready = await node.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ status: 'degraded', storage: 'unreachable' });

    clock.advance(HOUR + 1);
    expect(await verify(keys.expiring.key)).toMatchObject({ code: 'EXPIRED' });
    expect(await verify(keys.rotated.key)).toMatchObject({ code: 'RETIRED' });
    expect(await verify(keys.plain.key)).toMatchObject({ code: 'VALID' });
  });
});
