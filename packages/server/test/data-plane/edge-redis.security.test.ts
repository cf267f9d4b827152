import type { AddressInfo } from 'node:net';
import { ApiError } from '@keyroll/core';
import { readChangeLogHead } from '@keyroll/storage';
import { createRemoteVerifier, RedisUnreachableError } from '@keyroll/verifier';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, REDIS_URL } from '../../../../test/support/databases.js';
import { eventually } from '../../../../test/support/eventually.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { closedPort, RedisRelay } from '../../../../test/support/redis-relay.js';
import { loadEdgeConfig } from '../../src/data-plane/edge-config.js';
import { type EdgeNode, startEdge } from '../../src/data-plane/edge-node.js';

// Security finding: an edge given a Redis URL (`createRemoteVerifier({ redisUrl })`, `keyroll edge`
// with KEYROLL_REDIS_URL) fell back to counting in its own process while Redis was away, so limits
// silently became per-edge; a keyroll node and an embedded verifier fail closed instead.
const sqlite = DIALECTS.find((d) => d.name === 'sqlite');

describe.skipIf(!sqlite?.available)('an edge verifier with a Redis that cannot be reached', () => {
  let h: Harness;
  let url: string;
  let token: string;
  beforeAll(async () => {
    if (!sqlite) throw new Error('no sqlite');
    h = await createHarness(sqlite);
    await h.kr.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(h.kr.app.server.address() as AddressInfo).port}`;
    token = await h.rootKeyWith(['dataplane:read']);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('refuses to start, naming the URL with its password redacted', async () => {
    const port = await closedPort();
    const error = await createRemoteVerifier({
      url,
      token,
      redisUrl: `redis://:hunter2@127.0.0.1:${port}/0`,
      usageFlushMs: 0,
    }).then(
      async (edge) => {
        await edge.close();
        return null;
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RedisUnreachableError);
    expect(String(error)).toContain(`redis://:***@127.0.0.1:${port}/0`);
    expect(String(error)).not.toContain('hunter2');
  });

  it('keyroll edge with KEYROLL_REDIS_URL refuses to start too', async () => {
    const port = await closedPort();
    const config = loadEdgeConfig({
      KEYROLL_EDGE_UPSTREAM: url,
      KEYROLL_EDGE_TOKEN: token,
      KEYROLL_REDIS_URL: `redis://127.0.0.1:${port}/0`,
      KEYROLL_USAGE_FLUSH_MS: '0',
    });
    await expect(
      startEdge(config).then(async (edge) => {
        await edge.close();
      }),
    ).rejects.toBeInstanceOf(RedisUnreachableError);
  });
});

describe.skipIf(!sqlite?.available || !REDIS_URL)(
  'keyroll edge with KEYROLL_REDIS_URL lost after the start (needs KEYROLL_TEST_REDIS_URL)',
  () => {
    let h: Harness;
    let relay: RedisRelay;
    let edge: EdgeNode;
    let verifyKey: string;
    beforeAll(async () => {
      if (!sqlite || !REDIS_URL) throw new Error('unavailable');
      h = await createHarness(sqlite);
      await h.kr.app.listen({ port: 0, host: '127.0.0.1' });
      relay = new RedisRelay(new URL(REDIS_URL));
      await relay.open();
      verifyKey = await h.rootKeyWith(['keys:verify']);
      const config = loadEdgeConfig({
        KEYROLL_EDGE_UPSTREAM: `http://127.0.0.1:${(h.kr.app.server.address() as AddressInfo).port}`,
        KEYROLL_EDGE_TOKEN: await h.rootKeyWith(['dataplane:read']),
        KEYROLL_REDIS_URL: `redis://127.0.0.1:${relay.port}/0`,
        KEYROLL_REDIS_PREFIX: `keyroll-test-${Date.now()}-${Math.random().toString(36).slice(2)}:`,
        KEYROLL_USAGE_FLUSH_MS: '0',
      });
      // The harness's hand-driven clock: a rate-limit window that rolled over between two requests
      // (at a real minute's end) would hand back the counted request and fail the count below.
      edge = await startEdge(config, { clock: h.clock });
    });
    afterAll(async () => {
      await edge?.close();
      await relay?.cut();
      await h?.close();
    });

    const caughtUp = async () => {
      const head = await readChangeLogHead(h.db.store.db);
      await eventually(() => edge.remote.status().appliedSeq >= head, `the edge to apply change ${head}`);
    };
    const verify = (key: string) =>
      edge.app.inject({
        method: 'POST',
        url: '/v1/keys/verify',
        headers: { authorization: `Bearer ${verifyKey}` },
        payload: { key },
      });
    const forwardAuth = (key: string) =>
      edge.app.inject({
        method: 'GET',
        url: '/v1/forward-auth',
        headers: { 'x-api-key': key, 'x-original-method': 'GET', 'x-original-uri': '/api/things' },
      });

    it('refuses keys with limits as the node does (503 UNAVAILABLE, redis_unreachable) while Redis is away, and recovers', async () => {
      const limited = await h.consumerWithKey({ rateLimit: { limit: 100, window: '1m' } });
      const withQuota = await h.consumerWithKey({ quota: { limit: 1000, period: 'month' } });
      const unlimited = await h.consumerWithKey();
      await caughtUp();
      expect((await verify(limited.key)).json()).toMatchObject({ valid: true, ratelimit: { remaining: 99 } });
      expect((await verify(withQuota.key)).json()).toMatchObject({ valid: true, quota: { remaining: 999 } });

      const readyz = () => edge.app.inject({ method: 'GET', url: '/readyz' });
      expect((await readyz()).json()).toMatchObject({ status: 'ready', redis: 'ok' });

      await relay.cut();
      // Not ready, as a node: a load balancer takes the edge out while keys with limits are refused.
      const degraded = await readyz();
      expect(degraded.statusCode).toBe(503);
      expect(degraded.json()).toMatchObject({ status: 'degraded', redis: 'unreachable' });
      // Fails closed, never silently edge-local: the verify API, forward-auth and the verifier itself.
      for (const key of [limited.key, withQuota.key]) {
        const refused = await verify(key);
        expect(refused.statusCode).toBe(503);
        expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(refused.json()).toMatchObject({ code: 'UNAVAILABLE', reason: 'redis_unreachable' });
        expect(refused.json().detail).toMatch(/Redis/);
      }
      const viaForwardAuth = await forwardAuth(limited.key);
      expect(viaForwardAuth.statusCode).toBe(503);
      expect(viaForwardAuth.headers['x-keyroll-code']).toBe('UNAVAILABLE');
      const thrown = await edge.remote.verifier.verify(limited.key).then(
        () => null,
        (e: unknown) => e,
      );
      expect(thrown).toBeInstanceOf(ApiError);
      expect(thrown).toMatchObject({ code: 'UNAVAILABLE' });
      // A key without limits needs no Redis.
      expect((await verify(unlimited.key)).json()).toMatchObject({ valid: true });
      expect((await forwardAuth(unlimited.key)).statusCode).toBe(200);

      // Redis back (same address): the client reconnects by itself and counting resumes where it was:
      // nothing was counted while it was away.
      await relay.open();
      const back = await eventually(async () => {
        const res = await verify(limited.key);
        return res.statusCode === 200 && res.json();
      }, 'the edge to reach Redis again');
      expect(back).toMatchObject({ valid: true, ratelimit: { remaining: 98 } });
      expect((await readyz()).statusCode).toBe(200);
    });
  },
);
