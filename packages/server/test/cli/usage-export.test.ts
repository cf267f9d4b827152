import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { assertBuilt, cli } from './run-cli.js';

beforeAll(assertBuilt);

const MINUTE = 60_000;

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`keyroll usage export on ${dialect.name}`, () => {
    let h: Harness;
    let env: Record<string, string>;
    beforeAll(async () => {
      h = await createHarness(dialect);
      env = { KEYROLL_URL: await h.kr.app.listen({ host: '127.0.0.1', port: 0 }), KEYROLL_ROOT_KEY: h.rootKey };
    });
    afterAll(() => h?.close());

    it('streams the export to stdout as CSV or NDJSON, as the API answers it', async () => {
      const consumer = await h.json('POST', '/v1/consumers', { name: 'Billing, "Dept"' }, 201);
      const { key } = await h.json('POST', '/v1/keys', { consumerId: consumer.id, name: 'k' }, 201);
      const start = h.clock.now();
      for (let i = 0; i < 3; i++) await h.json('POST', '/v1/keys/verify', { key }, 200);
      h.clock.advance(2 * MINUTE);
      await h.json('POST', '/v1/keys/verify', { key, scopes: ['admin'] }, 200);
      const from = new Date(start - MINUTE).toISOString();
      const to = new Date(start + 5 * MINUTE).toISOString();

      const csv = await cli(['usage', 'export', '--from', from, '--to', to], env);
      expect(csv.code).toBe(0);
      const api = await h.request({ method: 'GET', url: `/v1/usage/export?from=${from}&to=${to}&format=csv` });
      expect(csv.stdout).toBe(api.body);
      expect(csv.stdout).toContain('"Billing, ""Dept"""');

      const ndjson = await cli(['usage', 'export', '--from', from, '--to', to, '--format', 'ndjson'], env);
      const rows = ndjson.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(rows.map((r) => [r.consumerName, r.code, r.count])).toEqual([
        ['Billing, "Dept"', 'VALID', 3],
        ['Billing, "Dept"', 'INSUFFICIENT_SCOPE', 1],
      ]);
    });

    it('reports a refused range with the problem code, detail and URL', async () => {
      const args = ['usage', 'export', '--from', '2026-01-01T00:00:00Z', '--to', '2026-03-01T00:00:00Z'];
      const json = await cli([...args, '--json'], env);
      expect(json.code).toBe(1);
      const { error } = JSON.parse(json.stdout);
      expect(error).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
      expect(error.detail).toContain('31 days');
      expect(error.url).toContain('/v1/usage/export?from=');
      const human = await cli(args, env);
      expect(human.code).toBe(1);
      expect(human.stdout).toBe('');
      expect(human.stderr).toMatch(/^keyroll: 400 VALIDATION_FAILED: .*31 days.*\(http:/);
      const format = await cli(['usage', 'export', '--format', 'xml'], env);
      expect(format.code).not.toBe(0);
      expect(format.stderr).toContain('--format');
    });
  });
}
