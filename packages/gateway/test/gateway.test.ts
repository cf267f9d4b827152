import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { generateKey, VERIFY_CODES } from '@keyroll/core';
import { Gateway, parseGatewayConfig } from '@keyroll/gateway';
import { Verifier } from '@keyroll/verifier/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, REDIS_URL } from '../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../test/support/harness.js';
import { send } from '../../../test/support/http-send.js';
import {
  type CodeKeys,
  expectDeprecationHeaders,
  expectRefusal,
  keysForEveryCode,
} from '../../../test/support/key-fixtures.js';
import { closedPort, type LoopbackUpstream, startUpstream } from '../../../test/support/loopback-upstream.js';

function routesFor(upstream: string, down: string) {
  return {
    routes: [
      { pathPrefix: '/api', upstream, scopes: ['read'] },
      { pathPrefix: '/api/orders', upstream, scopes: ['write'], methods: ['POST', 'PUT'] },
      { pathPrefix: '/api/orders', upstream, scopes: ['read'], methods: ['GET'] },
      { pathPrefix: '/slow', upstream, scopes: ['read'], timeoutMs: 300 },
      { pathPrefix: '/down', upstream: down, scopes: ['read'] },
    ],
  };
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`gateway on ${dialect.name}`, () => {
    let h: Harness;
    let upstream: LoopbackUpstream;
    let base: string;
    let keys: CodeKeys;

    beforeAll(async () => {
      upstream = await startUpstream();
      const config = routesFor(upstream.url, `http://127.0.0.1:${await closedPort()}`);
      h = await createHarness(dialect, { KEYROLL_GATEWAY_CONFIG: JSON.stringify(config) });
      if (!h.kr.gateway) throw new Error('the gateway was not configured');
      base = await h.kr.gateway.listen(0);
      keys = await keysForEveryCode(h);
    });
    afterAll(async () => {
      await h?.close();
      await upstream?.close();
    });

    for (const code of VERIFY_CODES) {
      it(`answers ${code} keys as the verify code says`, async () => {
        const { key, prime } = keys.cases[code];
        for (let i = 0; i < prime; i++) {
          expect((await send(base, 'GET', '/api/things', { 'x-api-key': key })).status).toBe(200);
        }
        const res = await send(base, 'GET', '/api/things', { 'x-api-key': key });
        if (code === 'VALID') expect(res.status).toBe(200);
        else expectRefusal(res, code);
      });
    }

    it("checks a key's allowed addresses against the client's socket address", async () => {
      expect((await send(base, 'GET', '/api/things', { 'x-api-key': keys.loopbackOnly.key })).status).toBe(200);
    });

    it('never echoes a key pasted into the path in a problem (unknown route, missing key, case mismatch)', async () => {
      const { key } = keys.valid;
      for (const path of [`/nowhere/${key}`, `/api/${key}`, `/API/ORDERS/${key}`]) {
        const res = await send(base, 'GET', path);
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(JSON.stringify(res.body)).not.toContain(key.slice(8));
        expect(res.body.instance ?? res.body.detail).toContain('[redacted]');
      }
    });

    it('asks for a key with a bare Bearer challenge when none is presented', async () => {
      const res = await send(base, 'GET', '/api/things');
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="keyroll"');
      expect(res.body).toMatchObject({ code: 'UNAUTHORIZED', instance: '/api/things' });
    });

    it('forwards with the consumer and key ids and never passes the key on, in either header', async () => {
      const { key, keyId, consumerId } = keys.valid;
      const styles: Record<string, string>[] = [{ 'x-api-key': key }, { authorization: `Bearer ${key}` }];
      for (const headers of styles) {
        const res = await send(base, 'GET', '/api/things?x=1', headers);
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ method: 'GET', url: '/api/things?x=1' });
        const seen = upstream.last();
        expect(seen.headers['x-keyroll-consumer-id']).toBe(consumerId);
        expect(seen.headers['x-keyroll-key-id']).toBe(keyId);
        expect(seen.headers['x-api-key']).toBeUndefined();
        expect(seen.headers.authorization).toBeUndefined();
        expect(seen.rawHeaders.join('\n')).not.toContain(key);
      }
    });

    it('drops identity headers a client tries to spoof, and hop-by-hop headers both ways', async () => {
      const res = await send(base, 'GET', '/api/hop', {
        'x-api-key': keys.valid.key,
        'x-keyroll-consumer-id': 'csm_spoofed',
        'X-Keyroll-Key-Id': 'key_spoofed',
        'x-keyroll-anything': 'spoofed',
        // CGI, WSGI and PHP read `_` as `-`: these would reach them as x-keyroll-consumer-id and co.
        X_Keyroll_Consumer_Id: 'csm_spoofed_underscore',
        x_keyroll_key_id: 'key_spoofed_underscore',
        X_Api_Key: 'spoofed-key',
        forwarded: 'for=198.51.100.1;host=spoofed.example',
        'x-real-ip': '198.51.100.2',
        X_Real_IP: '198.51.100.3',
        X_Forwarded_For: '198.51.100.4',
        'x-forwarded-proto': 'https',
        'X-Forwarded-Port': '443',
        'true-client-ip': '198.51.100.5',
        'x-original-url': '/api/orders/1',
        'x-http-method-override': 'DELETE',
        proxy: 'http://spoofed.example:3128',
        connection: 'keep-alive, x-client-hop',
        'x-client-hop': 'secret',
        'proxy-authorization': 'Basic abc',
        te: 'trailers',
        'x-forwarded-for': '203.0.113.7',
        'x-forwarded-host': 'evil.example',
        'x-other': 'kept',
      });
      expect(res.status).toBe(200);
      const seen = upstream.last();
      expect(seen.rawHeaders.filter((v) => /spoofed|198\.51\.100|203\.0\.113/.test(v))).toEqual([]);
      const names = seen.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase().replaceAll('_', '-'));
      for (const dropped of [
        'x-real-ip',
        'x-api-key',
        'true-client-ip',
        'x-original-url',
        'x-http-method-override',
        'proxy',
        'x-forwarded-port',
      ]) {
        expect(names, dropped).not.toContain(dropped);
      }
      for (const once of [
        'x-keyroll-consumer-id',
        'x-keyroll-key-id',
        'forwarded',
        'x-forwarded-for',
        'x-forwarded-proto',
        'x-forwarded-host',
      ]) {
        expect(
          names.filter((n) => n === once),
          once,
        ).toHaveLength(1);
      }
      expect(seen.headers.forwarded).toBe(`for=127.0.0.1;proto=http;host="${new URL(base).host}"`);
      expect(seen.headers['x-keyroll-consumer-id']).toBe(keys.valid.consumerId);
      expect(seen.headers['x-keyroll-anything']).toBeUndefined();
      expect(seen.headers['x-client-hop']).toBeUndefined();
      expect(seen.headers['proxy-authorization']).toBeUndefined();
      expect(seen.headers.te).toBeUndefined();
      expect(seen.headers['x-other']).toBe('kept');
      // Not a trusted proxy: the client's X-Forwarded-For is replaced, not appended to.
      expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(seen.headers['x-forwarded-host']).toBe(new URL(base).host);
      expect(seen.headers['x-forwarded-proto']).toBe('http');
      expect(res.headers['x-upstream']).toBe('yes');
      expect(res.headers['x-hop-secret']).toBeUndefined();
      expect(res.headers['proxy-x']).toBeUndefined();
    });

    it('serves a deprecated key with Deprecation and Sunset headers carrying its retirement', async () => {
      const res = await send(base, 'GET', '/api/things', { 'x-api-key': keys.deprecated.key });
      expect(res.status).toBe(200);
      expectDeprecationHeaders(res, keys.deprecated.retiresAt);
      const plain = await send(base, 'GET', '/api/things', { 'x-api-key': keys.valid.key });
      expect(plain.headers.deprecation).toBeUndefined();
      expect(plain.headers.sunset).toBeUndefined();
    });

    it('streams large bodies both ways', async () => {
      const body = randomBytes(24 * 1024 * 1024);
      const echoed = await send(base, 'POST', '/api/echo', { 'x-api-key': keys.valid.key }, body);
      expect(echoed.status).toBe(200);
      expect(echoed.raw.length).toBe(body.length);
      expect(createHash('sha256').update(echoed.raw).digest('hex')).toBe(
        createHash('sha256').update(body).digest('hex'),
      );

      // A download read chunk by chunk: the first bytes arrive long before the last are sent.
      const big = await send(base, 'GET', '/api/big?mb=64', { 'x-api-key': keys.valid.key });
      expect(big.status).toBe(200);
      expect(big.raw.length).toBe(64 * 1024 * 1024);
    });

    it('streams a chunked upload without a content-length', async () => {
      const res = await new Promise<{ status: number; body: any }>((resolve, reject) => {
        const req = request(
          new URL('/api/sum', base),
          { method: 'POST', headers: { 'x-api-key': keys.valid.key } },
          (r) => {
            let text = '';
            r.on('data', (c: Buffer) => {
              text += c.toString();
            });
            r.on('end', () => resolve({ status: r.statusCode ?? 0, body: JSON.parse(text) }));
          },
        );
        req.on('error', reject);
        for (let i = 0; i < 10; i++) req.write(Buffer.alloc(100_000, i));
        req.end();
      });
      expect(res.status).toBe(200);
      expect(res.body.bytes).toBe(1_000_000);
      expect(upstream.last().headers['transfer-encoding']).toBe('chunked');
    });

    it('answers 504 when the upstream is too slow and 502 when it cannot be reached', async () => {
      const slow = await send(base, 'GET', '/slow/hang', { 'x-api-key': keys.valid.key });
      expect(slow.status).toBe(504);
      expect(slow.body).toMatchObject({ code: 'GATEWAY_TIMEOUT', status: 504, instance: '/slow/hang' });
      expect(slow.headers['content-type']).toBe('application/problem+json');
      const down = await send(base, 'GET', '/down/x', { 'x-api-key': keys.valid.key });
      expect(down.status).toBe(502);
      expect(down.body).toMatchObject({ code: 'BAD_GATEWAY', status: 502 });
    });

    it('carries a rotation through: both keys pass in the grace window, the old one with Deprecation/Sunset, then only the new', async () => {
      const old = await h.consumerWithKey({ scopes: ['read'] });
      expect((await send(base, 'GET', '/api/x', { 'x-api-key': old.key })).headers.deprecation).toBeUndefined();
      const rotated = await h.json('POST', `/v1/keys/${old.keyId}/rotate`, { gracePeriod: '1h' }, 201);
      const oldView = await h.json('GET', `/v1/keys/${old.keyId}`, undefined, 200);
      const retiresAt = Date.parse(oldView.retiresAt);
      expect(retiresAt).toBe(h.clock.now() + 3_600_000);

      const during = await send(base, 'GET', '/api/x', { 'x-api-key': old.key });
      expect(during.status).toBe(200);
      expectDeprecationHeaders(during, retiresAt);
      expect(upstream.last().headers['x-keyroll-key-id']).toBe(old.keyId);
      const fresh = await send(base, 'GET', '/api/x', { 'x-api-key': rotated.key });
      expect(fresh.status).toBe(200);
      expect(fresh.headers.deprecation).toBeUndefined();
      expect(upstream.last().headers['x-keyroll-consumer-id']).toBe(old.consumerId);

      h.clock.set(retiresAt);
      expectRefusal(await send(base, 'GET', '/api/x', { 'x-api-key': old.key }), 'RETIRED');
      expect((await send(base, 'GET', '/api/x', { 'x-api-key': rotated.key })).status).toBe(200);
    });

    it('gives up on the upstream request when the client goes away', async () => {
      const closed = upstream.hangClosed();
      const arrived = upstream.hangArrived();
      await new Promise<void>((resolve) => {
        const { hostname, port } = new URL(base);
        const req = request({ hostname, port, path: '/api/hang', headers: { 'x-api-key': keys.valid.key } });
        req.on('error', () => resolve());
        req.end();
        // The client leaves once the request is upstream.
        void arrived.then(() => req.destroy());
      });
      await closed;
    });

    it('routes by the longest prefix, per method, and refuses what matches no route', async () => {
      const writer = await h.consumerWithKey({ scopes: ['read', 'write'] });
      // /api/orders wants `write` for POST (the /api route would have accepted `read`).
      expectRefusal(
        await send(base, 'POST', '/api/orders/1', { 'x-api-key': keys.valid.key }, '{}'),
        'INSUFFICIENT_SCOPE',
        ['write'],
      );
      expect((await send(base, 'POST', '/api/orders/1', { 'x-api-key': writer.key }, '{}')).status).toBe(200);
      expect((await send(base, 'GET', '/api/orders', { 'x-api-key': keys.valid.key })).status).toBe(200);
      expect((await send(base, 'HEAD', '/api/orders', { 'x-api-key': keys.valid.key })).status).toBe(200);

      const wrongMethod = await send(base, 'DELETE', '/api/orders/1', { 'x-api-key': writer.key });
      expect(wrongMethod.status).toBe(405);
      expect(wrongMethod.headers.allow).toBe('POST, PUT, GET, HEAD');
      expect(wrongMethod.body).toMatchObject({ code: 'METHOD_NOT_ALLOWED' });

      for (const path of ['/nothing', '/apix', '/', '/ap']) {
        const res = await send(base, 'GET', path, { 'x-api-key': keys.valid.key });
        expect(res.status, path).toBe(404);
        expect(res.body).toMatchObject({ code: 'ROUTE_NOT_FOUND', status: 404 });
      }
      for (const path of ['/api/../admin', '/api/%2e%2e/admin', '/api/.%2E%2fadmin', '/api/x/..']) {
        const res = await send(base, 'GET', path, { 'x-api-key': keys.valid.key });
        expect(res.status, path).toBe(400);
        expect(res.body).toMatchObject({ code: 'INVALID_PATH', status: 400 });
        expect(res.headers['content-type']).toBe('application/problem+json');
      }
    });
  });
}

