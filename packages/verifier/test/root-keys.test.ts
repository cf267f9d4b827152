import { generateKey, hashKey } from '@keyroll/core';
import { ManualClock } from '@keyroll/core/testing';
import {
  type CachedKey,
  MemoryRateLimiter,
  PlanLimitChecker,
  ROOT_CONSUMER_ID,
  ROOT_KEY_PRESENTED,
  RootKeyAudit,
  type RootKeyPresentation,
  type VerificationEvent,
  Verifier,
} from '@keyroll/verifier/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, type TestDatabase } from '../../../test/support/databases.js';
import { keyOf, MapLimitSource, NO_LIMITS } from './limiter/limit-fixtures.js';

const START = Date.UTC(2026, 0, 1, 12, 0, 0);
const HOUR = 3_600_000;

function stored(id: string, consumerId: string, fields: Partial<CachedKey> = {}): { key: string; row: CachedKey } {
  const { key } = generateKey(consumerId === ROOT_CONSUMER_ID ? 'kr_root' : 'kr_live');
  return { key, row: { ...keyOf(id, consumerId, { scopes: ['*'], ...fields }), hash: hashKey(key) } };
}

function pipeline(keys: CachedKey[], cached: boolean) {
  const clock = new ManualClock(START);
  const byHash = new Map(keys.map((k) => [k.hash, k]));
  const events: VerificationEvent[] = [];
  const presented: RootKeyPresentation[] = [];
  const source = new MapLimitSource();
  source.consumers.set(ROOT_CONSUMER_ID, { ...NO_LIMITS, rateLimit: { limit: 1, windowMs: HOUR } });
  const verifier = new Verifier({
    lookup: {
      get: async (h) => byHash.get(h) ?? null,
      ...(cached && { peek: (h: string) => byHash.get(h) ?? null }),
    },
    clock,
    limits: new PlanLimitChecker({ limiter: new MemoryRateLimiter(), source }),
    observers: [{ observe: (e) => events.push(e) }],
    onRootKey: (p) => presented.push(p),
  });
  return { verifier, events, presented };
}

describe('root keys in the verification pipeline', () => {
  for (const cached of [false, true]) {
    it(`answers a root key exactly like an unknown key (${cached ? 'cache hit' : 'storage read'})`, async () => {
      const root = stored('key_root', ROOT_CONSUMER_ID);
      const revokedRoot = stored('key_root2', ROOT_CONSUMER_ID, { revokedAt: START - 1 });
      const { verifier, events, presented } = pipeline([root.row, revokedRoot.row], cached);
      const unknown = await verifier.verify(generateKey('kr_root').key, { scopes: ['read'] });
      for (const key of [root.key, revokedRoot.key]) {
        const result = await verifier.verify(key, { scopes: ['read'], ip: '10.0.0.1', userAgent: 'curl/8' });
        expect(result).toEqual(unknown);
        expect(result).toEqual({ valid: false, code: 'NOT_FOUND' });
      }
      expect(events.map((e) => [e.code, e.keyId, e.consumerId])).toEqual([
        ['NOT_FOUND', null, null],
        ['NOT_FOUND', null, null],
        ['NOT_FOUND', null, null],
      ]);
      expect(presented).toEqual([
        { at: START, keyId: 'key_root', ip: '10.0.0.1', userAgent: 'curl/8' },
        { at: START, keyId: 'key_root2', ip: '10.0.0.1', userAgent: 'curl/8' },
      ]);
    });
  }

  it('lets a root key through verifyAdmin, counting no limit and telling no observer', async () => {
    const root = stored('key_root', ROOT_CONSUMER_ID);
    const consumer = stored('key_c', 'csm_1', { scopes: ['read'] });
    const { verifier, events, presented } = pipeline([root.row, consumer.row], false);
    for (let i = 0; i < 3; i++) {
      expect(await verifier.verifyAdmin(root.key, { ip: '127.0.0.1' })).toMatchObject({
        valid: true,
        keyId: 'key_root',
        consumerId: ROOT_CONSUMER_ID,
        scopes: ['*'],
      });
    }
    // The caller (the admin guard) refuses other consumers' keys; verifyAdmin only decides them.
    expect(await verifier.verifyAdmin(consumer.key)).toMatchObject({ valid: true, consumerId: 'csm_1' });
    expect(await verifier.verifyAdmin(generateKey('kr_root').key)).toEqual({ valid: false, code: 'NOT_FOUND' });
    expect(await verifier.verifyAdmin('kr_root_nonsense')).toEqual({ valid: false, code: 'MALFORMED' });
    expect(events).toEqual([]);
    expect(presented).toEqual([]);
  });
});

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`RootKeyAudit on ${dialect.name}`, () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await dialect.create();
    });
    afterAll(() => db?.drop());

    it('records one event per root key and hour, however often it is presented', async () => {
      const audit = new RootKeyAudit({ store: db.store });
      const at = (ms: number, keyId = 'key_root') => ({
        at: START + ms,
        keyId,
        ip: '10.0.0.1',
        userAgent: 'x'.repeat(300),
      });
      for (let i = 0; i < 500; i++) audit.listener(at(i));
      audit.listener(at(10, 'key_other_root'));
      audit.listener(at(HOUR + 1));
      await audit.settled();
      const rows = await db.store.db
        .selectFrom('audit_events')
        .selectAll()
        .where('action', '=', ROOT_KEY_PRESENTED)
        .orderBy('at') // presentations are recorded concurrently: on PostgreSQL in any order
        .execute();
      expect(rows.map((r) => [r.target_id, r.at, r.actor, r.target_type])).toEqual([
        ['key_root', START, 'system:verifier', 'key'],
        ['key_other_root', START + 10, 'system:verifier', 'key'],
        ['key_root', START + HOUR + 1, 'system:verifier', 'key'],
      ]);
      const data = rows.map((r) => JSON.parse(r.data));
      expect(data[0]).toEqual({ consumerId: 'root', ip: '10.0.0.1', userAgent: 'x'.repeat(256), earlierUnrecorded: 0 });
      expect(data[2].earlierUnrecorded).toBe(499);
    });
  });
}
