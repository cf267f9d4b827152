import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/databases.js';
import { createHarness, type Harness } from '../support/harness.js';
import { send } from '../support/http-send.js';
import { type CodeKeys, expectDeprecationHeaders, keysForEveryCode } from '../support/key-fixtures.js';
import { type LoopbackUpstream, startUpstream } from '../support/loopback-upstream.js';
import {
  expectRefused,
  guideSnippet,
  proxyRoutes,
  type RunningProxy,
  realProxies,
} from '../support/proxy-processes.js';

// The real nginx and Caddy from Debian in front of a loopback upstream, asking a real keyroll node
// (routes from a gateway config) through /v1/forward-auth, with the configurations the
// verification guide prints: its tested snippets are read from the page, so they cannot drift.
// forward-auth-edge.test.ts puts the same proxies in front of an edge.
const PROXIES = realProxies();

const dialect = DIALECTS.find((d) => d.name === 'sqlite');

for (const proxy of PROXIES) {
  describe.skipIf(proxy.binary === null || !dialect?.available)(`forward-auth behind real ${proxy.name}`, () => {
    let h: Harness;
    let upstream: LoopbackUpstream;
    let keys: CodeKeys;
    let running: RunningProxy;
    let base: string;

    beforeAll(async () => {
      if (!dialect || proxy.binary === null) return;
      upstream = await startUpstream();
      h = await createHarness(dialect, { KEYROLL_GATEWAY_CONFIG: JSON.stringify(proxyRoutes(upstream.url)) });
      const keyroll = await h.kr.app.listen({ port: 0, host: '127.0.0.1' });
      keys = await keysForEveryCode(h);
      running = await proxy.start(proxy.binary, (port) => guideSnippet(proxy.name, keyroll, upstream.url, port));
      base = running.base;
    });
    afterAll(async () => {
      await running?.stop();
      await h?.close();
      await upstream?.close();
    });

    it('passes a valid key: the upstream gets the consumer and key ids, never the key', async () => {
      const { key, keyId, consumerId } = keys.valid;
      const res = await send(base, 'GET', '/api/things?q=1', { 'x-api-key': key, 'x-keyroll-consumer-id': 'spoofed' });
      expect(res.status, running.output()).toBe(200);
      expect(res.headers['x-upstream']).toBe('yes');
      const seen = upstream.last();
      expect(seen.url).toBe('/api/things?q=1');
      expect(seen.headers['x-keyroll-consumer-id']).toBe(consumerId);
      expect(seen.headers['x-keyroll-key-id']).toBe(keyId);
      expect(seen.headers['x-api-key']).toBeUndefined();
      expect(JSON.stringify(seen.rawHeaders)).not.toContain(key);
      expect(res.headers.deprecation).toBeUndefined();
    });

    it('passes a key in Authorization: Bearer', async () => {
      const res = await send(base, 'GET', '/api/x', { authorization: `Bearer ${keys.valid.key}` });
      expect(res.status).toBe(200);
      expect(upstream.last().headers.authorization).toBeUndefined();
    });

    for (const code of ['REVOKED', 'NOT_FOUND'] as const) {
      it(`refuses a ${code} key with 401, WWW-Authenticate and the problem code`, async () => {
        const before = upstream.last().url;
        const { key } = keys.cases[code];
        const res = await send(base, 'GET', '/api/secret', { 'x-api-key': key });
        expectRefused(res, code, { key });
        expect(upstream.last().url).toBe(before);
      });
    }

    it('refuses a request without a key with 401 and the bare challenge', async () => {
      expectRefused(await send(base, 'GET', '/api/x'), null);
    });

    it('copies Deprecation and Sunset of a deprecated key to the client', async () => {
      const res = await send(base, 'GET', '/api/x', { 'x-api-key': keys.deprecated.key });
      expect(res.status).toBe(200);
      expectDeprecationHeaders(res, keys.deprecated.retiresAt);
    });

    it('passes a request body to the upstream only, and checks over reused connections to keyroll', async () => {
      // A body sent on to keyroll over a kept-alive connection would be read as the next request
      // there; the guide's configurations drop it and keep the connections to keyroll open.
      let opened = 0;
      const count = () => {
        opened++;
      };
      h.kr.app.server.on('connection', count);
      try {
        const payload = 'x'.repeat(70_000);
        for (const framing of [{}, { 'transfer-encoding': 'chunked' }] as Record<string, string>[]) {
          const res = await send(base, 'POST', '/api/echo', { 'x-api-key': keys.valid.key, ...framing }, payload);
          expect(res.status, running.output()).toBe(200);
          expect(res.raw.toString()).toBe(payload);
        }
        for (let i = 0; i < 5; i++) {
          expect((await send(base, 'GET', '/api/x', { 'x-api-key': keys.valid.key })).status).toBe(200);
        }
      } finally {
        h.kr.app.server.off('connection', count);
      }
      // One new connection at most (the previous one may have idled out); a connection per check would be 7.
      expect(opened).toBeLessThanOrEqual(1);
    });

    it("refuses with 403 what the route's scopes refuse, on the original method", async () => {
      const res = await send(
        base,
        'POST',
        '/api/orders',
        { 'x-api-key': keys.valid.key, 'content-type': 'application/json' },
        '{}',
      );
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ status: 403, code: 'FORBIDDEN', verifyCode: 'INSUFFICIENT_SCOPE' });
      expect(res.headers['www-authenticate']).toBe('Bearer realm="keyroll", error="insufficient_scope", scope="write"');
    });

    it('answers 429 with Retry-After once a rate limit is used up', async () => {
      const { key, prime } = keys.cases.RATE_LIMITED;
      for (let i = 0; i < prime; i++)
        expect((await send(base, 'GET', '/api/x', { 'x-api-key': key })).status).toBe(200);
      const res = await send(base, 'GET', '/api/x', { 'x-api-key': key });
      expect(res.status).toBe(429);
      expect(res.body).toMatchObject({ status: 429, code: 'RATE_LIMITED', verifyCode: 'RATE_LIMITED' });
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    });

    it("refuses a client's spoofed other-convention header and path tricks", async () => {
      const key = keys.valid.key;
      // The proxy names /api/x; the client claims it asks about something else.
      const spoof = await send(base, 'GET', '/api/x', {
        'x-api-key': key,
        'x-original-uri': '/api/orders',
        'x-forwarded-uri': '/other',
      });
      expect(spoof.status).toBe(200);
      expect(upstream.last().url).toBe('/api/x');
      const dots = await send(base, 'GET', '/api/%2e%2e/admin', { 'x-api-key': key });
      expect(dots.status).toBe(400);
      expect(dots.body).toMatchObject({ status: 400, code: 'INVALID_PATH' });
    });
  });
}
