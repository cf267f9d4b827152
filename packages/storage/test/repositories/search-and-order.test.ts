import { listAuditEvents, listKeys, listLiveConsumers } from '@keyroll/storage';
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
    });
    afterAll(() => t?.drop());

    const consumers = async (q: string) => (await listLiveConsumers(t.store.db, {}, { q })).data.map((c) => c.id);
    const keys = async (q: string) => (await listKeys(t.store.db, { q }, {}, 5000)).data.map((k) => k.id);

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
