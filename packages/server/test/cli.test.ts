import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseKey } from '@keyroll/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, type TestDatabase } from '../../../test/support/databases.js';
import { eventually } from '../../../test/support/eventually.js';
import { createHarness, type Harness } from '../../../test/support/harness.js';
import { assertBuilt, cli, cliJson, type RunningCli, startCli } from './cli/run-cli.js';

// The CLI is tested as users run it: the built `dist/cli.js`. The global setup
// (test/support/build-once.ts) builds it before any suite starts, also from a clean checkout.
beforeAll(assertBuilt);

/** A node on `db`, on a port the OS picks. */
const serveEnv = (db: TestDatabase) => ({
  KEYROLL_DATA_DIR: db.dataDir,
  KEYROLL_DATABASE_URL: db.url,
  KEYROLL_PORT: '0',
  KEYROLL_LOG_LEVEL: 'warn',
});

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`keyroll CLI against a running server on ${dialect.name}`, () => {
    let h: Harness;
    let env: Record<string, string>;
    beforeAll(async () => {
      h = await createHarness(dialect);
      const address = await h.kr.app.listen({ host: '127.0.0.1', port: 0 });
      env = { KEYROLL_URL: address, KEYROLL_ROOT_KEY: h.rootKey };
    });
    afterAll(() => h?.close());

    it('creates and lists consumers', async () => {
      const created = await cliJson(['consumers', 'create', '--name', 'Acme bot', '--external-id', 'acme-7'], env);
      expect(created).toMatchObject({ name: 'Acme bot', externalId: 'acme-7' });
      expect(await h.json('GET', `/v1/consumers/${created.id}`, undefined, 200)).toMatchObject({ name: 'Acme bot' });

      const listed = await cliJson(['consumers', 'list'], env);
      expect(listed.data.map((c: { id: string }) => c.id)).toContain(created.id);

      const human = await cli(['consumers', 'list'], env);
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(/^id\s+name\s+externalId/);
      expect(human.stdout).toContain(created.id);
    });

    it('creates, lists and revokes keys', async () => {
      const consumer = await cliJson(['consumers', 'create', '--name', 'Keys via CLI'], env);
      const key = await cliJson(
        [
          'keys',
          'create',
          '--consumer',
          consumer.id,
          '--name',
          'Production',
          '--scopes',
          'read,trade',
          '--expires-in',
          '90d',
        ],
        env,
      );
      expect(parseKey(key.key)?.prefix).toBe('kr_live');
      expect(key).toMatchObject({ consumerId: consumer.id, name: 'Production', scopes: ['read', 'trade'], version: 1 });
      expect(Date.parse(key.expiresAt) - h.clock.now()).toBe(90 * 86_400_000);
      expect(await h.json('POST', '/v1/keys/verify', { key: key.key, scopes: ['trade'] }, 200)).toMatchObject({
        valid: true,
      });

      const listed = await cliJson(['keys', 'list', '--consumer', consumer.id, '--status', 'active'], env);
      expect(listed.data.map((k: { id: string }) => k.id)).toEqual([key.id]);
      expect(JSON.stringify(listed)).not.toContain(key.key);

      const revoked = await cliJson(['keys', 'revoke', key.id, '--reason', 'leaked'], env);
      expect(revoked).toMatchObject({ id: key.id, status: 'revoked', revokeReason: 'leaked' });
      expect((await h.json('POST', '/v1/keys/verify', { key: key.key }, 200)).code).toBe('REVOKED');
      expect((await cliJson(['keys', 'list', '--consumer', consumer.id, '--status', 'active'], env)).data).toEqual([]);

      const human = await cli(['keys', 'create', '--consumer', consumer.id], env);
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(/secret \(shown once\): kr_live_\w+/);
      const again = await cli(['keys', 'revoke', key.id], env);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('409 KEY_NOT_ACTIVE');
    });

    it('rotates a key, lists, extends, completes and rolls back rotations', async () => {
      const consumer = await cliJson(['consumers', 'create', '--name', 'Rotations via CLI'], env);
      const key = await cliJson(['keys', 'create', '--consumer', consumer.id], env);
      const rotated = await cliJson(['keys', 'rotate', key.id, '--grace', '1h'], env);
      expect(rotated.rotation).toMatchObject({ state: 'rolling', oldKeyId: key.id, newKeyId: rotated.newKeyId });
      expect(await h.json('POST', '/v1/keys/verify', { key: key.key }, 200)).toMatchObject({ deprecated: true });
      expect(await h.json('POST', '/v1/keys/verify', { key: rotated.key }, 200)).toMatchObject({ valid: true });

      const listed = await cliJson(['rotations', 'list', '--consumer', consumer.id, '--state', 'rolling'], env);
      expect(listed.data.map((r: { id: string }) => r.id)).toEqual([rotated.rotation.id]);
      const extended = await cliJson(['rotations', 'extend', rotated.rotation.id, '--by', '2h'], env);
      expect(Date.parse(extended.retiresAt) - Date.parse(rotated.rotation.retiresAt)).toBe(2 * 3_600_000);
      const completed = await cliJson(['rotations', 'complete', rotated.rotation.id], env);
      expect(completed.state).toBe('completed');
      expect((await h.json('POST', '/v1/keys/verify', { key: key.key }, 200)).code).toBe('RETIRED');

      const second = await cliJson(['keys', 'rotate', rotated.newKeyId, '--grace', '1h'], env);
      const rolledBack = await cliJson(['rotations', 'rollback', second.rotation.id], env);
      expect(rolledBack.state).toBe('rolled_back');
      expect((await h.json('POST', '/v1/keys/verify', { key: second.key }, 200)).code).toBe('REVOKED');
      const human = await cli(['keys', 'rotate', rotated.newKeyId, '--grace', '0'], env);
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(/secret \(shown once\): kr_live_\w+/);
      expect((await h.json('POST', '/v1/keys/verify', { key: rotated.key }, 200)).code).toBe('REVOKED');
    });

    it('takes --url and --root-key flags, and fails with the problem code', async () => {
      const flags = ['--url', env.KEYROLL_URL ?? '', '--root-key', h.rootKey];
      expect((await cli([...flags, 'consumers', 'list', '--json'])).code).toBe(0);

      const unknown = await cli([...flags, 'keys', 'revoke', 'key_unknown']);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/^keyroll: 404 NOT_FOUND/);

      const narrow = await h.rootKeyWith(['consumers:read']);
      const forbidden = await cli(['consumers', 'create', '--name', 'x'], { ...env, KEYROLL_ROOT_KEY: narrow });
      expect(forbidden.code).toBe(1);
      expect(forbidden.stderr).toContain('403 FORBIDDEN');

      const invalid = await cli(['keys', 'list', '--status', 'bogus'], env);
      expect(invalid.code).not.toBe(0);
      const noKey = await cli(['consumers', 'list'], {
        KEYROLL_URL: env.KEYROLL_URL ?? '',
        KEYROLL_DATA_DIR: join(h.db.dataDir, 'nowhere'),
      });
      expect(noKey.code).toBe(1);
      expect(noKey.stderr).toContain('no root key');
    });
    it('keys rotate writes the successor to the root-key file when it rotated the key read from that file', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'keyroll-cli-rotate-'));
      try {
        const file = join(dir, 'root-key');
        const star = await h.json('POST', '/v1/keys', { consumerId: 'root', scopes: ['*'] }, 201);
        writeFileSync(file, `${star.key}\n`, { mode: 0o600 });
        const fromFile = { KEYROLL_URL: env.KEYROLL_URL ?? '', KEYROLL_DATA_DIR: dir };

        // Another key rotated with the file's key: the file is left alone.
        const consumer = await h.json('POST', '/v1/consumers', { name: 'rotated via CLI' }, 201);
        const plain = await h.json('POST', '/v1/keys', { consumerId: consumer.id }, 201);
        const other = await cliJson(['keys', 'rotate', plain.id, '--grace', '1h'], fromFile);
        expect(other.rootKeyFile).toBeUndefined();
        expect(readFileSync(file, 'utf8')).toBe(`${star.key}\n`);

        // The file's own key rotated from an explicit --root-key: the file is left alone too.
        const explicit = await h.json('POST', '/v1/keys', { consumerId: 'root', scopes: ['*'] }, 201);
        writeFileSync(file, `${explicit.key}\n`, { mode: 0o600 });
        const viaFlag = await cliJson(
          ['keys', 'rotate', explicit.id, '--grace', '1h', '--root-key', explicit.key],
          fromFile,
        );
        expect(viaFlag.rootKeyFile).toBeUndefined();
        expect(readFileSync(file, 'utf8')).toBe(`${explicit.key}\n`);

        // The file's key rotated with that key: the successor replaces it (0600) and works.
        writeFileSync(file, `${star.key}\n`, { mode: 0o600 });
        const rotated = await cliJson(['keys', 'rotate', star.id, '--grace', '1h'], fromFile);
        expect(rotated.rootKeyFile).toBe(file);
        expect(readFileSync(file, 'utf8').trim()).toBe(rotated.key);
        expect(statSync(file).mode & 0o777).toBe(0o600);
        const human = await cli(['keys', 'rotate', star.id, '--grace', '1h'], fromFile);
        expect(human.stdout).not.toContain(rotated.key);
        expect(human.code).not.toBe(0); // the old key is already rotated: the CLI said so, the file kept the successor
        expect(readFileSync(file, 'utf8').trim()).toBe(rotated.key);
        const listed = await cliJson(['consumers', 'list'], fromFile);
        expect(listed.data.length).toBeGreaterThan(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe.skipIf(!dialect.available)(`keyroll serve on ${dialect.name}`, () => {
    let db: TestDatabase;
    let child: RunningCli | undefined;
    beforeAll(async () => {
      db = await dialect.create();
    });
    afterAll(async () => {
      if (child && child.proc.exitCode === null) child.proc.kill('SIGKILL');
      await db?.drop();
    });

    it('starts, prints the root key once, and the CLI finds it in the data directory', async () => {
      const proc = startCli(['serve'], serveEnv(db));
      child = proc;
      await eventually(
        () => /Try: curl/.test(proc.output()) || proc.proc.exitCode !== null,
        'the server to start',
        20_000,
      ).catch(() => undefined);
      const out = proc.output();
      const address = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
      expect(address, out).toBeDefined();
      const rootKey = readFileSync(join(db.dataDir, 'root-key'), 'utf8').trim();
      expect(parseKey(rootKey)?.prefix).toBe('kr_root');
      expect(out.split(rootKey)).toHaveLength(2);

      // No --root-key: the CLI reads <KEYROLL_DATA_DIR>/root-key.
      const cliEnv = { KEYROLL_URL: address ?? '', KEYROLL_DATA_DIR: db.dataDir };
      const consumer = await cliJson(['consumers', 'create', '--name', 'from serve'], cliEnv);
      const key = await cliJson(['keys', 'create', '--consumer', consumer.id], cliEnv);
      expect((await cliJson(['keys', 'list', '--consumer', consumer.id], cliEnv)).data).toHaveLength(1);
      await cliJson(['keys', 'revoke', key.id], cliEnv);
      expect(out).not.toContain(key.key);

      expect(await proc.stop()).toBe(0);
    });

    it('--json: the start is one JSON line (no root key once one exists)', async () => {
      const proc = startCli(['serve', '--json'], serveEnv(db));
      child = proc;
      const started = await proc.startLine();
      expect(started).toEqual({
        url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
        storage: dialect.name === 'sqlite' ? 'sqlite' : 'postgres',
        docs: `${started.url}/docs`,
        dashboard: `${started.url}/dashboard`,
        health: `${started.url}/healthz`,
      });
      expect((await fetch(started.health)).status).toBe(200);
      expect(await proc.stop()).toBe(0);
    });
  });
}
