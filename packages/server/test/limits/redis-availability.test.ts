import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, REDIS_URL } from '../../../../test/support/databases.js';
import { eventually } from '../../../../test/support/eventually.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { closedPort, RedisRelay } from '../../../../test/support/redis-relay.js';

const sqlite = DIALECTS.find((d) => d.name === 'sqlite');

describe.skipIf(!sqlite?.available)('KEYROLL_REDIS_URL that cannot be reached at start', () => {
  it('fails the start, naming Redis and the URL with its password redacted', async () => {
    if (!sqlite) throw new Error('no sqlite');
    const port = await closedPort();
    const error = await createHarness(sqlite, { KEYROLL_REDIS_URL: `redis://:hunter2@127.0.0.1:${port}/0` }).then(
      async (h) => {
        await h.close();
        return null;
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    const message = String(error);
    expect(message).toContain(`Redis at redis://:***@127.0.0.1:${port}/0 (KEYROLL_REDIS_URL) cannot be reached`);
    expect(message).toMatch(/ECONNREFUSED/);
    expect(message).not.toContain('hunter2');
  });
});

describe.skipIf(!sqlite?.available || !REDIS_URL)('Redis lost after the start (SQLite)', () => {
  let h: Harness;
  let relay: RedisRelay;
  beforeAll(async () => {
    if (!sqlite || !REDIS_URL) throw new Error('unavailable');
    relay = new RedisRelay(new URL(REDIS_URL));
    await relay.open();
    h = await createHarness(sqlite, {
      KEYROLL_REDIS_URL: `redis://127.0.0.1:${relay.port}/0`,
      KEYROLL_REDIS_PREFIX: `keyroll-test-${Date.now()}-${Math.random().toString(36).slice(2)}:`,
    });
  });
  afterAll(async () => {
    await h?.close();
    await relay?.cut();
  });

  const verify = (key: string) => h.request({ method: 'POST', url: '/v1/keys/verify', payload: { key } });
  const ready = () => h.request({ method: 'GET', url: '/readyz', auth: null });

  it('reports not ready naming Redis, refuses keys with limits with 503 UNAVAILABLE, and recovers', async () => {
    const limited = await h.consumerWithKey({ rateLimit: { limit: 100, window: '1m' } });
    const unlimited = await h.consumerWithKey();
    expect((await verify(limited.key)).json()).toMatchObject({ valid: true, ratelimit: { remaining: 99 } });
    expect((await verify(unlimited.key)).json()).toMatchObject({ valid: true });
    expect((await ready()).json()).toMatchObject({ status: 'ready', redis: 'ok' });

    await relay.cut();
    await eventually(async () => (await ready()).statusCode === 503);
    const notReady = (await ready()).json();
    expect(notReady).toMatchObject({ status: 'degraded', storage: 'ok', redis: 'unreachable' });
    expect(notReady.problems[0]).toMatch(
      /^Redis at redis:\/\/127\.0\.0\.1:\d+\/0 \(KEYROLL_REDIS_URL\) is unreachable/,
    );

    // Fails closed, never silently node-local: the limited key is refused, and it is a 503, not a 500.
    const refused = await verify(limited.key);
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.json()).toMatchObject({ code: 'UNAVAILABLE', reason: 'redis_unreachable' });
    expect(refused.json().detail).toMatch(/Redis/);
    // A key without limits needs no Redis.
    expect((await verify(unlimited.key)).json()).toMatchObject({ valid: true });

    // Redis back (same address): the client reconnects by itself and counting resumes where it was.
    await relay.open();
    await eventually(async () => (await ready()).statusCode === 200);
    expect((await verify(limited.key)).json()).toMatchObject({ valid: true, ratelimit: { remaining: 98 } });
  });
});
