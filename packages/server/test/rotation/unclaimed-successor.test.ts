import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`an unclaimed policy successor on ${dialect.name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await createHarness(dialect, { KEYROLL_SCHEDULER_INTERVAL_MS: '0' });
    });
    afterAll(() => h?.close());

    const verify = (key: string) => h.json('POST', '/v1/keys/verify', { key }, 200);

    it('never cuts the client off: the deadline moves by the grace period until the successor is claimed', async () => {
      const c = await h.consumerWithKey();
      await h.json('PUT', `/v1/rotation-policies/${c.consumerId}`, { every: '30d', gracePeriod: '1d' }, 200);
      h.clock.advance(30 * DAY);
      await h.kr.scheduler.tick();
      const [rotation] = (await h.json('GET', `/v1/rotations?keyId=${c.keyId}`, undefined, 200)).data;
      expect(rotation).toMatchObject({ origin: 'policy', newKeyId: null, state: 'rolling' });
      const deadline = Date.parse(rotation.retiresAt);

      // Within the scheduler's look-ahead of the deadline, nobody has claimed: the deadline moves.
      h.clock.set(deadline - MINUTE / 2);
      expect((await h.kr.scheduler.tick()).extended).toBe(1);
      h.clock.set(deadline + 1);
      expect(await verify(c.key)).toMatchObject({ valid: true, deprecated: true });
      const moved = await h.json('GET', `/v1/rotations/${rotation.id}`, undefined, 200);
      expect(Date.parse(moved.retiresAt)).toBe(deadline + DAY);
      expect(moved.extensions).toHaveLength(1);

      // The client claims; from then on the ordinary deadline holds.
      const claim = await h.request({
        method: 'POST',
        url: '/v1/self/successor',
        headers: { 'x-api-key': c.key },
        auth: null,
      });
      expect(claim.statusCode).toBe(201);
      h.clock.set(deadline + DAY - MINUTE / 2);
      expect((await h.kr.scheduler.tick()).extended).toBe(0);
      h.clock.set(deadline + DAY);
      await h.kr.scheduler.tick();
      expect((await verify(c.key)).code).toBe('RETIRED');
      expect(await verify(claim.json().key)).toMatchObject({ valid: true, deprecated: false });
      await h.json('DELETE', `/v1/rotation-policies/${c.consumerId}`, undefined, 204);
    });
  });
}
