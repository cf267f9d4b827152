import { ManualClock } from '@keyroll/core/testing';
import { createKeyroll, loadConfig } from '@keyroll/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, type TestDatabase } from '../../../../test/support/databases.js';

const AUDIT_KEY = 'test-audit-key-0123456789abcdefghijklmnop';

// Security finding: a node started on a chain whose sealed head was deleted re-sealed the chain's
// current end with only a warning in the log, so "delete the head, cut the tail, wait for a restart"
// erased the evidence. Now the start is refused unless the operator accepts the chain explicitly.
for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`a start on an audit chain with no sealed head on ${dialect.name}`, () => {
    let db: TestDatabase;
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const config = (env: Record<string, string> = {}) =>
      loadConfig({ KEYROLL_DATA_DIR: db.dataDir, KEYROLL_DATABASE_URL: db.url, KEYROLL_AUDIT_KEY: AUDIT_KEY, ...env });

    beforeAll(async () => {
      db = await dialect.create();
      const kr = await createKeyroll(config(), { clock, store: db.store, scheduler: false });
      await kr.close();
      // The attacker with database access: cut the tail and delete the head that would tell.
      const last = await db.store.db.selectFrom('audit_events').select('seq').orderBy('seq', 'desc').executeTakeFirst();
      await db.store.db
        .deleteFrom('audit_events')
        .where('seq', '=', last?.seq ?? 0)
        .execute();
      await db.store.db.deleteFrom('audit_head').execute();
    });
    afterAll(async () => {
      await db?.drop();
    });

    it('is refused, saying what happened and how to accept the chain, and seals nothing', async () => {
      const refused = await createKeyroll(config(), { clock, store: db.store, scheduler: false }).then(
        async (kr) => {
          await kr.close();
          return null;
        },
        (e: unknown) => e,
      );
      expect(refused).toMatchObject({ name: 'AuditHeadMissingError' });
      expect(String(refused)).toMatch(/sealed head is missing.*KEYROLL_AUDIT_ACCEPT_BROKEN_CHAIN=1/);
      expect(await db.store.db.selectFrom('audit_head').selectAll().execute()).toEqual([]);
    });

    it('starts with KEYROLL_AUDIT_ACCEPT_BROKEN_CHAIN=1, sealing the current end', async () => {
      const kr = await createKeyroll(config({ KEYROLL_AUDIT_ACCEPT_BROKEN_CHAIN: '1' }), {
        clock,
        store: db.store,
        scheduler: false,
      });
      try {
        expect((await kr.audit.verify('full')).ok).toBe(true);
      } finally {
        await kr.close();
      }
      // Sealed once: the next start needs no override.
      const again = await createKeyroll(config(), { clock, store: db.store, scheduler: false });
      await again.close();
    });
  });
}
