import { listAuditEvents, readAuditSeqHead } from '@keyroll/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, type TestDatabase } from '../../../../test/support/databases.js';

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`following the audit log on ${dialect.name}`, () => {
    let t: TestDatabase;
    beforeAll(async () => {
      t = await dialect.create();
    });
    afterAll(() => t?.drop());

    it('starts a new follower at the head, or at an instant when it has no cursor', async () => {
      expect(await readAuditSeqHead(t.store.db)).toBe(0);
      for (const at of [100, 200, 300]) {
        await t.store.mutate((tx) =>
          tx.audit({ at, actor: 'system:test', action: 'alert.raised', targetType: 'alert', targetId: `a${at}` }),
        );
      }
      const all = await listAuditEvents(t.store.db, { limit: 10 });
      expect(await readAuditSeqHead(t.store.db)).toBe(all[2]?.seq);
      const since = await listAuditEvents(t.store.db, { fromAt: 200, action: 'alert.raised', limit: 10 });
      expect(since.map((e) => e.targetId)).toEqual(['a200', 'a300']);
      expect(await listAuditEvents(t.store.db, { fromAt: 200, action: 'key.created', limit: 10 })).toEqual([]);
    });
  });
}
