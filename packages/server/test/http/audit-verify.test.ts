import { statSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '@keyroll/core/testing';
import { ConfigError, createKeyroll, type Keyroll, loadConfig } from '@keyroll/server';
import { createStore } from '@keyroll/storage';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, type TestDatabase } from '../../../../test/support/databases.js';

const AUDIT_KEY = 'test-audit-key-0123456789abcdefghijklmnop';

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`GET /v1/audit/verify on ${dialect.name}`, () => {
    let db: TestDatabase;
    let kr: Keyroll;
    let rootKey: string;
    const clock = new ManualClock(Date.UTC(2026, 0, 1));

    beforeAll(async () => {
      db = await dialect.create();
      const config = loadConfig({
        KEYROLL_DATA_DIR: db.dataDir,
        KEYROLL_DATABASE_URL: db.url,
        KEYROLL_AUDIT_KEY: AUDIT_KEY,
      });
      // Small slices: a few hundred events already take many turns of the event loop.
      kr = await createKeyroll(config, { clock, store: db.store, scheduler: false, auditSliceSize: 5 });
      rootKey = kr.bootstrap?.rootKey ?? '';
      await appendEvents(300);
    });
    afterAll(async () => {
      await kr?.close();
      await db?.drop();
    });

    const appendEvents = (n: number) =>
      kr.store.mutate(async (tx) => {
        for (let i = 0; i < n; i++) {
          await tx.audit({ at: clock.now(), actor: 'test', action: 'test.event', targetType: 't', targetId: `t${i}` });
        }
      });
    const inject = (options: InjectOptions) =>
      kr.app.inject({ ...options, headers: { authorization: `Bearer ${rootKey}` } });
    const verify = async (query = '') => {
      const res = await inject({ method: 'GET', url: `/v1/audit/verify${query}` });
      expect(res.statusCode, res.body).toBe(200);
      return res.json();
    };
    const eventCount = async () =>
      Number(
        (
          await db.store.db
            .selectFrom('audit_events')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );

    it('re-hashes only what was appended since the last check; full=true re-hashes everything', async () => {
      const total = await eventCount();
      const first = await verify();
      expect(first).toMatchObject({ ok: true, events: total, checked: total, full: true, from: 0 });
      const before = kr.audit.stats.hashed;
      await appendEvents(7);
      const second = await verify();
      expect(second).toMatchObject({ ok: true, events: total + 7, checked: 7, full: false });
      expect(second.from).toBeGreaterThan(0);
      expect(kr.audit.stats.hashed - before).toBe(7);
      expect(await verify('?full=true')).toMatchObject({ ok: true, events: total + 7, checked: total + 7, full: true });
    });

    it('runs one check for 20 concurrent calls, each answering 200 with its result', async () => {
      const { runs, hashed } = kr.audit.stats;
      const total = await eventCount();
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => inject({ method: 'GET', url: '/v1/audit/verify?full=true' })),
      );
      for (const res of answers) {
        expect(res.statusCode).toBe(200);
        expect(res.json()).toMatchObject({ ok: true, events: total, full: true });
      }
      expect(kr.audit.stats.runs - runs).toBe(1);
      expect(kr.audit.stats.hashed - hashed).toBe(total);
    });

    it('serves another request on the same listener while a long check runs', async () => {
      const address = await kr.app.listen({ host: '127.0.0.1', port: 0 });
      const finished: string[] = [];
      let healthz: Promise<Response> | undefined;
      const onRequest = (req: { url?: string }, res: { on(event: 'finish', fn: () => void): void }) => {
        res.on('finish', () => finished.push(req.url ?? ''));
        // Once the check's request has arrived, ask for something cheap on a second connection.
        if (req.url?.startsWith('/v1/audit/verify')) healthz = fetch(`${address}/healthz`);
      };
      kr.app.server.on('request', onRequest);
      try {
        const check = await fetch(`${address}/v1/audit/verify?full=true`, {
          headers: { authorization: `Bearer ${rootKey}` },
        });
        expect(check.status).toBe(200);
        expect((await healthz)?.status).toBe(200);
        // The cheap request was answered before the check finished: the check did not hold the loop.
        expect(finished).toEqual(['/healthz', '/v1/audit/verify?full=true']);
      } finally {
        kr.app.server.off('request', onRequest);
      }
    });

    it('answers ok: false naming the missing range when the tail of the chain is deleted', async () => {
      await verify();
      const tail = await db.store.db.selectFrom('audit_events').select('seq').orderBy('seq', 'desc').limit(4).execute();
      const through = tail[0]?.seq ?? 0;
      const after = (tail.at(-1)?.seq ?? 0) - 1;
      await db.store.db
        .deleteFrom('audit_events')
        .where(
          'seq',
          'in',
          tail.map((r) => r.seq),
        )
        .execute();
      for (const query of ['', '?full=true']) {
        const report = await verify(query);
        expect(report, query).toMatchObject({ ok: false, reason: 'truncated', missing: { after, through } });
        expect(report.detail).toContain(`after #${after} through #${through} are missing`);
      }
      // A later append does not hide it: the sealed head keeps the alarm.
      await appendEvents(1);
      const later = await verify('?full=true');
      expect(later).toMatchObject({ ok: false, reason: 'head_alarm' });
      expect(later.detail).toContain(`the chain ended at #${after}`);
    });

    it('refuses to start a node whose audit key differs from the one that sealed the head', async () => {
      const store = createStore({ databaseUrl: db.url, dataDir: db.dataDir, poolSize: 2 });
      try {
        const config = loadConfig({
          KEYROLL_DATA_DIR: db.dataDir,
          KEYROLL_DATABASE_URL: db.url,
          KEYROLL_AUDIT_KEY: 'another-audit-key-0123456789abcdefghijklmn',
        });
        await expect(createKeyroll(config, { clock, store, scheduler: false })).rejects.toThrow(
          /not sealed with this node's audit key .*KEYROLL_AUDIT_KEY/,
        );
      } finally {
        await store.close();
      }
    });
  });
}

