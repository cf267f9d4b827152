import { listAuditEvents, listKeys, listLiveConsumers } from '@keyroll/storage';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, type TestDatabase } from '../../../../test/support/databases.js';
import { consumer, key, seed } from './records.js';

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`listing search and audit order on ${dialect.name}`, () => {
    let t: TestDatabase;
    beforeAll(async () => {
      t = await dialect.create();
      await seed(t.store, consumer('consumer_a', 1000, { name: 'Off 50%', externalId: 'EXT_A' }), [
        key('key_a1', 'consumer_a', 1000, { name: 'Back\\slash!', hint: 'kr_…Ab9Z' }),
      ]);
      await seed(t.store, consumer('consumer_b', 2000, { name: 'Off 500', externalId: 'extXa' }), [
        key('key_b1', 'consumer_b', 2000, { name: 'plain', hint: 'kr_…zz00' }),
      ]);
      await seed(t.store, consumer('consumer_c', 3000, { name: 'ÉMILE Zola', externalId: 'İZMİR-9' }), [
        key('key_c1', 'consumer_c', 3000, { name: 'ΟΔΥΣΣΕΑΣ', hint: 'kr_…ÄÖÜ1' }),
        key('key_c2', 'consumer_c', 3000, { name: 'STRAẞE_Ä' }),
      ]);
    });
    afterAll(() => t?.drop());

    const consumers = async (q: string) =>
      (await listLiveConsumers(t.store.db, t.store.dialect, {}, { q })).data.map((c) => c.id);
    const keys = async (q: string) =>
      (await listKeys(t.store.db, t.store.dialect, { q }, {}, 5000)).data.map((k) => k.id);

    it('matches ignoring case, with %, _, ! and \\ taken literally', async () => {
      expect(await consumers('50%')).toEqual(['consumer_a']);
      expect(await consumers('off 50')).toEqual(['consumer_a', 'consumer_b']);
      expect(await consumers('ext_a')).toEqual(['consumer_a']);
      expect(await consumers('ab9z')).toEqual(['consumer_a']);
      expect(await keys('k\\s')).toEqual(['key_a1']);
      expect(await keys('h!')).toEqual(['key_a1']);
      expect(await keys('!')).toEqual(['key_a1']);
      expect(await keys('0%')).toEqual(['key_a1']); // its consumer's name; as a wildcard "Off 500" would match too
      expect(await keys('EXTXA')).toEqual(['key_b1']);
    });

    it("folds every letter, not only A–Z, as PostgreSQL's lower() does in a UTF-8 locale", async (ctx) => {
      if (t.store.dialect === 'postgres') {
        // PostgreSQL folds by the database's locale: only A–Z under C, other rules under ICU.
        const { rows } = await sql<{ l: string }>`select lower('ÉΣİ') as l`.execute(t.store.db);
        if (rows[0]?.l !== 'éσi') ctx.skip(`lower() of this database's locale gives ${rows[0]?.l}`);
      }
      expect(await consumers('émile')).toEqual(['consumer_c']);
      expect(await consumers('Émile zola')).toEqual(['consumer_c']);
      expect(await consumers('izmir-9')).toEqual(['consumer_c']); // İ folds to i, not i + combining dot
      expect(await consumers('äöü')).toEqual(['consumer_c']); // the hint of one of its keys
      expect(await keys('δυσσεασ')).toEqual(['key_c1']);
      expect(await keys('ΔΥΣ')).toEqual(['key_c1']); // a Σ at the end of the text is σ, not ς
      expect(await keys('ÉMILE')).toEqual(['key_c1', 'key_c2']); // their consumer's name
      expect(await keys('straße_ä')).toEqual(['key_c2']); // ẞ folds to ß; _ still literal
      expect(await keys('straße%ä')).toEqual([]);
      expect(await keys('strasse')).toEqual([]); // letter by letter: ß is not "ss"
      // On an SQLite file, a consistent read runs on a connection of its own, which folds alike.
      const read = await t.store.readConsistently((db) => listKeys(db, t.store.dialect, { q: 'émile' }, {}, 5000));
      expect(read.data.map((k) => k.id)).toEqual(['key_c1', 'key_c2']);
    });

    it('lists audit events newest first, filtered by actor and inclusive times, paged backwards', async () => {
      const asc = await listAuditEvents(t.store.db, { limit: 100 });
      const desc = await listAuditEvents(t.store.db, { order: 'desc', limit: 100 });
      expect(desc).toEqual([...asc].reverse());
      expect(await listAuditEvents(t.store.db, { order: 'desc', afterSeq: desc[1]?.seq, limit: 1 })).toEqual([desc[2]]);
      expect((await listAuditEvents(t.store.db, { fromAt: 2000, toAt: 2000, limit: 100 })).map((e) => e.at)).toEqual([
        2000, 2000,
      ]);
      expect(await listAuditEvents(t.store.db, { toAt: 999, limit: 100 })).toEqual([]);
      expect(await listAuditEvents(t.store.db, { actor: 'nobody', limit: 100 })).toEqual([]);
      expect(await listAuditEvents(t.store.db, { actor: asc[0]?.actor, limit: 100 })).toHaveLength(asc.length);
    });
  });
}
