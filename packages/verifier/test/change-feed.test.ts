import { createStore, type Store } from '@keyroll/storage';
import {
  type ChangeFeed,
  ChangeFollower,
  type ChangeRecord,
  changeLogHead,
  createChangeFeed,
  FEED_APPLICATION_NAME,
  PostgresNotifyFeed,
  SqlitePollFeed,
} from '@keyroll/verifier/internal';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DIALECTS, type TestDatabase } from '../../../test/support/databases.js';
import { eventually } from '../../../test/support/eventually.js';
import { revokeStoredKey, storeConsumer, storeKey } from './stored-keys.js';

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`change feed on ${dialect.name}`, () => {
    let db: TestDatabase;
    let consumerId: string;
    const opened: Store[] = [];
    const feeds: ChangeFeed[] = [];

    beforeAll(async () => {
      db = await dialect.create();
      consumerId = await storeConsumer(db.store);
    });
    afterAll(async () => {
      for (const f of feeds) await f.close();
      for (const s of opened) await s.close();
      await db?.drop();
    });

    function follow(options: { pollMs?: number } = {}): { feed: ChangeFeed; seen: ChangeRecord[]; store: Store } {
      const store = createStore({ databaseUrl: db.url, dataDir: db.dataDir, poolSize: 2 });
      opened.push(store);
      const seen: ChangeRecord[] = [];
      const feed = createChangeFeed({ store, databaseUrl: db.url, listeners: [(c) => seen.push(c)], ...options });
      feeds.push(feed);
      return { feed, seen, store };
    }

    it('uses LISTEN/NOTIFY on PostgreSQL and polling on SQLite', () => {
      const { feed } = follow();
      expect(feed).toBeInstanceOf(dialect.caps.notify ? PostgresNotifyFeed : SqlitePollFeed);
    });

    it('starts at the head and applies later changes of another connection in order', async () => {
      const { feed, seen } = follow();
      await storeKey(db.store, consumerId);
      await feed.start();
      const head = await changeLogHead(db.store);
      expect(feed.appliedSeq).toBe(head);
      expect(seen).toEqual([]);

      const k = await storeKey(db.store, consumerId);
      await revokeStoredKey(db.store, k);
      await eventually(() => feed.appliedSeq === head + 2);
      expect(seen.map((c) => [c.seq, c.kind, c.keyHash])).toEqual([
        [head + 1, 'key.created', k.hash],
        [head + 2, 'key.revoked', k.hash],
      ]);
      expect(feed.status()).toMatchObject({ connected: true, lastError: null, appliedSeq: head + 2 });
    });

    it('reports a disconnected feed while the log cannot be read', async () => {
      const { feed, store } = follow({ pollMs: 10 });
      await feed.start();
      await store.close();
      await eventually(() => !feed.status().connected);
      expect(feed.status().lastError).toBeTruthy();
      opened.splice(opened.indexOf(store), 1);
    });
  });
}

