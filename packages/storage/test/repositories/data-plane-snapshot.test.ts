import {
  type ConsumerRecord,
  DATA_PLANE_KEY_FIELDS,
  type DataPlaneKey,
  type DataPlaneKeyForm,
  insertConsumer,
  insertKeysUnlogged,
  type KeyRecord,
  readChangeLogHead,
  readDataPlaneSnapshot,
  revokeKey,
  streamDataPlaneSnapshot,
} from '@keyroll/storage';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, type TestDatabase } from '../../../../test/support/databases.js';
import { ACTOR, consumer, key, seed } from './records.js';

/** Reads the snapshot through {@link streamDataPlaneSnapshot}, noting each page's size. */
async function streamed(
  t: TestDatabase,
  pageSize: number,
  between?: () => Promise<void>,
  keyForm: DataPlaneKeyForm = 'object',
) {
  const out = {
    seq: -1,
    keyCount: -1,
    keys: [] as DataPlaneKey[],
    consumers: [] as ConsumerRecord[],
    plans: 0,
    pages: [] as number[],
  };
  await streamDataPlaneSnapshot(
    t.store,
    {
      head: (seq, keyCount) => {
        out.seq = seq;
        out.keyCount = keyCount;
      },
      keys: async (page) => {
        out.pages.push(page.length);
        for (const json of page) {
          const value = JSON.parse(json) as DataPlaneKey | unknown[];
          out.keys.push(Array.isArray(value) ? fromArray(value) : value);
        }
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
    keyForm,
  );
  return out;
}

/** A key from its array form: its values in DATA_PLANE_KEY_FIELDS order. */
function fromArray(values: unknown[]): DataPlaneKey {
  expect(values).toHaveLength(DATA_PLANE_KEY_FIELDS.length);
  return Object.fromEntries(DATA_PLANE_KEY_FIELDS.map((f, i) => [f, values[i]])) as unknown as DataPlaneKey;
}

/** The fields of a stored key the data plane sends. */
function dataPlaneKeyOf(k: KeyRecord): DataPlaneKey {
  return {
    hash: k.hash,
    id: k.id,
    consumerId: k.consumerId,
    name: k.name,
    version: k.version,
    lineageId: k.lineageId,
    predecessorId: k.predecessorId,
    scopes: k.scopes,
    metadata: k.metadata,
    allowedIps: k.allowedIps,
    rateLimit: k.rateLimit,
    quota: k.quota,
    planId: k.planId,
    expiresAt: k.expiresAt,
    retiresAt: k.retiresAt,
    revokedAt: k.revokedAt,
  };
}

/** A checkpoint that waits for no one: it copies the WAL into the database only up to what every open read still needs. */
async function passiveCheckpoint(t: TestDatabase): Promise<{ log: number; checkpointed: number }> {
  const { rows } = await sql<{ log: number; checkpointed: number }>`pragma wal_checkpoint(PASSIVE)`.execute(t.store.db);
  return rows[0] as { log: number; checkpointed: number };
}

/** A promise and what settles it, for a test to hold a sink where it wants. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
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
      // Keys using every field the data plane sends, with text JSON must escape.
      await insertKeysUnlogged(t.store.db, [
        {
          ...key('k-x-full', 'c2', 1000, {
            name: 'Prod "main" \\ key\n\t— ключ 🔑',
            version: 7,
            predecessorId: 'k-00001',
            scopes: ['read', 'trade:"x"', 'é'],
            metadata: { team: 'a"b', n: 12.5, big: 1_700_000_000_123, deep: { list: [1, null, true, 'x'] }, '': '' },
            allowedIps: ['10.0.0.0/8', '2001:db8::/32'],
            rateLimit: { limit: 10, windowMs: 1000 },
            quota: { limit: 5000, period: 'month' },
            planId: 'pln_1',
            expiresAt: 1_800_000_000_000,
            retiresAt: 1_790_000_000_000,
            revokedAt: 1_780_000_000_001,
            revokeReason: 'leaked',
            lastUsedAt: 1_770_000_000_000,
          }),
          lineageId: 'k-00001',
        },
        { ...key('k-x-empty-json', 'c3', 1000, { scopes: [] }), lineageId: 'k-x-empty-json' },
      ]);
      // A row older than the lineage column, and nullable JSON columns left empty rather than NULL.
      await t.store.db
        .updateTable('keys')
        .set({ lineage_id: null, allowed_ips: '', rate_limit: '', quota: '' })
        .where('id', '=', 'k-x-empty-json')
        .execute();
    });
    afterAll(() => t?.drop());

    it('hands every key, consumer and plan over exactly once, in id order, page by page', async () => {
      const whole = await readDataPlaneSnapshot(t.store.db);
      for (const pageSize of [7, 1000, 2504, 5000]) {
        const s = await streamed(t, pageSize);
        expect(s.seq).toBe(whole.seq);
        expect(s.keyCount).toBe(whole.keys.length);
        expect(s.keys.map((k) => k.id)).toEqual(whole.keys.map((k) => k.id));
        expect(s.consumers.map((c) => c.id)).toEqual(['c1', 'c2', 'c3']);
        expect(Math.max(...s.pages)).toBeLessThanOrEqual(pageSize);
        expect(s.pages.length).toBe(Math.ceil(2504 / pageSize));
      }
      expect(whole.keys).toHaveLength(2504);
    });

    it("writes each key's JSON in the database exactly as decodeKey reads the row", async () => {
      const whole = await readDataPlaneSnapshot(t.store.db);
      const s = await streamed(t, 1000);
      expect(s.keys).toEqual(whole.keys.map(dataPlaneKeyOf));
      // The array form holds the same values, in DATA_PLANE_KEY_FIELDS order.
      expect((await streamed(t, 1000, undefined, 'array')).keys).toEqual(s.keys);
      const full = s.keys.find((k) => k.id === 'k-x-full');
      expect(full).toMatchObject({
        name: 'Prod "main" \\ key\n\t— ключ 🔑',
        metadata: { team: 'a"b', n: 12.5, big: 1_700_000_000_123, deep: { list: [1, null, true, 'x'] }, '': '' },
        allowedIps: ['10.0.0.0/8', '2001:db8::/32'],
        rateLimit: { limit: 10, windowMs: 1000 },
        revokedAt: 1_780_000_000_001,
        lineageId: 'k-00001',
      });
      expect(Object.keys(full ?? {})).not.toContain('hint');
      expect(s.keys.find((k) => k.id === 'k-x-empty-json')).toMatchObject({
        lineageId: 'k-x-empty-json',
        scopes: [],
        allowedIps: null,
        rateLimit: null,
        quota: null,
      });
    });

    it('reads every page at the head it started at, while others write', async () => {
      const headBefore = await readChangeLogHead(t.store.db);
      let wrote = false;
      const s = await streamed(t, 500, async () => {
        if (wrote) return;
        wrote = true;
        // Committed between two pages (through the store, while the snapshot's read is open): neither
        // the revocation nor its change show.
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

    it('leaves the store free to write and read while a snapshot is held mid-way (a client not reading)', async () => {
      const headBefore = await readChangeLogHead(t.store.db);
      const held = gate();
      const release = gate();
      const seen: DataPlaneKey[] = [];
      let pages = 0;
      const reading = streamDataPlaneSnapshot(
        t.store,
        {
          head: () => {},
          keys: async (page) => {
            for (const json of page) seen.push(JSON.parse(json) as DataPlaneKey);
            if (++pages === 1) {
              held.open();
              await release.opened;
            }
          },
          consumers: () => {},
          plans: () => {},
        },
        100,
      );
      await held.opened;
      // The snapshot is parked after its first page, its read still open: these complete regardless.
      const c4 = await seed(t.store, consumer('c4'), [key('k-late', 'c4')]);
      expect(c4).toHaveLength(1);
      await t.store.mutate((tx) =>
        revokeKey(tx, { id: 'k-02100', hash: 'hash-of-k-02100', consumerId: 'c1' }, 'test', {
          at: 3000,
          actor: ACTOR,
        }),
      );
      expect(await readChangeLogHead(t.store.db)).toBeGreaterThan(headBefore);
      release.open();
      await reading;
      // The snapshot still shows the database as it was at its head.
      expect(seen.find((k) => k.id === 'k-02100')?.revokedAt).toBeNull();
      expect(seen.some((k) => k.id === 'k-late')).toBe(false);
      const after = await streamed(t, 1000);
      expect(after.seq).toBeGreaterThan(headBefore);
      expect(after.keys.find((k) => k.id === 'k-02100')?.revokedAt).toBe(3000);
      expect(after.keys.some((k) => k.id === 'k-late')).toBe(true);
    });

    it.runIf(dialect.name === 'sqlite')(
      'on SQLite, reads in a transaction of its own that ends when its sink gives up (the client went away)',
      async () => {
        const held = gate();
        const release = gate();
        const reading = streamDataPlaneSnapshot(
          t.store,
          {
            head: () => {},
            keys: async () => {
              held.open();
              await release.opened;
              throw new Error('the client went away');
            },
            consumers: () => {},
            plans: () => {},
          },
          100,
        );
        await held.opened;
        await seed(t.store, consumer('c5'));
        // The open read still needs the database as it was: the WAL cannot be copied back past it.
        const pinned = await passiveCheckpoint(t);
        expect(pinned.checkpointed).toBeLessThan(pinned.log);
        release.open();
        await expect(reading).rejects.toThrow('the client went away');
        const freed = await passiveCheckpoint(t);
        expect(freed.checkpointed).toBe(freed.log);
      },
    );

    it('refuses a page size that is not a positive integer', () => {
      const sink = { head: () => {}, keys: () => {}, consumers: () => {}, plans: () => {} };
      expect(() => streamDataPlaneSnapshot(t.store, sink, 0)).toThrow(RangeError);
    });
  });
}
