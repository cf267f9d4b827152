import {
  type ConsumerRecord,
  insertConsumer,
  insertKeysUnlogged,
  type KeyRecord,
  readChangeLogHead,
  readDataPlaneSnapshot,
  revokeKey,
  streamDataPlaneSnapshot,
} from '@keyroll/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, type TestDatabase } from '../../../../test/support/databases.js';
import { ACTOR, consumer, key, seed } from './records.js';

/** Reads the snapshot through {@link streamDataPlaneSnapshot}, noting each page's size. */
async function streamed(t: TestDatabase, pageSize: number, between?: () => Promise<void>) {
  const out = { seq: -1, keys: [] as KeyRecord[], consumers: [] as ConsumerRecord[], plans: 0, pages: [] as number[] };
  await streamDataPlaneSnapshot(
    t.store.db,
    {
      head: (seq) => {
        out.seq = seq;
      },
      keys: async (page) => {
        out.pages.push(page.length);
        out.keys.push(...page);
        await between?.();
      },
      consumers: (page) => {
        out.consumers.push(...page);
      },
      plans: (page) => {
        out.plans += page.length;
      },
    },
    pageSize,
  );
  return out;
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`the data-plane snapshot, streamed in pages, on ${dialect.name}`, () => {
    let t: TestDatabase;
    beforeAll(async () => {
      t = await dialect.create();
      const owners = ['c1', 'c2', 'c3'].map((id) => consumer(id));
      await seed(t.store, owners[0] as ConsumerRecord, [key('k-logged', 'c1')]);
      for (const owner of owners.slice(1))
        await t.store.mutate((tx) => insertConsumer(tx, owner, { at: 1000, actor: ACTOR }));
      // 2,501 more keys straight in (no change rows): more than one page of the default size too.
      const bulk = Array.from({ length: 2501 }, (_, i) => ({
        ...key(`k-${String(i).padStart(5, '0')}`, `c${(i % 3) + 1}`),
        lineageId: `k-${String(i).padStart(5, '0')}`,
      }));
      await insertKeysUnlogged(t.store.db, bulk);
    });
    afterAll(() => t?.drop());

    it('hands every key, consumer and plan over exactly once, in id order, page by page', async () => {
      const whole = await readDataPlaneSnapshot(t.store.db);
      for (const pageSize of [7, 1000, 2502, 5000]) {
        const s = await streamed(t, pageSize);
        expect(s.seq).toBe(whole.seq);
        expect(s.keys.map((k) => k.id)).toEqual(whole.keys.map((k) => k.id));
        expect(s.keys).toEqual(whole.keys);
        expect(s.consumers.map((c) => c.id)).toEqual(['c1', 'c2', 'c3']);
        expect(Math.max(...s.pages)).toBeLessThanOrEqual(pageSize);
        expect(s.pages.length).toBe(Math.ceil(2502 / pageSize));
      }
      expect(whole.keys).toHaveLength(2502);
    });

    it.skipIf(!dialect.caps.twoNodes)('reads every page at the head it started at, while others write', async () => {
      const headBefore = await readChangeLogHead(t.store.db);
      let wrote = false;
      const s = await streamed(t, 500, async () => {
        if (wrote) return;
        wrote = true;
        // Committed by another connection between two pages: neither the revocation nor its change show.
        await t.store.mutate((tx) =>
          revokeKey(tx, { id: 'k-02000', hash: 'hash-of-k-02000', consumerId: 'c3' }, 'test', {
            at: 2000,
            actor: ACTOR,
          }),
        );
      });
      expect(wrote).toBe(true);
      expect(s.seq).toBe(headBefore);
      expect(s.keys.find((k) => k.id === 'k-02000')?.revokedAt).toBeNull();
      expect(await readChangeLogHead(t.store.db)).toBeGreaterThan(headBefore);
      expect((await streamed(t, 500)).keys.find((k) => k.id === 'k-02000')?.revokedAt).toBe(2000);
    });

    it('refuses a page size that is not a positive integer', () => {
      const sink = { head: () => {}, keys: () => {}, consumers: () => {}, plans: () => {} };
      expect(() => streamDataPlaneSnapshot(t.store.db, sink, 0)).toThrow(RangeError);
    });
  });
}
