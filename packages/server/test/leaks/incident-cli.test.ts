import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

const CLI = join(resolve(import.meta.dirname, '../../../..'), 'packages/server/dist/cli.js');
const run = promisify(execFile);

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI asynchronously (the server under test lives in this process). */
async function cli(args: string[], env: Record<string, string>): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      timeout: 20_000,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: the build in test/support/build-once.ts failed`);
});

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`keyroll incident on ${dialect.name}`, () => {
    let h: Harness;
    let env: Record<string, string>;
    beforeAll(async () => {
      h = await createHarness(dialect, { KEYROLL_SCHEDULER_INTERVAL_MS: '0' });
      const address = await h.kr.app.listen({ host: '127.0.0.1', port: 0 });
      env = { KEYROLL_URL: address, KEYROLL_ROOT_KEY: h.rootKey };
    });
    afterAll(() => h?.close());

    it('open by id with --yes --json contains the key per policy; by secret answers the same incident', async () => {
      const c = await h.consumerWithKey();
      const res = await cli(['incident', 'open', c.keyId, '--yes', '--json', '--source', 'support'], env);
      expect(res.code, res.stderr).toBe(0);
      const out = JSON.parse(res.stdout);
      expect(out.incidentId).toBe(out.incident.id);
      expect(out.incident).toMatchObject({ keyId: c.keyId, action: 'rollover', status: 'open', source: 'support' });
      expect((await h.json('POST', '/v1/keys/verify', { key: c.key }, 200)).deprecated).toBe(true);

      const again = await cli(['incident', 'open', c.key, '--yes', '--json'], env);
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout).incidentId).toBe(out.incidentId);
      expect(again.stdout + again.stderr).not.toContain(c.key);
    });

    it('open by hint prints the incident, its successor status and the checklist', async () => {
      const c = await h.consumerWithKey();
      const key = await h.json('GET', `/v1/keys/${c.keyId}`, undefined, 200);
      const res = await cli(['incident', 'open', key.hint.replace('…', '...'), '--yes'], env);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toMatch(/^incident inc_\w+: open \(action rollover, the leaked key stops at /);
      expect(res.stdout).toContain('successor: not claimed yet');
      expect(res.stdout).toContain('checklist:');
      expect(res.stdout).toContain('[ ] Remove the key from where it leaked');
    });

    it('never contains without --yes when it cannot ask', async () => {
      const c = await h.consumerWithKey();
      const res = await cli(['incident', 'open', c.keyId], env);
      expect(res.code).toBe(1);
      expect(res.stderr).toContain('pass --yes');
      expect(res.stderr).toContain(`key ${c.keyId}`);
      expect((await h.json('GET', `/v1/incidents?consumerId=${c.consumerId}`, undefined, 200)).data).toEqual([]);
      expect((await cli(['incident', 'open', 'kr_live_…zzzz', '--yes'], env)).stderr).toContain(
        'no key with the id or hint',
      );
    });

    it('show prints once with --json or --no-follow, and follows an open incident until contained', async () => {
      const c = await h.consumerWithKey();
      await h.json('PUT', `/v1/leak-policies/${c.consumerId}`, { action: 'notify' }, 200);
      const { incidentId } = JSON.parse((await cli(['incident', 'open', c.keyId, '--yes', '--json'], env)).stdout);
      const json = await cli(['incident', 'show', incidentId, '--json'], env);
      expect(JSON.parse(json.stdout)).toMatchObject({ incidentId, incident: { status: 'open', action: 'notify' } });
      const once = await cli(['incident', 'show', incidentId, '--no-follow'], env);
      expect(once.code).toBe(0);
      expect(once.stdout).toContain(`incident ${incidentId}: open`);

      const following = cli(['incident', 'show', incidentId, '--interval', '0.05'], env);
      await h.json('POST', `/v1/keys/${c.keyId}/revoke`, {}, 200);
      const done = await following;
      expect(done.code, done.stderr).toBe(0);
      expect(done.stdout).toMatch(/contained at \d{4}-/);

      const missing = await cli(['incident', 'show', 'inc_nope', '--json'], env);
      expect(missing.code).toBe(1);
      expect(JSON.parse(missing.stdout)).toMatchObject({ error: { code: 'NOT_FOUND', status: 404 } });
    });
  });
}
