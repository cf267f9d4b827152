import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, type TestDatabase } from '../../../../test/support/databases.js';
import { eventually } from '../../../../test/support/eventually.js';
import { type Receiver, signatureHeaders, startReceiver } from './receiver.js';

const ROOT = join(import.meta.dirname, '../../../..');
const CLI = join(ROOT, 'packages/server/dist/cli.js');

/** A keyroll server in a child process (the built CLI), and the address it listens on. */
async function startServer(db: TestDatabase): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, 'serve'], {
    env: {
      ...process.env,
      KEYROLL_DATA_DIR: db.dataDir,
      KEYROLL_DATABASE_URL: db.url,
      KEYROLL_PORT: '0',
      KEYROLL_LOG_LEVEL: 'warn',
      KEYROLL_WEBHOOK_ALLOW_PRIVATE: '1',
      KEYROLL_WEBHOOK_RETRY_BASE_MS: '50',
      // An attempt cut off by the kill is retried once its claim (time-out + 5 s) has lapsed.
      KEYROLL_WEBHOOK_TIMEOUT_MS: '1000',
      KEYROLL_USAGE_FLUSH_MS: '200',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 20_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
  return { child, url };
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`webhooks survive kill -9 on ${dialect.name}`, () => {
    let db: TestDatabase;
    let rx: Receiver;
    let child: ChildProcess | undefined;
    beforeAll(async () => {
      execFileSync('npx', ['tsc', '-b'], { cwd: ROOT, stdio: 'inherit' });
      db = await dialect.create();
      rx = await startReceiver();
    }, 120_000);
    afterAll(async () => {
      if (child && child.exitCode === null) {
        child.kill('SIGTERM');
        await exited(child);
      }
      await rx?.close();
      await db?.drop();
    });

    it('delivers events written before a SIGKILL after the restart', { timeout: 60_000 }, async () => {
      rx.respond = () => 503;
      const first = await startServer(db);
      child = first.child;
      const rootKey = readFileSync(join(db.dataDir, 'root-key'), 'utf8').trim();
      const call = async <T extends { id: string }>(path: string, body: unknown): Promise<T> => {
        const res = await fetch(`${first.url}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${rootKey}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        expect(res.status).toBe(201);
        return (await res.json()) as T;
      };
      const hook = await call<{ id: string; secret: string }>('/v1/webhooks', { url: rx.url, events: ['key.created'] });
      const consumer = await call('/v1/consumers', { name: 'crash test' });
      const keyIds: string[] = [];
      for (const name of ['a', 'b', 'c']) keyIds.push((await call('/v1/keys', { consumerId: consumer.id, name })).id);
      await rx.waitFor(1, 15_000);

      child.kill('SIGKILL');
      await exited(child);
      rx.respond = () => 200;
      const delivered = () => rx.received.filter((r) => r.status === 200);

      child = (await startServer(db)).child;
      await eventually(
        () => new Set(delivered().map((r) => r.headers['webhook-id'])).size >= 3,
        'three deliveries after the restart',
        30_000,
      );
      const verifier = new Webhook(hook.secret);
      const got = delivered().map((r) => verifier.verify(r.body, signatureHeaders(r)));
      const keys = new Set(got.map((e) => (e as { data: { keyId: string } }).data.keyId));
      expect(keys).toEqual(new Set(keyIds));
    });
  });
}
