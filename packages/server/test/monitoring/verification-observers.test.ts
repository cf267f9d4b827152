import { ManualClock } from '@keyroll/core/testing';
import { requestsBeforeStart } from '@keyroll/storage';
import type { VerificationEvent } from '@keyroll/verifier';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, type TestDatabase } from '../../../../test/support/databases.js';
import { RetiredKeySightings } from '../../src/analytics/retired-key-sightings.js';
import { RotationStartTraffic } from '../../src/analytics/rotation-start-traffic.js';

const T0 = Date.UTC(2026, 4, 1, 8, 0, 0);

function event(keyId: string, code: VerificationEvent['code'], at: number, ip?: string): VerificationEvent {
  return { at, code, keyId, consumerId: 'csm_1', ip, userAgent: undefined, durationMs: 0 };
}

describe('RetiredKeySightings', () => {
  it('keeps one entry per key and code, only for RETIRED and REVOKED, bounded in number', () => {
    const s = new RetiredKeySightings({ maxKeys: 2 });
    s.observe(event('key_a', 'VALID', T0));
    s.observe(event('key_a', 'NOT_FOUND', T0));
    expect(s.pending).toBe(false);
    s.observe(event('key_a', 'RETIRED', T0, '203.0.113.1'));
    s.observe(event('key_a', 'RETIRED', T0 + 5, '203.0.113.2'));
    s.observe(event('key_b', 'REVOKED', T0 + 1));
    s.observe(event('key_c', 'REVOKED', T0 + 2));
    const taken = s.take();
    expect(taken).toEqual([
      {
        keyId: 'key_a',
        consumerId: 'csm_1',
        code: 'RETIRED',
        count: 2,
        firstAt: T0,
        lastAt: T0 + 5,
        address: '203.0.113.2',
      },
      expect.objectContaining({ keyId: 'key_b', count: 1 }),
    ]);
    expect(s.pending).toBe(false);
    s.observe(event('key_a', 'RETIRED', T0 + 9));
    s.restore(taken);
    expect(s.take().find((x) => x.keyId === 'key_a')).toMatchObject({ count: 3, firstAt: T0, lastAt: T0 + 9 });
  });
});

const [sqlite] = DIALECTS;
describe.skipIf(!sqlite)('RotationStartTraffic', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    if (sqlite) db = await sqlite.create();
  });
  afterAll(() => db?.drop());

  it("counts a key's requests before a start, to the second, in the start's minute only", () => {
    const t = new RotationStartTraffic({ store: db.store, clock: new ManualClock(T0) });
    t.observe(event('key_a', 'VALID', T0 + 1_000));
    t.observe(event('key_a', 'RATE_LIMITED', T0 + 9_999));
    t.observe(event('key_a', 'VALID', T0 + 10_000));
    t.observe(event('key_b', 'VALID', T0 + 2_000));
    expect(t.before('key_a', T0 + 10_500)).toBe(2);
    expect(t.before('key_a', T0 + 11_000)).toBe(3);
    expect(t.before('key_c', T0 + 11_000)).toBe(0);
    // A minute without any counts is unknown; minutes older than the last three are forgotten.
    expect(t.before('key_a', T0 + 60_000)).toBeUndefined();
    t.observe(event('key_a', 'VALID', T0 + 3 * 60_000));
    expect(t.before('key_a', T0 + 10_500)).toBeUndefined();
  });

  it('reports, per rotation started since its last round, the requests before the start; prunes old totals', async () => {
    const clock = new ManualClock(T0 + 30_000);
    const t = new RotationStartTraffic({ store: db.store, clock, keepMs: 86_400_000 });
    await db.store.mutate((tx) =>
      tx.db
        .insertInto('monitoring_state')
        .values([
          { name: 'rotation.pre_start:key_old@1', value: '5', updated_at: T0 - 2 * 86_400_000 },
          { name: 'other.state', value: '1', updated_at: T0 - 2 * 86_400_000 },
        ])
        .execute(),
    );
    expect(await t.tick()).toBe(0);
    t.observe(event('key_a', 'VALID', T0 + 1_000));
    t.observe(event('key_a', 'VALID', T0 + 2_000));
    t.observe(event('key_a', 'VALID', T0 + 20_000));
    for (const [oldKeyId, emergency] of [
      ['key_a', false],
      ['key_a', true],
    ] as const) {
      await db.store.mutate((tx) =>
        tx.audit({
          at: T0 + 10_000,
          actor: 'root:key_root',
          action: 'rotation.started',
          targetType: 'rotation',
          targetId: `rot_${emergency}`,
          data: { oldKeyId, emergency },
        }),
      );
    }
    expect(await t.tick()).toBe(1);
    expect(await t.tick()).toBe(0);
    const rows = await db.store.db.selectFrom('monitoring_state').select(['name', 'value']).orderBy('name').execute();
    expect(rows).toEqual([
      { name: 'other.state', value: '1' },
      { name: `rotation.pre_start:key_a@${T0 + 10_000}`, value: '2' },
    ]);
    // A second node adds its own requests to the same total.
    const other = new RotationStartTraffic({ store: db.store, clock });
    await other.tick();
    other.observe(event('key_b', 'VALID', T0 + 1_000));
    other.observe(event('key_b', 'VALID', T0 + 11_000));
    await db.store.mutate((tx) =>
      tx.audit({
        at: T0 + 11_000,
        actor: 'root:key_root',
        action: 'rotation.started',
        targetType: 'rotation',
        targetId: 'rot_b',
        data: { oldKeyId: 'key_b', emergency: false },
      }),
    );
    expect(await other.tick()).toBe(1);
    expect(await requestsBeforeStart(db.store.db, 'key_b', T0 + 11_000)).toBe(1);
  });

  it('tracks at most maxKeys keys per minute', () => {
    const t = new RotationStartTraffic({ store: db.store, clock: new ManualClock(T0), maxKeys: 1 });
    t.observe(event('key_a', 'VALID', T0));
    t.observe(event('key_b', 'VALID', T0));
    expect(t.before('key_a', T0 + 1_000)).toBe(1);
    expect(t.before('key_b', T0 + 1_000)).toBe(0);
  });
});
