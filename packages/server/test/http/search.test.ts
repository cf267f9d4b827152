import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`searching consumers and keys (?q=) on ${dialect.name}`, () => {
    let h: Harness;
    const ids: Record<string, string> = {};
    const keys: Record<string, { id: string; key: string; hint: string }> = {};

    beforeAll(async () => {
      h = await createHarness(dialect);
      const consumers = [
        ['acme', 'Acme Robotics', 'ACME-7'],
        ['percent', '100% Pure', 'ext_pct'],
        ['underscore', 'snake_case Ltd', 'ext-x'],
        ['bang', 'Bang! Inc', null],
        ['plain', 'Globex', 'globex-1'],
        ['spaced', 'Tree Cat', null],
      ] as const;
      for (const [tag, name, externalId] of consumers) {
        ids[tag] = (await h.json('POST', '/v1/consumers', { name, externalId }, 201)).id;
      }
      for (const [tag, name] of [
        ['acmeProd', 'Production'],
        ['acmeCi', 'CI runner'],
      ] as const) {
        keys[tag] = await h.json('POST', '/v1/keys', { consumerId: ids.acme, name }, 201);
      }
      keys.globex = await h.json('POST', '/v1/keys', { consumerId: ids.plain, name: '50%_off' }, 201);
    });
    afterAll(() => h?.close());

    const consumerIds = async (q: string, more = ''): Promise<string[]> =>
      (await h.json('GET', `/v1/consumers?q=${encodeURIComponent(q)}${more}`, undefined, 200)).data.map(
        (c: { id: string }) => c.id,
      );
    const keyIds = async (q: string, more = ''): Promise<string[]> =>
      (await h.json('GET', `/v1/keys?q=${encodeURIComponent(q)}${more}`, undefined, 200)).data.map(
        (k: { id: string }) => k.id,
      );

    it('finds consumers by name, external id and id, ignoring case', async () => {
      expect(await consumerIds('acme rob')).toEqual([ids.acme]);
      expect(await consumerIds('acme-7')).toEqual([ids.acme]);
      expect(await consumerIds('GLOBEX')).toEqual([ids.plain]);
      expect(await consumerIds(ids.bang ?? '')).toEqual([ids.bang]);
      expect(await consumerIds('nothing like it')).toEqual([]);
    });

    it("finds a consumer by the hint, or the secret's last characters, of one of its keys", async () => {
      const secret = keys.acmeCi?.key ?? '';
      expect(await consumerIds(secret.slice(-4))).toContain(ids.acme);
      expect(await consumerIds(keys.globex?.hint ?? '')).toEqual([ids.plain]);
    });

    it('takes %, _ and ! literally', async () => {
      expect(await consumerIds('%')).toEqual([ids.percent]);
      // As wildcards, `e_c` would also match "Tree Cat" and `!` would escape nothing.
      expect(await consumerIds('e_c')).toEqual([ids.underscore]);
      expect(await consumerIds('ext_')).toEqual([ids.percent]);
      expect(await consumerIds('!')).toEqual([ids.bang]);
      expect(await keyIds('0%_o')).toEqual([keys.globex?.id]);
      expect(await keyIds('0_')).toEqual([]);
    });

    it("finds keys by name, hint, id, and their consumer's name or external id", async () => {
      expect(await keyIds('production')).toEqual([keys.acmeProd?.id]);
      expect(await keyIds(keys.acmeCi?.hint ?? '')).toEqual([keys.acmeCi?.id]);
      expect(await keyIds((keys.acmeCi?.key ?? '').slice(-4).toUpperCase())).toContain(keys.acmeCi?.id);
      expect(await keyIds(keys.globex?.id ?? '')).toEqual([keys.globex?.id]);
      expect(await keyIds('acme-7')).toEqual([keys.acmeProd?.id, keys.acmeCi?.id]);
    });

    it('combines with the other filters and with cursor paging', async () => {
      expect(await keyIds('acme', `&consumerId=${ids.plain}`)).toEqual([]);
      await h.json('POST', `/v1/keys/${keys.acmeProd?.id}/revoke`, {}, 200);
      expect(await keyIds('acme', '&status=active')).toEqual([keys.acmeCi?.id]);
      expect(await keyIds('acme', '&status=revoked')).toEqual([keys.acmeProd?.id]);

      const first = await h.json('GET', '/v1/consumers?q=e&limit=2', undefined, 200);
      expect(first.data).toHaveLength(2);
      const rest = await h.json('GET', `/v1/consumers?q=e&limit=2&cursor=${first.nextCursor}`, undefined, 200);
      const all = await consumerIds('e');
      expect([...first.data, ...rest.data].map((c: { id: string }) => c.id)).toEqual(all.slice(0, 4));
    });

    it('refuses an empty or overlong q with problem+json', async () => {
      for (const path of ['/v1/consumers', '/v1/keys']) {
        for (const q of ['', 'x'.repeat(101)]) {
          const res = await h.request({ method: 'GET', url: `${path}?q=${q}` });
          expect(res.statusCode).toBe(400);
          expect(res.headers['content-type']).toContain('application/problem+json');
          expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
        }
      }
      expect((await h.request({ method: 'GET', url: `/v1/keys?q=${'x'.repeat(100)}` })).statusCode).toBe(200);
    });

    it('folds letters beyond A–Z, as PostgreSQL does in a UTF-8 locale', async () => {
      const emile = (await h.json('POST', '/v1/consumers', { name: 'ÉMILE Zola', externalId: 'Ärzte_1' }, 201)).id;
      const key = await h.json('POST', '/v1/keys', { consumerId: emile, name: 'Büro ÖSTERREICH' }, 201);
      expect(await consumerIds('émile')).toEqual([emile]);
      expect(await consumerIds('ärzte_')).toEqual([emile]); // `_` still literal
      expect(await consumerIds('ärzte%')).toEqual([]);
      expect(await keyIds('bÜro österreich')).toEqual([key.id]);
      expect(await keyIds('Émile')).toEqual([key.id]); // its consumer's name
    });
  });
}