const pgDialect = DIALECTS.find((d) => d.name === 'postgres');
describe.skipIf(!pgDialect?.available)('PostgreSQL change feed: catch-up by sequence', () => {
  let db: TestDatabase;
  let consumerId: string;
  let store: Store;
  const feeds: ChangeFeed[] = [];

  beforeAll(async () => {
    db = await pgDialect!.create();
    consumerId = await storeConsumer(db.store);
    store = createStore({ databaseUrl: db.url, dataDir: db.dataDir, poolSize: 2 });
  });
  afterAll(async () => {
    for (const f of feeds) await f.close();
    await store?.close();
    await db?.drop();
  });

  async function follow(pollMs: number): Promise<{ feed: PostgresNotifyFeed; seen: ChangeRecord[] }> {
    const seen: ChangeRecord[] = [];
    const feed = new PostgresNotifyFeed({ store, databaseUrl: db.url, listeners: [(c) => seen.push(c)], pollMs });
    feeds.push(feed);
    await feed.start();
    return { feed, seen };
  }

  it('reconnects after its connection is killed and reads what it missed meanwhile', async () => {
    // No safety poll to speak of: only the reconnection can bring the change.
    const { feed, seen } = await follow(3_600_000);
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      const killed = await admin.query(
        'select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = $1',
        [FEED_APPLICATION_NAME],
      );
      expect(killed.rowCount).toBeGreaterThanOrEqual(1);
      const k = await storeKey(db.store, consumerId);
      await eventually(() => seen.some((c) => c.keyHash === k.hash));
      await eventually(() => feed.status().connected);
    } finally {
      await admin.end();
    }
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('applies a change announced with its row as it arrives, without reading the log', async () => {
    const { feed, seen } = await follow(3_600_000);
    await feed.catchUp(); // the read after LISTEN
    const queries = vi.spyOn(pg.Client.prototype, 'query');
    const k = await storeKey(db.store, consumerId);
    await revokeStoredKey(db.store, k);
    await eventually(() => seen.some((c) => c.kind === 'key.revoked' && c.keyHash === k.hash));
    expect(seen.slice(-2).map((c) => [c.kind, c.keyHash])).toEqual([
      ['key.created', k.hash],
      ['key.revoked', k.hash],
    ]);
    expect(feed.appliedSeq).toBe(await changeLogHead(db.store));
    // The queries of this test's store (the writes and the head above) are on other clients; none of
    // the feed's store read the change log.
    const logReads = queries.mock.calls.filter((call) => String(call[0]).includes('from "changes"'));
    expect(logReads.filter((call) => !String(call[0]).includes('max('))).toEqual([]);
  });

  it('reads the log, in order, when an announced change is not the next one', async () => {
    const { feed, seen } = await follow(3_600_000);
    await feed.catchUp();
    // A row appended without any notice: the next announced change is then one past the gap.
    const silent = await db.store.db
      .insertInto('changes')
      .values({ at: Date.now(), kind: 'key.updated', entity_id: 'key_unannounced', key_hash: null })
      .returning('seq')
      .executeTakeFirstOrThrow();
    const k = await storeKey(db.store, consumerId);
    await eventually(() => seen.some((c) => c.keyHash === k.hash));
    const tail = seen.slice(-2);
    expect(tail.map((c) => c.entityId)).toEqual(['key_unannounced', k.id]);
    expect(tail[0]?.seq).toBe(silent.seq);
    expect(feed.appliedSeq).toBe(await changeLogHead(db.store));
  });

  it('finds a change whose notice never came with its safety poll', async () => {
    const { feed, seen } = await follow(20);
    // A row appended without NOTIFY, as if the notice had been lost.
    const row = await db.store.db
      .insertInto('changes')
      .values({ at: Date.now(), kind: 'key.updated', entity_id: 'key_silent', key_hash: null })
      .returning('seq')
      .executeTakeFirstOrThrow();
    await eventually(() => feed.appliedSeq >= row.seq);
    expect(seen.map((c) => c.entityId)).toContain('key_silent');
  });
});

describe('ChangeFollower.applyAnnounced', () => {
  const change = (seq: number): ChangeRecord => ({
    seq,
    at: 1,
    kind: 'key.revoked',
    entityId: `key_${seq}`,
    keyHash: 'h',
  });
  // A store whose log is empty, so the follower starts at sequence number 0 without a database.
  const emptyStore = {
    db: {
      selectFrom: () => ({ select: () => ({ executeTakeFirst: async () => ({ seq: 0 }) }) }),
    },
  } as unknown as Store;

  it('applies only the very next sequence number, once, after start', async () => {
    const seen: number[] = [];
    const applied: number[] = [];
    const follower = new ChangeFollower({
      store: emptyStore,
      listeners: [(c) => seen.push(c.seq)],
      onApplied: (seq) => applied.push(seq),
    });
    expect(follower.applyAnnounced(change(1))).toBe(false); // not started: no position yet
    await follower.start();
    expect(follower.applyAnnounced(change(2))).toBe(false); // a gap: 1 is missing
    expect(follower.applyAnnounced(change(1))).toBe(true);
    expect(follower.applyAnnounced(change(1))).toBe(false); // already applied
    expect(follower.applyAnnounced(change(2))).toBe(true);
    expect(seen).toEqual([1, 2]);
    expect(applied).toEqual([1, 2]);
    expect(follower.appliedSeq).toBe(2);
  });

  it('leaves a change a listener failed on unapplied, for the next catch-up', async () => {
    const follower = new ChangeFollower({
      store: emptyStore,
      listeners: [
        () => {
          throw new Error('cache broke');
        },
      ],
    });
    await follower.start();
    expect(follower.applyAnnounced(change(1))).toBe(false);
    expect(follower.appliedSeq).toBe(0);
    expect(follower.state()).toMatchObject({ connected: false, lastError: 'cache broke' });
  });
});
