import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { watchRotation } from '../../src/cli/rotation-watch.js';
import { assertBuilt, cli } from './run-cli.js';
import { spawnCli } from './spawn-cli.js';

beforeAll(assertBuilt);

/** The escape characters and carriage returns in `text`: piped output must hold none. */
function terminalControl(text: string): string[] {
  return [...text].filter((ch) => ch === '\x1b' || ch === '\r');
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`keyroll rotations watch and keys rotate --wait on ${dialect.name}`, () => {
    let h: Harness;
    let env: Record<string, string>;
    beforeAll(async () => {
      h = await createHarness(dialect);
      env = { KEYROLL_URL: await h.kr.app.listen({ host: '127.0.0.1', port: 0 }), KEYROLL_ROOT_KEY: h.rootKey };
    });
    afterAll(() => h?.close());

    const rotate = async () => {
      const { keyId } = await h.consumerWithKey();
      return h.json('POST', `/v1/keys/${keyId}/rotate`, { gracePeriod: '1d' }, 201);
    };

    it('rotations watch: plain lines when piped, exit 0 once the rotation completes', async () => {
      const { rotation, key } = await rotate();
      const watch = spawnCli(['rotations', 'watch', rotation.id, '--interval', '100ms'], env);
      await watch.printed(new RegExp(`^${rotation.id} rolling: - on the new key \\(0 new, 0 old requests\\)`));
      await h.json('POST', '/v1/keys/verify', { key }, 200);
      await watch.printed(/rolling: 100\.0% on the new key \(1 new, 0 old requests\)/);
      await h.json('POST', `/v1/rotations/${rotation.id}/complete`, undefined, 200);
      expect(await watch.exited).toBe(0);
      const lines = watch.stdout().trimEnd().split('\n');
      expect(lines.at(-1)).toMatch(new RegExp(`^rotation ${rotation.id} completed`));
      expect(lines.at(-2)).toMatch(/ completed: 100\.0% on the new key/);
      expect(lines.every((l) => l.includes(rotation.id))).toBe(true);
      // A line per change, not per poll: the unchanged polls in between printed nothing.
      expect(lines).toHaveLength(4);
      expect(terminalControl(watch.stdout())).toEqual([]);
      expect(watch.stdout()).toContain(`deadline ${rotation.retiresAt}`);
    });

    it('keys rotate --wait: the secret first, then progress; exit 3 when rolled back', async () => {
      const { keyId } = await h.consumerWithKey();
      const run = spawnCli(['keys', 'rotate', keyId, '--grace', '1h', '--wait', '--interval', '100ms'], env);
      await run.printed(/ rolling: /);
      const [first, second] = run.stdout().split('\n');
      expect(first).toMatch(/^secret \(shown once\): kr_live_\w+$/);
      const rotationId = /^rotation (rot_\w+): /.exec(second ?? '')?.[1];
      expect(rotationId).toBeDefined();
      await h.json('POST', `/v1/rotations/${rotationId}/rollback`, undefined, 200);
      expect(await run.exited).toBe(3);
      expect(run.stdout().trimEnd().split('\n').at(-1)).toMatch(
        new RegExp(`^rotation ${rotationId} was rolled back: the old key is active again`),
      );
      expect(terminalControl(run.stdout())).toEqual([]);
    });

    it('--json: the rotate answer on one line, then NDJSON progress lines', async () => {
      const { keyId } = await h.consumerWithKey();
      const run = spawnCli(['keys', 'rotate', keyId, '--grace', '1h', '--wait', '--json', '--interval', '100ms'], env);
      await run.printed(/"state":"rolling"/);
      const answer = JSON.parse(run.stdout().split('\n')[0] ?? '');
      expect(answer.key).toMatch(/^kr_live_/);
      await h.json('POST', '/v1/keys/verify', { key: answer.key }, 200);
      await run.printed(/"shareOnNew":1/);
      await h.json('POST', `/v1/rotations/${answer.rotation.id}/complete`, undefined, 200);
      expect(await run.exited).toBe(0);
      const lines = run
        .stdout()
        .trimEnd()
        .split('\n')
        .slice(1)
        .map((l) => JSON.parse(l));
      expect(lines.map((l) => [l.state, l.shareOnNew])).toEqual([
        ['rolling', null],
        ['rolling', 1],
        ['completed', 1],
      ]);
      expect(lines[0]).toEqual({
        rotationId: answer.rotation.id,
        state: 'rolling',
        shareOnNew: null,
        oldKeyRequests: 0,
        newKeyRequests: 0,
        oldKeyLastSeenAt: null,
        retiresAt: answer.rotation.retiresAt,
        deadlineInMs: expect.any(Number),
        endReason: null,
      });

      const rolledBack = (await rotate()).rotation;
      await h.json('POST', `/v1/rotations/${rolledBack.id}/rollback`, undefined, 200);
      const ended = await cli(['rotations', 'watch', rolledBack.id, '--json'], env);
      expect(ended.code).toBe(3);
      expect(JSON.parse(ended.stdout)).toMatchObject({ rotationId: rolledBack.id, state: 'rolled_back' });
    });

    it('refuses a bad --interval before rotating, and reports an unknown rotation', async () => {
      const { keyId } = await h.consumerWithKey();
      const bad = await cli(['keys', 'rotate', keyId, '--grace', '1h', '--wait', '--interval', 'often'], env);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('--interval');
      expect((await h.json('GET', `/v1/rotations?keyId=${keyId}`, undefined, 200)).data).toEqual([]);
      const unknown = await cli(['rotations', 'watch', 'rot_missing', '--json'], env);
      expect(unknown.code).toBe(1);
      expect(JSON.parse(unknown.stdout).error).toMatchObject({ code: 'NOT_FOUND', status: 404 });

      // An error after progress lines is one more line: the output stays NDJSON.
      const { rotation } = await rotate();
      const watcherKey = await h.json('POST', '/v1/keys', { consumerId: 'root', scopes: ['keys:read'] }, 201);
      const watch = spawnCli(['rotations', 'watch', rotation.id, '--json', '--interval', '100ms'], {
        ...env,
        KEYROLL_ROOT_KEY: watcherKey.key,
      });
      await watch.printed(/"state":"rolling"/);
      await h.json('POST', `/v1/keys/${watcherKey.id}/revoke`, {}, 200);
      expect(await watch.exited).toBe(1);
      const lines = watch
        .stdout()
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines[0]).toMatchObject({ rotationId: rotation.id, state: 'rolling' });
      expect(lines.at(-1).error).toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
    });

    it('keys rotate --wait on the root key of the root-key file (grace 0) watches with the successor', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'keyroll-cli-wait-'));
      try {
        const own = await h.json('POST', '/v1/keys', { consumerId: 'root', scopes: ['*'] }, 201);
        writeFileSync(join(dir, 'root-key'), `${own.key}\n`, { mode: 0o600 });
        const fromFile = { KEYROLL_URL: env.KEYROLL_URL ?? '', KEYROLL_DATA_DIR: dir };
        const run = await cli(['keys', 'rotate', own.id, '--grace', '0', '--wait', '--interval', '100ms'], fromFile);
        expect(run.stderr).toBe('');
        expect(run.code).toBe(0);
        const lines = run.stdout.trimEnd().split('\n');
        expect(lines[0]).toBe(`the successor was written to ${join(dir, 'root-key')} (0600)`);
        expect(lines.at(-1)).toMatch(/^rotation rot_\w+ completed/);
        expect(readFileSync(join(dir, 'root-key'), 'utf8')).not.toContain(own.key);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('on a terminal: one line redrawn with a progress bar, then the end on its own line', async () => {
      const { rotation } = await rotate();
      const writes: string[] = [];
      const target = { url: env.KEYROLL_URL ?? '', rootKey: h.rootKey };
      let polled!: () => void;
      const firstPoll = new Promise<void>((done) => {
        polled = done;
      });
      const watching = watchRotation(target, rotation.id, {
        intervalMs: 100,
        json: false,
        tty: true,
        now: () => Date.parse(rotation.retiresAt) - 3_600_000 - 5 * 60_000,
        write: (text) => {
          writes.push(text);
          polled();
        },
      });
      await firstPoll;
      await h.json('POST', `/v1/rotations/${rotation.id}/rollback`, undefined, 200);
      expect(await watching).toBe('rolled_back');
      expect(writes[0]).toBe(
        `\r\x1b[2K[${'░'.repeat(24)}] - on the new key · old key last seen never · deadline in 1h 5m`,
      );
      expect(writes.at(-2)).toBe('\n');
      expect(writes.at(-1)).toMatch(new RegExp(`^rotation ${rotation.id} was rolled back`));
    });
  });
}