describe.skipIf(!REDIS_URL)('gateway with cluster-wide limits in Redis', () => {
  it('answers RATE_LIMITED and QUOTA_EXCEEDED with Retry-After and RateLimit-* headers', async () => {
    const upstream = await startUpstream();
    const sqlite = DIALECTS.find((d) => d.name === 'sqlite');
    if (!sqlite) throw new Error('no sqlite dialect');
    const h = await createHarness(sqlite, {
      KEYROLL_GATEWAY_CONFIG: JSON.stringify({
        routes: [{ pathPrefix: '/api', upstream: upstream.url, scopes: ['read'] }],
      }),
      KEYROLL_REDIS_URL: REDIS_URL ?? '',
      KEYROLL_REDIS_PREFIX: `keyroll-test-gateway-${randomBytes(4).toString('hex')}:`,
    });
    try {
      const base = await h.kr.gateway!.listen(0);
      const keys = await keysForEveryCode(h);
      for (const code of ['RATE_LIMITED', 'QUOTA_EXCEEDED'] as const) {
        const { key, prime } = keys.cases[code];
        for (let i = 0; i < prime; i++) {
          const ok = await send(base, 'GET', '/api/x', { 'x-api-key': key });
          expect(ok.status).toBe(200);
          expect(ok.headers['ratelimit-remaining']).toMatch(/^\d+$/);
        }
        expectRefusal(await send(base, 'GET', '/api/x', { 'x-api-key': key }), code);
      }
    } finally {
      await h.close();
      await upstream.close();
    }
  });
});

