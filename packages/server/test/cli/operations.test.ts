import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { assertBuilt, cli, cliJson } from './run-cli.js';

beforeAll(assertBuilt);

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`keyroll audit, cluster, usage and status on ${dialect.name}`, () => {
    let h: Harness;
    let env: Record<string, string>;
    beforeAll(async () => {
      h = await createHarness(dialect);
      env = { KEYROLL_URL: await h.kr.app.listen({ host: '127.0.0.1', port: 0 }), KEYROLL_ROOT_KEY: h.rootKey };
      for (const name of ['Comma, Inc', 'Say "hi"', 'Line\nbreak']) {
        h.clock.advance(60_000);
        await h.json('POST', '/v1/consumers', { name }, 201);
      }
    });
    afterAll(() => h?.close());

    it('audit list: newest first by default, filtered', async () => {
      const asc = (await h.json('GET', '/v1/audit?limit=100', undefined, 200)).data;
      const listed = await cliJson(['audit', 'list'], env);
      expect(listed.data).toEqual([...asc].reverse());
      const last = asc.at(-1);
      const narrowed = await cliJson(
        ['audit', 'list', '--from', last.at, '--actor', last.actor, '--order', 'asc'],
        env,
      );
      expect(narrowed.data).toEqual([last]);
      const human = await cli(['audit', 'list', '--action', 'consumer.created'], env);
      expect(human.stdout).toMatch(/^seq\s+at\s+actor\s+action/);
      expect(human.stdout.split('\n').filter((l) => l.includes('consumer.created'))).toHaveLength(4);
    });

    it('audit export streams every page as ndjson or RFC 4180 CSV', async () => {
      const asc = (await h.json('GET', '/v1/audit?limit=100', undefined, 200)).data;
      const ndjson = await cli(['audit', 'export'], env);
      expect(ndjson.code).toBe(0);
      expect(
        ndjson.stdout
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l)),
      ).toEqual(asc);

      const from = asc[asc.length - 3].at;
      const csv = await cli(['audit', 'export', '--format', 'csv', '--from', from, '--to', asc.at(-2).at], env);
      const lines = csv.stdout.split('\r\n');
      expect(lines[0]).toBe('seq,id,at,actor,action,targetType,targetId,data,hash,prevHash');
      expect(lines.at(-1)).toBe('');
      // The data column is JSON: quoted, its quotes doubled (JSON's \" becomes \"").
      expect(csv.stdout).toMatch(/,"\{[^\r\n]*""Comma, Inc""[^\r\n]*\}",/);
      expect(csv.stdout).toContain(String.raw`""Say \""hi\""""`);
      expect(lines.filter((l) => /^\d+,/.test(l)).map((l) => Number(l.split(',')[0]))).toEqual([
        asc[asc.length - 3].seq,
        asc[asc.length - 2].seq,
      ]);
    });

    it('audit verify exits 0 on an intact chain and 2 on a broken one', async () => {
      const ok = await cliJson(['audit', 'verify', '--full'], env);
      expect(ok).toMatchObject({ ok: true, full: true });
      const human = await cli(['audit', 'verify'], env);
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(/^audit chain ok: \d+ events/);

      const [first] = (await h.json('GET', '/v1/audit?limit=1', undefined, 200)).data;
      await sql`update audit_events set actor = ${'root:forged'} where id = ${first.id}`.execute(h.db.store.db);
      try {
        const broken = await cli(['audit', 'verify', '--full', '--json'], env);
        expect(broken.code).toBe(2);
        expect(JSON.parse(broken.stdout)).toMatchObject({ ok: false, brokenAt: { id: first.id } });
      } finally {
        await sql`update audit_events set actor = ${first.actor} where id = ${first.id}`.execute(h.db.store.db);
      }
    });

    it('cluster status and status show the nodes, rotations in flight and open alerts', async () => {
      const cluster = await cliJson(['cluster', 'status'], env);
      const api = await h.json('GET', '/v1/cluster', undefined, 200);
      expect(cluster).toMatchObject({ node: api.node, head: api.head });
      expect(cluster.nodes.map((n: { id: string }) => n.id)).toEqual(api.nodes.map((n: { id: string }) => n.id));
      const human = await cli(['cluster', 'status'], env);
      expect(human.stdout).toMatch(/^change log head \d+/);
      expect(human.stdout).toMatch(new RegExp(`${cluster.node} \\(this\\)\\s+node\\s`));

      const c = await h.consumerWithKey();
      const rotated = await h.json('POST', `/v1/keys/${c.keyId}/rotate`, { gracePeriod: '1h' }, 201);
      const status = await cliJson(['status'], env);
      expect(Object.keys(status)).toEqual(['cluster', 'rotations', 'alerts']);
      expect(status.rotations.map((r: { id: string }) => r.id)).toEqual([rotated.rotation.id]);
      expect(status.alerts).toEqual([]);
      const screen = await cli(['status'], env);
      expect(screen.stdout).toMatch(/^Nodes \(1\)/);
      expect(screen.stdout).toContain('Rotations in flight (1)');
      expect(screen.stdout).toContain(rotated.rotation.id);
      const consumer = await h.json('GET', `/v1/consumers/${c.consumerId}`, undefined, 200);
      expect(screen.stdout).toMatch(new RegExp(`${rotated.rotation.id}\\s+${consumer.name}\\s`));
      expect(screen.stdout).toContain('Open alerts (0)');
    });

    it('usage key: the window ending at the server clock, with a sparkline', async () => {
      const c = await h.consumerWithKey();
      for (let minute = 0; minute < 3; minute++) {
        for (let i = 0; i <= minute; i++) await h.kr.verifier.verify(c.key);
        h.clock.advance(60_000);
      }
      await h.kr.verifier.verify(`${c.key.slice(0, -1)}x`);
      await h.kr.usage.flush();
      h.clock.advance(60_000);

      const usage = await cliJson(['usage', 'key', c.keyId, '--since', '1h'], env);
      expect(usage).toMatchObject({ keyId: c.keyId, granularity: 'minute', total: 6, codes: { VALID: 6 } });
      expect(Date.parse(usage.to) - Date.parse(usage.from)).toBe(3_600_000);
      const week = await cliJson(['usage', 'key', c.keyId, '--since', '7d'], env);
      expect(week).toMatchObject({ granularity: 'hour', total: 6 });

      const human = await cli(['usage', 'key', c.keyId, '--since', '10m'], env);
      expect(human.code).toBe(0);
      const [head, spark, codes] = human.stdout.split('\n');
      expect(head).toContain('6 verifications');
      expect(spark).toMatch(/^\|[ ▁-█]{10}\|$/);
      expect(spark).toContain('▃▅█'); // 1, 2 and 3 requests in three minutes
      expect(codes).toBe('VALID 6');

      const bad = await cli(['usage', 'key', c.keyId, '--since', 'soon', '--json'], env);
      expect(bad.code).toBe(1);
      expect(JSON.parse(bad.stdout).error).toMatchObject({
        code: 'CLI_ERROR',
        detail: expect.stringContaining('--since'),
      });
    });
  });
}
