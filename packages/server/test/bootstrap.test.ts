import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashKey, parseKey } from '@keyroll/core';
import { ManualClock } from '@keyroll/core/testing';
import { createKeyroll, loadConfig } from '@keyroll/server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, type TestDatabase } from '../../../test/support/databases.js';

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`first start on ${dialect.name}`, () => {
    let db: TestDatabase;
    let dataDir: string;
    beforeEach(async () => {
      db = await dialect.create();
      // A data directory that does not exist yet: the first start makes it.
      dataDir = join(db.dataDir, 'nested', 'data');
    });
    afterEach(() => db?.drop());

    const start = () =>
      createKeyroll(loadConfig({ KEYROLL_DATA_DIR: dataDir, KEYROLL_DATABASE_URL: db.url }), {
        clock: new ManualClock(),
        store: db.store,
      });
    const rootKeys = () => db.store.db.selectFrom('keys').selectAll().where('consumer_id', '=', 'root').execute();
    const auditCount = async () => (await db.store.db.selectFrom('audit_events').select('id').execute()).length;

    it('creates exactly one root key with *, written to <dataDir>/root-key with mode 0600', async () => {
      const kr = await start();
      try {
        const boot = kr.bootstrap;
        if (!boot) throw new Error('expected a first start');
        expect(parseKey(boot.rootKey)?.prefix).toBe('kr_root');
        expect(boot.rootKeyFile).toBe(join(dataDir, 'root-key'));
        expect(readFileSync(boot.rootKeyFile, 'utf8')).toBe(`${boot.rootKey}\n`);
        expect(statSync(boot.rootKeyFile).mode & 0o777).toBe(0o600);
        // The data directory holds the root key (and, on SQLite, the database): owner only.
        expect(statSync(dataDir).mode & 0o777).toBe(0o700);

        const rows = await rootKeys();
        expect(rows).toHaveLength(1);
        expect(rows[0]).toMatchObject({ hash: hashKey(boot.rootKey), scopes: '["*"]', revoked_at: null });
        const res = await kr.app.inject({
          method: 'GET',
          url: '/v1/keys',
          headers: { authorization: `Bearer ${boot.rootKey}` },
        });
        expect(res.statusCode).toBe(200);
      } finally {
        await kr.close();
      }
    });

    it('creates nothing on a second start, even when the key file is gone', async () => {
      const first = await start();
      const rootKey = first.bootstrap?.rootKey;
      await first.close();
      const events = await auditCount();
      unlinkSync(join(dataDir, 'root-key'));

      const second = await start();
      try {
        expect(second.bootstrap).toBeNull();
        expect(existsSync(join(dataDir, 'root-key'))).toBe(false);
        expect(await rootKeys()).toHaveLength(1);
        expect(await auditCount()).toBe(events);
        const res = await second.app.inject({
          method: 'GET',
          url: '/v1/consumers',
          headers: { authorization: `Bearer ${rootKey}` },
        });
        expect(res.statusCode).toBe(200);
      } finally {
        await second.close();
      }
    });

    it('does not make a new root key after every root key was revoked', async () => {
      const first = await start();
      await first.close();
      await db.store.db.updateTable('keys').set({ revoked_at: 1 }).where('consumer_id', '=', 'root').execute();
      const second = await start();
      await second.close();
      expect(second.bootstrap).toBeNull();
      expect(await rootKeys()).toHaveLength(1);
    });

    it("never overwrites another store's root-key file: refuses to start, naming the file and the fix", async () => {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      const file = join(dataDir, 'root-key');
      const foreign = 'kr_root_belongs_to_another_store\n';
      writeFileSync(file, foreign, { mode: 0o600 });
      const error = await start().then(
        (kr) => kr.close().then(() => null),
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
      expect(String(error)).toContain(file);
      expect(String(error)).toMatch(/Move the file away.*KEYROLL_DATA_DIR/);
      expect(readFileSync(file, 'utf8')).toBe(foreign);
      // Nothing was created: the next start, once the file is moved away, is still the first one.
      expect(await rootKeys()).toHaveLength(0);
      unlinkSync(file);
      const kr = await start();
      try {
        expect(kr.bootstrap?.rootKeyFile).toBe(file);
        expect(statSync(dataDir).mode & 0o777).toBe(0o700);
        expect(statSync(file).mode & 0o777).toBe(0o600);
      } finally {
        await kr.close();
      }
    });

    // Nodes with their own connections in one process: only on dialects that can (DialectCaps.twoNodes).
    it.skipIf(!dialect.caps.twoNodes)(
      'makes one root key when nodes with their own connections start at once',
      async () => {
        const ownConnection = () =>
          createKeyroll(loadConfig({ KEYROLL_DATA_DIR: dataDir, KEYROLL_DATABASE_URL: db.url }), {
            clock: new ManualClock(),
          });
        const nodes = await Promise.all([start(), ownConnection(), ownConnection()]);
        try {
          expect(nodes.filter((n) => n.bootstrap !== null)).toHaveLength(1);
          expect(await rootKeys()).toHaveLength(1);
        } finally {
          for (const n of nodes) await n.close();
        }
      },
    );
  });
}

describe('first start with the default storage', () => {
  it('opens SQLite in the data directory when no database URL is set', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'keyroll-boot-'));
    try {
      const kr = await createKeyroll(loadConfig({ KEYROLL_DATA_DIR: dataDir }), { clock: new ManualClock() });
      expect(kr.store.dialect).toBe('sqlite');
      expect(kr.bootstrap?.rootKeyFile).toBe(join(dataDir, 'root-key'));
      await kr.close();
      expect(readdirSync(dataDir)).toContain('root-key');
      expect(readdirSync(dataDir).some((f) => f.endsWith('.db') || f.includes('sqlite'))).toBe(true);
      const again = await createKeyroll(loadConfig({ KEYROLL_DATA_DIR: dataDir }), { clock: new ManualClock() });
      expect(again.bootstrap).toBeNull();
      await again.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
