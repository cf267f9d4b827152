import {
  findKeyLastUsedAt,
  listKeyClients,
  recordClientSignals,
  recordUsage,
  unknownKeysByAddressAndCode,
  usageByBucket,
  usageByKeyAndCode,
} from '@keyroll/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, type TestDatabase } from '../../../../test/support/databases.js';
import { consumer, key, seed } from './records.js';

const HOUR = 3_600_000;
const MINUTE = 60_000;

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`usage and client-signal repositories on ${dialect.name}`, () => {
    let t: TestDatabase;
    beforeAll(async () => {
      t = await dialect.create();
      await seed(t.store, consumer('c1', 0), [key('k1', 'c1', 0)]);
    });
    afterAll(() => t?.drop());

    it('adds counts to the same bucket across writes and moves last use forward only', async () => {
      const count = (minute: number, code: string, n: number) => ({
        keyId: 'k1',
        consumerId: 'c1',
        minute,
        code,
        count: n,
      });
      await recordUsage(t.store.db, [count(HOUR, 'VALID', 2), count(HOUR + MINUTE, 'RETIRED', 1)], [['k1', HOUR + 5]]);
      await recordUsage(t.store.db, [count(HOUR, 'VALID', 3), count(2 * HOUR, 'VALID', 4)], [['k1', HOUR + 1]]);
      const series = await usageByBucket(t.store.db, { keyId: 'k1' }, { from: 0, to: 3 * HOUR }, HOUR);
      expect(series.sort((a, b) => a.bucket - b.bucket || a.code.localeCompare(b.code))).toEqual([
        { bucket: HOUR, code: 'RETIRED', count: 1 },
        { bucket: HOUR, code: 'VALID', count: 5 },
        { bucket: 2 * HOUR, code: 'VALID', count: 4 },
      ]);
      expect(await usageByBucket(t.store.db, { consumerId: 'other' }, { from: 0, to: 3 * HOUR }, HOUR)).toEqual([]);
      expect(await usageByKeyAndCode(t.store.db, { from: 0, to: 3 * HOUR }, ['RETIRED'])).toEqual([
        { keyId: 'k1', consumerId: 'c1', code: 'RETIRED', count: 1, lastMinute: HOUR + MINUTE },
      ]);
      expect(await findKeyLastUsedAt(t.store.db, 'k1')).toBe(HOUR + 5);
    });

    it('keeps the most recent clients of a key, summed, and counts unknown keys per address', async () => {
      const seen = (address: string, lastSeen: number) => ({
        address,
        userAgent: 'ua',
        firstSeen: lastSeen,
        lastSeen,
        count: 1,
      });
      await recordClientSignals(t.store.db, {
        unknownKeys: [{ address: '10.0.0.1', minute: 0, code: 'NOT_FOUND', count: 2 }],
        clients: [['k1', [seen('a', 10), seen('b', 20), seen('c', 30)]]],
        clientsPerKey: 2,
      });
      await recordClientSignals(t.store.db, {
        unknownKeys: [{ address: '10.0.0.1', minute: MINUTE, code: 'NOT_FOUND', count: 3 }],
        clients: [['k1', [seen('b', 15)]]],
        clientsPerKey: 2,
      });
      const clients = await listKeyClients(t.store.db, 'k1', 0, 10);
      expect(clients.map((c) => [c.address, c.lastSeen, c.count])).toEqual([
        ['c', 30, 1],
        ['b', 20, 2],
      ]);
      expect(await listKeyClients(t.store.db, 'k1', 25, 10)).toHaveLength(1);
      expect(await unknownKeysByAddressAndCode(t.store.db, { from: 0, to: HOUR })).toEqual([
        { address: '10.0.0.1', code: 'NOT_FOUND', count: 5, lastMinute: MINUTE },
      ]);
    });
  });
}