const sqlite = DIALECTS.find((d) => d.name === 'sqlite');

describe.skipIf(!sqlite?.available)('the audit key', () => {
  it('is created once in the data directory with mode 0600 when KEYROLL_AUDIT_KEY is unset', async () => {
    if (!sqlite) throw new Error('no sqlite dialect');
    const db = await sqlite.create();
    try {
      const kr = await createKeyroll(loadConfig({ KEYROLL_DATA_DIR: db.dataDir, KEYROLL_DATABASE_URL: db.url }), {
        store: db.store,
        scheduler: false,
      });
      await kr.close();
      const stat = statSync(join(db.dataDir, 'audit-key'));
      expect(stat.mode & 0o777).toBe(0o600);
      // A restart reads the same key: the head it sealed still verifies.
      const again = await createKeyroll(loadConfig({ KEYROLL_DATA_DIR: db.dataDir, KEYROLL_DATABASE_URL: db.url }), {
        store: db.store,
        scheduler: false,
      });
      expect((await again.audit.verify('full')).ok).toBe(true);
      await again.close();
    } finally {
      await db.drop();
    }
  });

  it('refuses a KEYROLL_AUDIT_KEY shorter than 32 characters', async () => {
    if (!sqlite) throw new Error('no sqlite dialect');
    const db = await sqlite.create();
    try {
      const config = loadConfig({
        KEYROLL_DATA_DIR: db.dataDir,
        KEYROLL_DATABASE_URL: db.url,
        KEYROLL_AUDIT_KEY: 'short',
      });
      await expect(createKeyroll(config, { store: db.store, scheduler: false })).rejects.toBeInstanceOf(ConfigError);
    } finally {
      await db.drop();
    }
  });
});
