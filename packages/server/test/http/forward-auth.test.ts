import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, generateKey } from '@keyroll/core';
import { ForwardAuth } from '@keyroll/gateway';
import { createKeyroll, loadConfig } from '@keyroll/server';
import { Verifier } from '@keyroll/verifier/internal';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';
import { send } from '../../../../test/support/http-send.js';
import {
  type CodeKeys,
  expectDeprecationHeaders,
  expectRefusal,
  keysForEveryCode,
} from '../../../../test/support/key-fixtures.js';

// Direct HTTP calls in the shape each proxy sends them: Traefik ForwardAuth (GET, X-Forwarded-*,
// every client header copied), Envoy ext_authz HTTP (path_prefix + original path, original method).
const ROUTES = {
  routes: [
    { pathPrefix: '/api', upstream: 'http://127.0.0.1:9', scopes: ['read'] },
    { pathPrefix: '/api/orders', upstream: 'http://127.0.0.1:9', scopes: ['write'], methods: ['POST', 'PUT'] },
    { pathPrefix: '/api/orders', upstream: 'http://127.0.0.1:9', scopes: ['read'], methods: ['GET'] },
  ],
};

/** The headers Traefik's ForwardAuth sends for a client request (it copies the client's own too). */
function traefik(method: string, uri: string, client: Record<string, string> = {}): Record<string, string> {
  return {
    ...client,
    'X-Forwarded-Method': method,
    'X-Forwarded-Proto': 'https',
    'X-Forwarded-Host': 'api.example.com',
    'X-Forwarded-Uri': uri,
    'X-Forwarded-For': '203.0.113.9',
  };
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`forward-auth with gateway routes on ${dialect.name}`, () => {
    let h: Harness;
    let base: string;
    let keys: CodeKeys;

    beforeAll(async () => {
      h = await createHarness(dialect, { KEYROLL_GATEWAY_CONFIG: JSON.stringify(ROUTES) });
      base = await h.kr.app.listen({ port: 0, host: '127.0.0.1' });
      keys = await keysForEveryCode(h);
    });
    afterAll(() => h?.close());

    it('accepts a valid key (Traefik convention) with the identity headers and no body', async () => {
      const { key, keyId, consumerId } = keys.valid;
      const res = await send(
        base,
        'GET',
        '/v1/forward-auth',
        traefik('GET', '/api/things?q=1', { authorization: `Bearer ${key}` }),
      );
      expect(res.status).toBe(200);
      expect(res.headers['x-keyroll-consumer-id']).toBe(consumerId);
      expect(res.headers['x-keyroll-key-id']).toBe(keyId);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.raw.length).toBe(0);
    });

    for (const code of [
      'MALFORMED',
      'NOT_FOUND',
      'EXPIRED',
      'RETIRED',
      'REVOKED',
      'INSUFFICIENT_SCOPE',
      'IP_NOT_ALLOWED',
      'RATE_LIMITED',
      'QUOTA_EXCEEDED',
    ] as const) {
      it(`refuses a ${code} key with the verify code, never echoing the key`, async () => {
        const { key, prime } = keys.cases[code];
        for (let i = 0; i < prime; i++) {
          expect(
            (await send(base, 'GET', '/v1/forward-auth', traefik('GET', '/api/x', { 'x-api-key': key }))).status,
          ).toBe(200);
        }
        const res = await send(
          base,
          'POST',
          '/v1/forward-auth',
          traefik('GET', `/api/x?api_key=${key}`, { 'x-api-key': key }),
        );
        expectRefusal(res, code);
        expect(res.headers['x-keyroll-verify-code']).toBe(code);
        expect(res.headers['cache-control']).toBe('no-store');
        expect(res.raw.toString()).not.toContain(key);
        expect(res.body.instance).toBe('/api/x');
      });
    }

    it('refuses a root key as an unknown key: root keys never pass forward-auth', async () => {
      const res = await send(base, 'GET', '/v1/forward-auth', traefik('GET', '/api/x', { 'x-api-key': h.rootKey }));
      expectRefusal(res, 'NOT_FOUND');
      expect(res.raw.toString()).not.toContain(h.rootKey);
    });

    it('answers 401 with WWW-Authenticate when no key is presented', async () => {
      const res = await send(base, 'GET', '/v1/forward-auth', traefik('GET', '/api/x'));
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="keyroll"');
      expect(res.body).toMatchObject({ code: 'UNAUTHORIZED' });
    });

    it('gives a deprecated key Deprecation and Sunset for the proxy to copy', async () => {
      const res = await send(
        base,
        'GET',
        '/v1/forward-auth',
        traefik('GET', '/api/x', { 'x-api-key': keys.deprecated.key }),
      );
      expect(res.status).toBe(200);
      expectDeprecationHeaders(res, keys.deprecated.retiresAt);
    });

    it("applies the route's scopes and methods to the original request", async () => {
      const read = keys.valid.key;
      const post = await send(base, 'GET', '/v1/forward-auth', traefik('POST', '/api/orders', { 'x-api-key': read }));
      expectRefusal(post, 'INSUFFICIENT_SCOPE', ['write']);
      const del = await send(
        base,
        'GET',
        '/v1/forward-auth',
        traefik('DELETE', '/api/orders/1', { 'x-api-key': read }),
      );
      expect(del.status).toBe(405);
      expect(del.headers.allow).toBe('POST, PUT, GET, HEAD');
      const none = await send(base, 'GET', '/v1/forward-auth', traefik('GET', '/other', { 'x-api-key': read }));
      expect(none.body).toMatchObject({ status: 404, code: 'ROUTE_NOT_FOUND' });
      const upper = await send(base, 'GET', '/v1/forward-auth', traefik('GET', '/API/x', { 'x-api-key': read }));
      expect(upper.body).toMatchObject({ status: 400, code: 'INVALID_PATH', reason: 'CASE_MISMATCH' });
    });

    it('refuses path tricks before the key is looked at', async () => {
      const read = keys.valid.key;
      for (const uri of ['/api/../admin', '/api/%2e%2e/admin', '/api%2Forders', '/api/%252e%252e', '/api;a=b']) {
        const res = await send(base, 'GET', '/v1/forward-auth', traefik('GET', uri, { 'x-api-key': read }));
        expect({ uri, status: res.status, code: res.body?.code }).toEqual({ uri, status: 400, code: 'INVALID_PATH' });
      }
    });

    it('refuses a call that does not say which request it is about, or says two things', async () => {
      const read = keys.valid.key;
      const missing = await send(base, 'GET', '/v1/forward-auth', { 'x-api-key': read });
      expect(missing.body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', reason: 'MISSING_HEADER' });
      const noMethod = await send(base, 'GET', '/v1/forward-auth', { 'x-api-key': read, 'X-Forwarded-Uri': '/api/x' });
      expect(noMethod.body).toMatchObject({ status: 400, reason: 'MISSING_HEADER' });
      // Traefik copies the client's headers: a client-sent X-Original-URI must not outvote the proxy's.
      const spoof = traefik('GET', '/api/x', { 'x-api-key': read, 'X-Original-URI': '/api/orders' });
      const conflict = await send(base, 'GET', '/v1/forward-auth', { ...spoof, 'X-Original-Method': 'POST' });
      expect(conflict.body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', reason: 'CONFLICTING_HEADERS' });
    });

    it('answers generated calls below 500, every refusal as problem+json with a matching status', async () => {
      const text = fc.oneof(
        fc.constantFrom(
          '/api/x',
          '/api/../admin',
          '/API/x',
          '/%',
          '/api%2F',
          '*',
          '',
          ' ',
          '/api?x#y',
          'http://h/api',
          '//api',
          '/\u00e9',
        ),
        fc.string({ maxLength: 40 }).map((t) => t.replace(/[^\x20-\x7e]/g, '')),
      );
      const method = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD');
      const header = fc.tuple(
        fc.constantFrom(
          'X-Original-URI',
          'X-Forwarded-Uri',
          'X-Original-Method',
          'X-Forwarded-Method',
          'x-api-key',
          'Authorization',
          'X-Forwarded-For',
          'Content-Type',
        ),
        fc.oneof(text, method, fc.constant(keys.valid.key), fc.constant(`Bearer ${keys.valid.key}`)),
      );
      const cases = fc.sample(
        fc.record({ method, suffix: fc.option(text, { nil: undefined }), headers: fc.array(header, { maxLength: 6 }) }),
        { seed: 13, numRuns: 300 },
      );
      for (const c of cases) {
        const suffix = c.suffix === undefined ? '' : `/${c.suffix.replace(/^\//, '')}`;
        const headers: Record<string, string> = {};
        for (const [name, value] of c.headers) headers[name] = value;
        const res = await send(base, c.method, `/v1/forward-auth${suffix.replace(/[ #]/g, '')}`, headers);
        const what = `${c.method} ${suffix} ${JSON.stringify(headers)} → ${res.status} ${res.raw.toString()}`;
        expect(res.status, what).toBeLessThan(500);
        if (res.status >= 400) {
          expect(res.headers['content-type'], what).toMatch(/^application\/problem\+json/);
          if (c.method !== 'HEAD') expect(res.body?.status, what).toBe(res.status);
        }
      }
    });

    it("reads Envoy's convention: the original path after /v1/forward-auth, the original method", async () => {
      const writer = await h.consumerWithKey({ scopes: ['read', 'write'] });
      const headers = {
        authorization: `Bearer ${writer.key}`,
        'content-type': 'application/json',
        'content-length': '0',
      };
      const ok = await send(base, 'POST', '/v1/forward-auth/api/orders?wait=bogus&x=1', headers);
      expect(ok.status).toBe(200);
      expect(ok.headers['x-keyroll-key-id']).toBe(writer.keyId);
      expect(ok.headers['keyroll-propagation']).toBeUndefined();
      const put = await send(base, 'PUT', '/v1/forward-auth/api/orders/7', { 'x-api-key': keys.valid.key });
      expectRefusal(put, 'INSUFFICIENT_SCOPE', ['write']);
      const dots = await send(base, 'GET', '/v1/forward-auth/api/../admin', { 'x-api-key': keys.valid.key });
      expect(dots.body).toMatchObject({ status: 400, code: 'INVALID_PATH', reason: 'DOT_SEGMENT', field: 'path' });
    });
  });

  describe.skipIf(!dialect.available)(`forward-auth without gateway routes on ${dialect.name}`, () => {
    let h: Harness;
    let base: string;
    beforeAll(async () => {
      h = await createHarness(dialect, { KEYROLL_GATEWAY_TRUSTED_PROXIES: '127.0.0.1' });
      base = await h.kr.app.listen({ port: 0, host: '127.0.0.1' });
    });
    afterAll(() => h?.close());

    it('verifies the key alone; the original request is optional but still checked', async () => {
      const { key, keyId } = await h.consumerWithKey({ scopes: [] });
      const bare = await send(base, 'GET', '/v1/forward-auth', { 'x-api-key': key });
      expect(bare.status).toBe(200);
      expect(bare.headers['x-keyroll-key-id']).toBe(keyId);
      const bad = await send(base, 'GET', '/v1/forward-auth', { 'x-api-key': key, 'X-Original-URI': '/a/../b' });
      expect(bad.body).toMatchObject({ status: 400, code: 'INVALID_PATH' });
    });

    it("reads the client's address from X-Forwarded-For of a trusted proxy, for allowedIps", async () => {
      const { key } = await h.consumerWithKey({ allowedIps: ['203.0.113.0/24'] });
      const via = await send(base, 'GET', '/v1/forward-auth', { 'x-api-key': key, 'x-forwarded-for': '203.0.113.7' });
      expect(via.status).toBe(200);
      const other = await send(base, 'GET', '/v1/forward-auth', {
        'x-api-key': key,
        'x-forwarded-for': '198.51.100.1',
      });
      expectRefusal(other, 'IP_NOT_ALLOWED');
    });
  });
}

describe('forward-auth when the key cannot be checked', () => {
  it('answers 503 UNAVAILABLE with Retry-After', async () => {
    const forwardAuth = new ForwardAuth({
      verifier: new Verifier({ lookup: { get: () => Promise.reject(new Error('storage down')) } }),
      routes: null,
      trustedProxies: [],
    });
    const answer = await forwardAuth.answer({
      method: 'GET',
      suffix: null,
      rawHeaders: ['x-api-key', generateKey('kr_live').key],
      peer: '127.0.0.1',
    });
    expect(answer).toMatchObject({ status: 503, body: { code: 'UNAVAILABLE' }, headers: { 'retry-after': '1' } });
    expect(answer.error).toBeInstanceOf(Error);
  });
});

describe('forward-auth configuration', () => {
  it('refuses to start on a bad KEYROLL_GATEWAY_TRUSTED_PROXIES without gateway routes, before opening storage', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyroll-fa-'));
    try {
      const config = loadConfig({ KEYROLL_DATA_DIR: dir, KEYROLL_GATEWAY_TRUSTED_PROXIES: '127.0.0.1, not-an-ip' });
      await expect(createKeyroll(config)).rejects.toThrow(ConfigError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
