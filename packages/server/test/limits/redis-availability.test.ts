import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, REDIS_URL } from '../../../../test/support/databases.js';
import { eventually } from '../../../../test/support/eventually.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

const sqlite = DIALECTS.find((d) => d.name === 'sqlite');

/** A local TCP port that nothing listens on: bound once by the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

/** A real TCP relay to Redis that can be cut (every connection dropped, port closed) and restored. */
class RedisRelay {
  #server: Server | null = null;
  readonly #sockets = new Set<Socket>();
  port = 0;
  constructor(readonly target: URL) {}

  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = tcpConnect(Number(this.target.port || 6379), this.target.hostname);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    this.port = address.port;
    this.#server = server;
  }

  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const s of this.#sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

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