describe('gateway when storage is away', () => {
  it('answers 503 problem+json for a key it cannot check', async () => {
    const upstream = await startUpstream();
    const gateway = new Gateway({
      config: parseGatewayConfig({ routes: [{ pathPrefix: '/', upstream: upstream.url }] }),
      verifier: new Verifier({ lookup: { get: () => Promise.reject(new Error('storage down')) } }),
    });
    try {
      const base = await gateway.listen(0);
      const res = await send(base, 'GET', '/x', { 'x-api-key': generateKey('kr_live').key });
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.body).toMatchObject({ code: 'UNAVAILABLE', status: 503 });
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });
});

describe('gateway with authentication off', () => {
  it('forwards every request without identity headers, still stripping keys and spoofed ids', async () => {
    const upstream = await startUpstream();
    const gateway = new Gateway({
      config: parseGatewayConfig({ routes: [{ pathPrefix: '/', upstream: upstream.url }] }),
      verifier: null,
    });
    try {
      const base = await gateway.listen(0);
      const res = await send(base, 'GET', '/anything', {
        'x-api-key': 'kr_live_whatever',
        'x-keyroll-key-id': 'spoof',
      });
      expect(res.status).toBe(200);
      expect(upstream.last().headers['x-keyroll-key-id']).toBeUndefined();
      expect(upstream.last().headers['x-api-key']).toBeUndefined();
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });
});
