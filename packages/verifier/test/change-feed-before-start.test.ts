import { createStore, type Store } from '@keyroll/storage';
import { type ChangeRecord, changeLogHead, createChangeFeed } from '@keyroll/verifier/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, type TestDatabase } from '../../../test/support/databases.js';
import { storeConsumer, storeKey } from './stored-keys.js';

// A node that starts on a long-lived database must not replay the change log from its first entry
// (its cache is empty, and each old change would be recorded as a huge propagation lag). The server's
// first mutation (the bootstrap check) asks for a catch-up before the feed has started.
for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`change feed before start on ${dialect.name}`, () => {
    let db: TestDatabase;
    let store: Store;
    beforeAll(async () => {
      db = await dialect.create();
      const consumerId = await storeConsumer(db.store);
      await storeKey(db.store, consumerId);
      store = createStore({ databaseUrl: db.url, dataDir: db.dataDir, poolSize: 2 });
    });
    afterAll(async () => {
      await store?.close();
      await db?.drop();
    });

    it('applies nothing on a catch-up before start, then follows from the head', async () => {
      const seen: ChangeRecord[] = [];
      const feed = createChangeFeed({ store, databaseUrl: db.url, listeners: [(c) => seen.push(c)], pollMs: 60_000 });
      try {
        await feed.catchUp();
        expect(seen).toEqual([]);
        expect(feed.appliedSeq).toBe(0);
        await feed.start();
        expect(feed.appliedSeq).toBe(await changeLogHead(db.store));
        expect(seen).toEqual([]);
      } finally {
        await feed.close();
      }
    });
  });
}
