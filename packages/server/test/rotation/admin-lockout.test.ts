import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`admin lockout and unclaimed successors on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect, { KEYROLL_SCHEDULER_INTERVAL_MS: '0' });
    });
    afterAll(() => h?.close());

    const verify = (key: string) => h.json('POST', '/v1/keys/verify', { key }, 200);

    it('a root key without * cannot change the root policy (403)', async () => {
      const rotator = await h.rootKeyWith(['keys:rotate', 'keys:read']);
      const put = await h.request({
        method: 'PUT',
        url: '/v1/rotation-policies/root',
        payload: { every: '1s', gracePeriod: '1s' },
        auth: rotator,
      });
      expect(put.statusCode).toBe(403);
      expect(put.json().code).toBe('FORBIDDEN');
      const del = await h.request({ method: 'DELETE', url: '/v1/rotation-policies/root', auth: rotator });
      expect(del.statusCode).toBe(403);
    });

    it('a root policy never retires an unclaimed root key; a root key with its scopes claims the successor', async () => {
      const spare = await h.rootKeyWith(['*']);
      await h.json('PUT', '/v1/rotation-policies/root', { every: '1d', gracePeriod: '1h' }, 200);
      h.clock.advance(2 * DAY);
      expect((await h.kr.scheduler.tick()).started).toBeGreaterThan(0);
      // The scheduler does not run for ten days (node down): every root key still administers.
      h.clock.advance(10 * DAY);
      await h.json('GET', '/v1/keys?consumerId=root', undefined, 200, h.rootKey);
      await h.json('GET', '/v1/keys?consumerId=root', undefined, 200, spare);
      const report = await h.kr.scheduler.tick();
      expect(report.completed).toBe(0);
      const rolling = (await h.json('GET', '/v1/rotations?consumerId=root&state=rolling', undefined, 200)).data;
      expect(rolling.length).toBeGreaterThan(0);
      for (const r of rolling) expect(Date.parse(r.retiresAt)).toBeGreaterThan(h.clock.now());

      // Self-service is for consumer keys; the admin API hands a root key its successor.
      const self = await h.request({ method: 'POST', url: '/v1/self/successor', headers: { 'x-api-key': h.rootKey } });
      expect(self.statusCode).toBe(403);
      let mine: { oldKeyId: string } | undefined;
      for (const r of rolling) {
        const old = await h.json('GET', `/v1/keys/${r.oldKeyId}`, undefined, 200);
        if (old.scopes.includes('*')) mine = r;
      }
      if (!mine) throw new Error('no rotation of a * root key');
      const narrow = await h.request({
        method: 'POST',
        url: `/v1/keys/${mine.oldKeyId}/successor`,
        auth: await h.rootKeyWith(['keys:rotate']),
      });
      expect(narrow.statusCode).toBe(403);
      const claim = await h.json('POST', `/v1/keys/${mine.oldKeyId}/successor`, undefined, 201, spare);
      await h.json('GET', '/v1/keys?consumerId=root', undefined, 200, claim.key);
      await h.json('DELETE', '/v1/rotation-policies/root', undefined, 204, claim.key);
    });
  });
}
