import { randomBytes } from 'node:crypto';
import { createKeyroll, type Keyroll, loadConfig } from '@keyroll/server';
import { createStore, type Store } from '@keyroll/storage';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, REDIS_URL } from '../../../../test/support/databases.js';
import { createHarness } from '../../../../test/support/harness.js';

const MINUTE = 60_000;

/** Two nodes on one database: the harness's, and a second keyroll with its own store, cache and limiter. */
async function twoNodes(dialect: (typeof DIALECTS)[number], env: Record<string, string>) {
  const h = await createHarness(dialect, env);
  const store: Store = createStore({ databaseUrl: h.db.url, dataDir: h.db.dataDir });
  const config = loadConfig({ KEYROLL_DATA_DIR: h.db.dataDir, KEYROLL_DATABASE_URL: h.db.url, ...env });
  const second: Keyroll = await createKeyroll(config, { clock: h.clock, store });
  return {
    h,
    nodes: [h.kr, second],
    close: async () => {
      await second.close();
      await store.close();
      await h.close();
    },
  };
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available || !REDIS_URL)(`limits across two nodes with Redis on ${dialect.name}`, () => {
    const prefix = `keyroll-test:${randomBytes(6).toString('hex')}:`;
    let cluster: Awaited<ReturnType<typeof twoNodes>>;
    beforeAll(async () => {
      cluster = await twoNodes(dialect, { KEYROLL_REDIS_URL: REDIS_URL ?? '', KEYROLL_REDIS_PREFIX: prefix });
    });
    afterAll(async () => {
      await cluster?.close();
      const redis = new Redis(REDIS_URL ?? '');
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    });

    /** Sends `n` verifications at once, alternating between the nodes; returns the codes. */
    async function burst(key: string, n: number): Promise<Record<string, number>> {
      const { h, nodes } = cluster;
      const answers = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          nodes[i % 2]?.app.inject({
            method: 'POST',
            url: '/v1/keys/verify',
            headers: { authorization: `Bearer ${h.rootKey}` },
            payload: { key },
          }),
        ),
      );
      const codes: Record<string, number> = {};
      for (const a of answers) {
        const code: string = a?.json().code;
        codes[code] = (codes[code] ?? 0) + 1;
      }
      return codes;
    }

    it('admits exactly the plan limit and quota of a consumer, over its keys and both nodes', async () => {
      const { h } = cluster;
      const plan = await h.json(
        'POST',
        '/v1/plans',
        { name: 'team', rateLimit: { limit: 20, window: '1m' }, quota: { limit: 50, period: 'day' } },
        201,
      );
      const consumer = await h.json('POST', '/v1/consumers', { name: 'team-1', planId: plan.id }, 201);
      const a = await h.json('POST', '/v1/keys', { consumerId: consumer.id }, 201);
      const b = await h.json('POST', '/v1/keys', { consumerId: consumer.id }, 201);
      h.clock.set(Math.ceil(h.clock.now() / 86_400_000) * 86_400_000);

      const [fromA, fromB] = await Promise.all([burst(a.key, 100), burst(b.key, 100)]);
      expect((fromA.VALID ?? 0) + (fromB.VALID ?? 0)).toBe(20);
      h.clock.advance(MINUTE);
      expect((await burst(a.key, 100)).VALID).toBe(20);
      h.clock.advance(MINUTE);
      const last = await burst(b.key, 100);
      expect(last).toEqual({ VALID: 10, QUOTA_EXCEEDED: 90 });
    });
  });

  describe.skipIf(!dialect.available)(`node-local limits across two nodes on ${dialect.name}`, () => {
    let cluster: Awaited<ReturnType<typeof twoNodes>>;
    beforeAll(async () => {
      cluster = await twoNodes(dialect, {});
    });
    afterAll(() => cluster?.close());

    it('lets each node admit up to the limit on its own: at most N × limit in a window', async () => {
      const { h, nodes } = cluster;
      const { key } = await h.consumerWithKey({ rateLimit: { limit: 5, window: '1m' } });
      let valid = 0;
      for (let i = 0; i < 40; i++) {
        const res = await nodes[i % 2]?.app.inject({
          method: 'POST',
          url: '/v1/keys/verify',
          headers: { authorization: `Bearer ${h.rootKey}` },
          payload: { key },
        });
        if (res?.json().valid) valid++;
      }
      expect(valid).toBe(10);
    });
  });
}
