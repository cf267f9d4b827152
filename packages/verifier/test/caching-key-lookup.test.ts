import { ApiError, generateKey } from '@keyroll/core';
import { ManualClock } from '@keyroll/core/testing';
import { createStore, type Store } from '@keyroll/storage';
import {
  CachingKeyLookup,
  type ChangeFeed,
  createChangeFeed,
  type KeyLookup,
  StorageKeyLookup,
  Verifier,
} from '@keyroll/verifier/internal';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DIALECTS, type TestDatabase } from '../../../test/support/databases.js';
import { eventually } from '../../../test/support/eventually.js';
import { QueryCounter, revokeStoredKey, storeConsumer, storeKey } from './stored-keys.js';

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`CachingKeyLookup on ${dialect.name}`, () => {
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
      for (const s of opened) await s.close().catch(() => undefined);
      await db?.drop();
    });

    /** A second connection to the same database: another node, or another process on the SQLite file. */
    function openStore(): Store {
      const store = createStore({ databaseUrl: db.url, dataDir: db.dataDir, poolSize: 2 });
      opened.push(store);
      return store;
    }

    function counted(store: Store): { store: Store; counter: QueryCounter } {
      const counter = new QueryCounter();
      return { store: { ...store, db: store.db.withPlugin(counter) }, counter };
    }

    it('answers a hit from memory: no query reaches storage', async () => {
      const { store, counter } = counted(db.store);
      const verifier = new Verifier({ lookup: new CachingKeyLookup({ source: new StorageKeyLookup(store) }) });
      const k = await storeKey(db.store, consumerId);
      expect((await verifier.verify(k.key)).code).toBe('VALID');
      expect(counter.count).toBe(1);
      for (let i = 0; i < 100; i++) expect((await verifier.verify(k.key)).code).toBe('VALID');
      expect(counter.count).toBe(1);
    });

    it('shares one storage read between concurrent misses of one hash', async () => {
      const { store, counter } = counted(db.store);
      const lookup = new CachingKeyLookup({ source: new StorageKeyLookup(store) });
      const k = await storeKey(db.store, consumerId);
      const found = await Promise.all(Array.from({ length: 10 }, () => lookup.get(k.hash)));
      expect(found.every((f) => f?.id === k.id)).toBe(true);
      expect(counter.count).toBe(1);
    });

    it('remembers unknown keys, and forgets one when the feed brings its creation', async () => {
      const { store, counter } = counted(openStore());
      const lookup = new CachingKeyLookup({ source: new StorageKeyLookup(store) });
      const feed = createChangeFeed({ store, databaseUrl: db.url, listeners: [(c) => lookup.apply(c)] });
      feeds.push(feed);
      await feed.start();
      const verifier = new Verifier({ lookup });
      const g = generateKey('kr_test');
      expect((await verifier.verify(g.key)).code).toBe('NOT_FOUND');
      const reads = counter.count;
      expect((await verifier.verify(g.key)).code).toBe('NOT_FOUND');
      expect(counter.count).toBe(reads);
      expect(lookup.cache.size.unknown).toBe(1);

      // Created through the other connection, as another node would.
      await storeKey(db.store, consumerId, { key: g });
      await eventually(async () => (await verifier.verify(g.key)).code === 'VALID');
    });

    it('does not remember a read that a change overtook', async () => {
      const real = new StorageKeyLookup(db.store);
      let release = (): void => undefined;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      let rowRead = (): void => undefined;
      const read = new Promise<void>((r) => {
        rowRead = r;
      });
      // Reads the row, then stalls: the revocation below lands while the stale row is in flight.
      const slow: KeyLookup = {
        get: async (hash) => {
          const row = await real.get(hash);
          rowRead();
          await gate;
          return row;
        },
      };
      const lookup = new CachingKeyLookup({ source: slow });
      const k = await storeKey(db.store, consumerId);
      const inFlight = lookup.get(k.hash);
      await read;
      await revokeStoredKey(db.store, k);
      lookup.apply({ seq: 0, at: 0, kind: 'key.revoked', entityId: k.id, keyHash: k.hash });
      release();
      expect((await inFlight)?.revokedAt).toBeNull();
      expect((await lookup.get(k.hash))?.revokedAt).not.toBeNull();
    });

    it('keeps verifying cached keys when storage is gone, enforcing deadlines from the cache', async () => {
      const clock = new ManualClock(Date.now());
      const store = openStore();
      const verifier = new Verifier({ lookup: new CachingKeyLookup({ source: new StorageKeyLookup(store) }), clock });
      const k = await storeKey(db.store, consumerId, { expiresAt: clock.now() + 3_600_000 });
      expect((await verifier.verify(k.key)).code).toBe('VALID');

      await store.close();
      expect((await verifier.verify(k.key)).code).toBe('VALID');
      clock.advance(3_600_001);
      expect(await verifier.verify(k.key)).toMatchObject({ valid: false, code: 'EXPIRED', keyId: k.id });

      // A miss is an infrastructure error, never a NOT_FOUND.
      const unknown = generateKey('kr_test').key;
      const failure = await verifier.verify(unknown).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(ApiError);
      expect(failure).toMatchObject({ code: 'UNAVAILABLE' });
    });

    it('counts a storage read slower than missTimeoutMs as storage being unreachable', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      try {
        const never: KeyLookup = { get: () => new Promise(() => undefined) };
        const lookup = new CachingKeyLookup({ source: never, missTimeoutMs: 2_000 });
        let settled = false;
        const got = lookup.get('a'.repeat(64)).finally(() => {
          settled = true;
        });
        got.catch(() => undefined);
        await vi.advanceTimersByTimeAsync(1_999);
        expect(settled).toBe(false);
        await vi.advanceTimersByTimeAsync(1);
        await expect(got).rejects.toMatchObject({ code: 'UNAVAILABLE', details: { reason: 'timeout' } });
      } finally {
        vi.useRealTimers();
      }
    });

    it('applies changes that carry a key hash, and only those', async () => {
      const lookup = new CachingKeyLookup({ source: new StorageKeyLookup(db.store) });
      const a = await storeKey(db.store, consumerId);
      await lookup.get(a.hash);
      for (const kind of ['consumer.updated', 'plan.updated', 'rotation.reminder'] as const) {
        lookup.apply({ seq: 0, at: 0, kind, entityId: consumerId, keyHash: null });
      }
      expect(lookup.cache.get(a.hash)?.id).toBe(a.id);
      lookup.apply({ seq: 0, at: 0, kind: 'key.updated', entityId: a.id, keyHash: a.hash });
      expect(lookup.cache.get(a.hash)).toBeUndefined();
    });
  });
}
