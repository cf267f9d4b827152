import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

interface Event {
  seq: number;
  at: string;
  actor: string;
  action: string;
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`audit newest first and filtered on ${dialect.name}`, () => {
    let h: Harness;
    let narrowActor: string;
    /** When each of the three consumers below was created. */
    const times: string[] = [];

    beforeAll(async () => {
      h = await createHarness(dialect);
      const narrow = await h.json('POST', '/v1/keys', { consumerId: 'root', scopes: ['consumers:write'] }, 201);
      narrowActor = `root:${narrow.id}`;
      for (const name of ['one', 'two', 'three']) {
        h.clock.advance(60_000);
        times.push(new Date(h.clock.now()).toISOString());
        await h.json('POST', '/v1/consumers', { name }, 201, name === 'two' ? narrow.key : undefined);
      }
    });
    afterAll(() => h?.close());

    const get = async (query: string): Promise<{ data: Event[]; nextCursor: string | null }> =>
      h.json('GET', `/v1/audit?${query}`, undefined, 200);
    const walk = async (query: string): Promise<number[]> => {
      const seqs: number[] = [];
      let cursor: string | null = null;
      do {
        const page = await get(`${query}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        seqs.push(...page.data.map((e) => e.seq));
        cursor = page.nextCursor;
      } while (cursor);
      return seqs;
    };

    it('lists newest first, and cursor pages keep that order', async () => {
      const asc = (await get('limit=100')).data.map((e) => e.seq);
      expect(asc.length).toBeGreaterThan(4);
      expect(await walk('order=desc')).toEqual([...asc].reverse());
      expect(await walk('order=asc')).toEqual(asc);
      expect((await get('order=desc&limit=1')).data[0]?.action).toBe('consumer.created');
    });

    it('filters by actor and by an inclusive time range', async () => {
      const byNarrow = (await get(`actor=${encodeURIComponent(narrowActor)}`)).data;
      expect(byNarrow.map((e) => e.action)).toEqual(['consumer.created']);
      expect(byNarrow[0]?.at).toBe(times[1]);

      const between = (await get(`from=${times[0]}&to=${times[1]}&order=desc`)).data;
      expect(between.map((e) => e.at)).toEqual([times[1], times[0]]);
      expect((await get(`from=${times[2]}`)).data.map((e) => e.at)).toEqual([times[2]]);
      expect((await get(`to=${times[0]}&action=consumer.created`)).data.map((e) => e.at).at(-1)).toBe(times[0]);
      expect(await walk(`from=${times[0]}&order=desc`)).toHaveLength(3);
    });

    it('refuses a cursor used with another order or filter, clearly', async () => {
      const desc = await get('order=desc&limit=1');
      const asOther = await h.request({ method: 'GET', url: `/v1/audit?order=asc&cursor=${desc.nextCursor}` });
      expect(asOther.statusCode).toBe(400);
      expect(asOther.headers['content-type']).toContain('application/problem+json');
      expect(asOther.json()).toMatchObject({ code: 'INVALID_CURSOR', detail: expect.stringContaining('order=desc') });
      const noOrder = await h.request({ method: 'GET', url: `/v1/audit?cursor=${desc.nextCursor}` });
      expect(noOrder.json().code).toBe('INVALID_CURSOR');
      const otherFilter = await h.request({
        method: 'GET',
        url: `/v1/audit?order=desc&actor=system:bootstrap&cursor=${desc.nextCursor}`,
      });
      expect(otherFilter.json().code).toBe('INVALID_CURSOR');
      expect((await get(`order=desc&limit=1&cursor=${desc.nextCursor}`)).data[0]?.seq).toBe(
        (desc.data[0]?.seq ?? 0) - 1,
      );
    });

    it('refuses bad order, times and ranges with problem+json', async () => {
      for (const query of [
        'order=newest',
        'from=yesterday',
        'to=2026-13-01T00:00:00Z',
        `from=${times[2]}&to=${times[0]}`,
      ]) {
        const res = await h.request({ method: 'GET', url: `/v1/audit?${query}` });
        expect(res.statusCode, query).toBe(400);
        expect(res.headers['content-type']).toContain('application/problem+json');
        expect(res.json().code).toBe('VALIDATION_FAILED');
      }
    });
  });
}
