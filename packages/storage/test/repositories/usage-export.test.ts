import { insertConsumer, insertKey, usageExportPage, usageExportRows } from '@keyroll/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, type TestDatabase } from '../../../../test/support/databases.js';
import { ACTOR, consumer, key } from './records.js';

const MINUTE = 60_000;

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`usage export reads on ${dialect.name}`, () => {
    let t: TestDatabase;
    beforeAll(async () => {
      t = await dialect.create();
      await t.store.mutate(async (tx) => {
        await insertConsumer(tx, consumer('consumer_u'), { at: 1000, actor: ACTOR });
        await insertKey(tx, key('key_u1', 'consumer_u'), { at: 1000, actor: ACTOR });
      });
      const rows = [];
      for (let m = 0; m < 10; m++) {
        for (const [keyId, code] of [
          ['key_u1', 'VALID'],
          ['key_u1', 'RATE_LIMITED'],
          ['key_gone', 'VALID'],
        ] as const) {
          rows.push({ key_id: keyId, consumer_id: 'consumer_u', minute: m * MINUTE, code, count: m + 1 });
        }
      }
      await t.store.db.insertInto('usage_minutes').values(rows).execute();
    });
    afterAll(() => t?.drop());

    it('pages by minute, key id and code, resuming after the last row', async () => {
      const range = { from: 2 * MINUTE, to: 5 * MINUTE };
      const first = await usageExportPage(t.store.db, range, undefined, 4);
      expect(first.map((r) => [r.minute / MINUTE, r.keyId, r.code])).toEqual([
        [2, 'key_gone', 'VALID'],
        [2, 'key_u1', 'RATE_LIMITED'],
        [2, 'key_u1', 'VALID'],
        [3, 'key_gone', 'VALID'],
      ]);
      expect(first[1]).toEqual({
        minute: 2 * MINUTE,
        consumerId: 'consumer_u',
        consumerName: 'name of consumer_u',
        keyId: 'key_u1',
        keyName: 'name of key_u1',
        code: 'RATE_LIMITED',
        count: 3,
      });
      expect(first[0]?.keyName).toBeNull();
      const next = await usageExportPage(
        t.store.db,
        range,
        { minute: 3 * MINUTE, keyId: 'key_gone', code: 'VALID' },
        4,
      );
      expect(next.map((r) => [r.minute / MINUTE, r.keyId, r.code])).toEqual([
        [3, 'key_u1', 'RATE_LIMITED'],
        [3, 'key_u1', 'VALID'],
        [4, 'key_gone', 'VALID'],
        [4, 'key_u1', 'RATE_LIMITED'],
      ]);
    });

    it('reads every row of the range once, whatever the page size', async () => {
      for (const pageSize of [1, 3, 7, 30, 1000]) {
        const rows = [];
        for await (const row of usageExportRows(t.store.db, { from: 0, to: 10 * MINUTE }, pageSize)) rows.push(row);
        expect(rows, `page size ${pageSize}`).toHaveLength(30);
        expect(new Set(rows.map((r) => `${r.minute}|${r.keyId}|${r.code}`)).size).toBe(30);
        expect(rows.reduce((n, r) => n + r.count, 0)).toBe(3 * 55);
      }
      const none = [];
      for await (const row of usageExportRows(t.store.db, { from: 10 * MINUTE, to: 20 * MINUTE })) none.push(row);
      expect(none).toEqual([]);
    });
  });
}
