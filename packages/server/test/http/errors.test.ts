import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../../test/support/harness.js';

/** Asserts an RFC 9457 problem with the given status and stable code. */
function expectProblem(res: LightMyRequestResponse, status: number, code: string): void {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.json()).toMatchObject({ status, code, type: expect.stringMatching(/^urn:keyroll:problem:/) });
}

for (const dialect of DIALECTS) {
  describe.skipIf(!dialect.available)(`bad input over HTTP on ${dialect.name}`, () => {
    let h: Harness;
    let consumerId: string;
    let keyId: string;
    /** Every endpoint that takes a JSON body, with a body it accepts. */
    let writes: { method: 'POST' | 'PATCH'; url: string; valid: Record<string, unknown> }[];

    beforeAll(async () => {
      h = await createHarness(dialect);
      ({ consumerId, keyId } = await h.consumerWithKey());
      writes = [
        { method: 'POST', url: '/v1/consumers', valid: { name: 'n' } },
        { method: 'PATCH', url: `/v1/consumers/${consumerId}`, valid: { name: 'n' } },
        { method: 'POST', url: '/v1/keys', valid: { consumerId } },
        { method: 'PATCH', url: `/v1/keys/${keyId}`, valid: { name: 'n' } },
        { method: 'POST', url: `/v1/keys/${keyId}/revoke`, valid: { reason: 'r' } },
        { method: 'POST', url: '/v1/keys/verify', valid: { key: 'k' } },
      ];
    });
    afterAll(() => h?.close());

    const send = (method: 'POST' | 'PATCH', url: string, payload: string, contentType = 'application/json') =>
      h.request({ method, url, payload, headers: { 'content-type': contentType } });

    it('answers malformed JSON with 400 VALIDATION_FAILED on every write endpoint', async () => {
      for (const { method, url } of writes) {
        for (const payload of ['{"name":', '{name: 1}', "{'a':1}", '[1,2', 'nul']) {
          expectProblem(await send(method, url, payload), 400, 'VALIDATION_FAILED');
        }
      }
    });

    it('answers an empty JSON body with 400, a non-JSON content type with 415', async () => {
      for (const { method, url } of writes) {
        expectProblem(await send(method, url, ''), 400, 'VALIDATION_FAILED');
        expectProblem(
          await send(method, url, 'name=x', 'application/x-www-form-urlencoded'),
          415,
          'UNSUPPORTED_MEDIA_TYPE',
        );
        expectProblem(await send(method, url, '<a/>', 'application/xml'), 415, 'UNSUPPORTED_MEDIA_TYPE');
        // Fastify parses text/plain as a string, which no body schema accepts.
        expectProblem(await send(method, url, 'hello', 'text/plain'), 400, 'VALIDATION_FAILED');
      }
    });

    it('answers bodies over 64 KiB with 413 PAYLOAD_TOO_LARGE', async () => {
      for (const { method, url, valid } of writes) {
        const payload = JSON.stringify({ ...valid, metadata: { pad: 'x'.repeat(70 * 1024) } });
        expectProblem(await send(method, url, payload), 413, 'PAYLOAD_TOO_LARGE');
      }
    });

    it('answers unknown fields with 400 VALIDATION_FAILED naming them', async () => {
      for (const { method, url, valid } of writes) {
        const res = await send(method, url, JSON.stringify({ ...valid, admin: true }));
        expectProblem(res, 400, 'VALIDATION_FAILED');
        expect(res.json().detail).toBe('body has an unknown field "admin"');
      }
    });

    it('answers a non-object body with 400', async () => {
      for (const { method, url } of writes) {
        for (const payload of ['[]', '"text"', '42', 'true']) {
          expectProblem(await send(method, url, payload), 400, 'VALIDATION_FAILED');
        }
      }
    });

    it('answers wrong types with 400 VALIDATION_FAILED', async () => {
      const cases: [string, string, unknown][] = [
        ['POST', '/v1/consumers', { name: { first: 'a' } }],
        ['POST', '/v1/consumers', { name: '' }],
        ['POST', '/v1/consumers', { name: 'a'.repeat(201) }],
        ['POST', '/v1/consumers', { name: 'a', metadata: 'tier=pro' }],
        ['POST', '/v1/consumers', { name: 'a', metadata: [1, 2] }],
        ['POST', '/v1/consumers', { name: 'a', rateLimit: { limit: 0, window: '1m' } }],
        ['POST', '/v1/consumers', { name: 'a', quota: { limit: 5, period: 'year' } }],
        ['POST', '/v1/consumers', {}],
        ['POST', '/v1/keys', {}],
        ['POST', '/v1/keys', { consumerId: ['a', 'b'] }],
        ['POST', '/v1/keys', { consumerId: 'x', scopes: { read: true } }],
        ['POST', '/v1/keys', { consumerId: 'x', scopes: [{ s: 1 }] }],
        ['POST', '/v1/keys', { consumerId: 'x', allowedIps: [{ ip: 1 }] }],
        ['POST', '/v1/keys', { consumerId: 'x', metadata: null }],
        ['POST', '/v1/keys', { consumerId: 'x', expiresIn: { d: 1 } }],
        ['POST', '/v1/keys', { consumerId: 'x', expiresIn: -5 }],
        ['POST', '/v1/keys/verify', {}],
        ['POST', '/v1/keys/verify', { key: { k: 1 } }],
        ['POST', '/v1/keys/verify', { key: 'k', cost: -1 }],
        ['POST', '/v1/keys/verify', { key: 'k', cost: 1.5 }],
        ['POST', '/v1/keys/verify', { key: 'k'.repeat(513) }],
        // JSON bodies are not coerced: a number is no string, a string no list.
        ['POST', '/v1/consumers', { name: 123 }],
        ['POST', '/v1/consumers', { name: true }],
        ['POST', '/v1/consumers', { name: null }],
        ['POST', '/v1/consumers', { name: 'a', externalId: 42 }],
        ['POST', '/v1/keys', { consumerId: 'x', scopes: 'read' }],
        ['POST', '/v1/keys', { consumerId: 'x', allowedIps: '10.0.0.0/8' }],
        ['POST', '/v1/keys', { consumerId: 'x', name: 7 }],
        ['POST', '/v1/keys', { consumerId: 'x', expiresIn: true }],
        ['POST', '/v1/keys', { consumerId: 'x', rateLimit: { limit: '5', window: '1m' } }],
        ['POST', '/v1/keys/verify', { key: 'k', cost: '1' }],
        ['POST', '/v1/keys/verify', { key: 'k', scopes: 'read' }],
        ['PATCH', `/v1/keys/${keyId}`, { expiresAt: 0 }],
        ['PATCH', `/v1/consumers/${consumerId}`, { metadata: null }],
      ];
      for (const [method, url, body] of cases) {
        const res = await h.request({ method: method as 'POST', url, payload: body as object });
        // consumerId 'x' does not exist: a body that passed the schema would be a 404.
        expect(res.json().code, `${method} ${url} ${JSON.stringify(body)}`).toBe('VALIDATION_FAILED');
        expectProblem(res, 400, 'VALIDATION_FAILED');
      }
    });

    it('answers bad durations, dates, CIDRs and scopes with 400 naming the field', async () => {
      const bad: [string, Record<string, unknown>][] = [
        ['expiresIn', { expiresIn: '5 weeks' }],
        ['expiresIn', { expiresIn: '1y' }],
        ['expiresIn', { expiresIn: '-1d' }],
        ['expiresIn', { expiresIn: '' }],
        ['expiresIn', { expiresIn: 1e300 }],
        ['expiresAt', { expiresAt: 'yesterday' }],
        ['expiresAt', { expiresAt: '2026-13-45T00:00:00Z' }],
        ['expiresAt', { expiresAt: '' }],
        ['expiresAt', { expiresAt: '2025-01-01T00:00:00Z' }],
        ['allowedIps', { allowedIps: ['10.0.0.0/33'] }],
        ['allowedIps', { allowedIps: ['not-an-ip'] }],
        ['allowedIps', { allowedIps: ['::/129'] }],
        ['allowedIps', { allowedIps: ['10.0.0.1/8/1'] }],
        ['allowedIps', { allowedIps: [''] }],
        ['scopes', { scopes: ['has space'] }],
        ['scopes', { scopes: ['UPPER'] }],
        ['scopes', { scopes: ['a::b'] }],
        ['scopes', { scopes: ['*:read'] }],
        ['scopes', { scopes: [''] }],
        ['rateLimit', { rateLimit: { limit: 5, window: '0s' } }],
        ['rateLimit', { rateLimit: { limit: 5, window: 'soon' } }],
      ];
      for (const [field, fields] of bad) {
        for (const [method, url, body] of [
          ['POST', '/v1/keys', { consumerId, ...fields }],
          ['PATCH', `/v1/keys/${keyId}`, fields],
        ] as const) {
          const res = await h.request({ method, url, payload: body });
          expectProblem(res, 400, 'VALIDATION_FAILED');
          expect(res.json().detail, `${method} ${JSON.stringify(fields)}`).toContain(field);
        }
      }
      // Nothing of the above was stored.
      const keys = await h.json('GET', `/v1/keys?consumerId=${consumerId}`, undefined, 200);
      expect(keys.data).toHaveLength(1);
      expect(keys.data[0]).toMatchObject({ scopes: [], allowedIps: null, expiresAt: null, rateLimit: null });
    });

    it('answers bad query strings and ids with 4xx problems', async () => {
      const cases: [string, number, string][] = [
        ['/v1/keys?status=bogus', 400, 'VALIDATION_FAILED'],
        ['/v1/keys?limit=abc', 400, 'VALIDATION_FAILED'],
        ['/v1/keys?limit=1000', 400, 'VALIDATION_FAILED'],
        ['/v1/keys?cursor=abc', 400, 'INVALID_CURSOR'],
        [`/v1/keys?consumerId=${'c'.repeat(65)}`, 400, 'VALIDATION_FAILED'],
        ['/v1/audit?limit=0', 400, 'VALIDATION_FAILED'],
        ['/v1/audit?cursor=zzz', 400, 'INVALID_CURSOR'],
        [`/v1/audit?action=${'a'.repeat(65)}`, 400, 'VALIDATION_FAILED'],
        [`/v1/keys/${'k'.repeat(65)}`, 400, 'VALIDATION_FAILED'],
        [`/v1/consumers/${'c'.repeat(65)}`, 400, 'VALIDATION_FAILED'],
        ['/v1/keys/%00', 400, 'VALIDATION_FAILED'],
        ['/v1/consumers/a%00b', 400, 'VALIDATION_FAILED'],
        ['/v1/keys?consumerId=%00', 400, 'VALIDATION_FAILED'],
        ['/v1/nothing-here', 404, 'ROUTE_NOT_FOUND'],
      ];
      for (const [url, status, code] of cases) expectProblem(await h.request({ method: 'GET', url }), status, code);
      expectProblem(await h.request({ method: 'PUT', url: '/v1/nothing-here' }), 404, 'ROUTE_NOT_FOUND');
    });

    it('answers an unsupported method on a known path with 405 and Allow', async () => {
      const cases: [string, string, string][] = [
        ['PUT', '/v1/keys', 'GET, HEAD, POST'],
        ['DELETE', '/v1/self/rotate', 'POST'],
        // `verify` is also a key id to GET /v1/keys/:id and PATCH it.
        ['DELETE', '/v1/keys/verify', 'GET, HEAD, PATCH, POST'],
        ['POST', `/v1/keys/${keyId}`, 'GET, HEAD, PATCH'],
        ['GET', `/v1/keys/${keyId}/revoke`, 'POST'],
        ['PUT', '/v1/keys?limit=5', 'GET, HEAD, POST'],
        ['OPTIONS', '/healthz', 'GET, HEAD'],
      ];
      for (const [method, url, allow] of cases) {
        const res = await h.request({ method: method as 'PUT', url });
        expectProblem(res, 405, 'METHOD_NOT_ALLOWED');
        expect(res.headers.allow, `${method} ${url}`).toBe(allow);
        expect(res.json()).toMatchObject({
          allowed: allow.split(', '),
          detail: `${method} is not allowed on ${url.split('?')[0]}`,
        });
      }
    });

    it("answers long and malformed path parameters with problems, never Fastify's own JSON", async () => {
      // Over the router's old 100-character limit: the id's own limit names it.
      const long = await h.request({ method: 'GET', url: `/v1/keys/${'k'.repeat(101)}` });
      expectProblem(long, 400, 'VALIDATION_FAILED');
      expect(long.json().detail).toBe('params/id must NOT have more than 64 characters');
      for (const url of [`/v1/keys/${'k'.repeat(1025)}`, `/v1/consumers/${'c'.repeat(5000)}/rollover`]) {
        expectProblem(await h.request({ method: 'GET', url }), 414, 'URI_TOO_LONG');
      }
      for (const url of ['/v1/keys/%E0%A4%A', '/v1/consumers/%zz', '/v1/keys/a%ff%fe']) {
        expectProblem(await h.request({ method: 'GET', url }), 400, 'INVALID_PATH');
      }
    });

    it('says what a duration, a date and a union accept, naming the field', async () => {
      const cases: [string, string, Record<string, unknown>, string][] = [
        ['POST', '/v1/keys', { consumerId, expiresIn: 0 }, 'expiresIn: must be longer than 0'],
        ['POST', '/v1/keys', { consumerId, expiresIn: '0s' }, 'expiresIn: must be longer than 0'],
        ['PATCH', `/v1/keys/${keyId}`, { expiresIn: 0 }, 'expiresIn: must be longer than 0'],
        ['POST', '/v1/keys', { consumerId, expiresIn: 1e300 }, 'expiresIn: too long (at most 3650d'],
        ['POST', '/v1/keys', { consumerId, expiresIn: '99999d' }, 'expiresIn: too long (at most 3650d'],
        [
          'POST',
          '/v1/keys',
          { consumerId, expiresIn: '5 weeks' },
          'body/expiresIn must be seconds, or a string such as "90s", "15m", "24h", "7d"',
        ],
        [
          'POST',
          '/v1/keys',
          { consumerId, rateLimit: { limit: 5, window: '1m', burst: 2 } },
          'body/rateLimit has an unknown field "burst"',
        ],
        [
          'POST',
          '/v1/consumers',
          { name: 'n', quota: { limit: 5, period: 'year' } },
          'body/quota/period must be one of "day", "month"',
        ],
      ];
      for (const [method, url, payload, detail] of cases) {
        const res = await h.request({ method: method as 'POST', url, payload });
        expectProblem(res, 400, 'VALIDATION_FAILED');
        expect(res.json().detail, `${method} ${url} ${JSON.stringify(payload)}`).toContain(detail);
      }
      const status = await h.request({ method: 'GET', url: '/v1/keys?status=bogus' });
      expect(status.json().detail).toBe(
        'querystring/status must be one of "active", "deprecated", "retired", "revoked", "expired"',
      );
    });

    it('answers text with NUL characters with 400, never a storage error', async () => {
      const cases: [string, string, Record<string, unknown>][] = [
        ['POST', '/v1/consumers', { name: 'a\u0000b' }],
        ['POST', '/v1/consumers', { name: 'a', externalId: 'x\u0000' }],
        ['POST', '/v1/consumers', { name: 'a', metadata: { 'k\u0000': 'v' } }],
        ['POST', '/v1/consumers', { name: 'a', metadata: { k: ['v\u0000'] } }],
        ['POST', '/v1/keys', { consumerId: 'csm_\u0000' }],
        ['POST', '/v1/keys', { consumerId, name: '\u0000' }],
        ['PATCH', `/v1/keys/${keyId}`, { name: 'n\u0000' }],
        ['POST', `/v1/keys/${keyId}/revoke`, { reason: '\u0000' }],
        ['POST', '/v1/keys/verify', { key: 'kr_live_\u0000' }],
      ];
      for (const [method, url, payload] of cases) {
        expectProblem(await h.request({ method: method as 'POST', url, payload }), 400, 'VALIDATION_FAILED');
      }
      expect((await h.json('GET', `/v1/keys/${keyId}`, undefined, 200)).status).toBe('active');
    });

    it('answers deeply nested metadata with 400 rather than a stack overflow', async () => {
      const deep = `${'['.repeat(30_000)}${']'.repeat(30_000)}`;
      for (const { method, url, valid } of writes.slice(0, 4)) {
        const payload = `{${JSON.stringify(valid).slice(1, -1)},"metadata":{"a":${deep}}}`;
        const res = await send(method, url, payload);
        expectProblem(res, 400, 'VALIDATION_FAILED');
        expect(res.body).toContain('metadata');
      }
      // Ordinary nesting is fine.
      const nested = { a: { b: { c: [1, [2, [3, { d: 'e' }]]] } } };
      const created = await h.json('POST', '/v1/consumers', { name: 'nested', metadata: nested }, 201);
      expect(created.metadata).toEqual(nested);
    });

    it('never answers random query strings and ids with a 5xx (property)', async () => {
      const text = fc.oneof(
        fc.string({ unit: 'binary', maxLength: 80 }),
        fc.constantFrom('', '0', '-1', '1e3', '100', 'active', 'revoked', consumerId, keyId, 'YzE6'),
      );
      const url = fc.oneof(
        fc
          .tuple(
            fc.constantFrom('/v1/consumers', '/v1/keys', '/v1/audit'),
            fc.dictionary(fc.constantFrom('limit', 'cursor', 'status', 'consumerId', 'targetId', 'action', 'x'), text, {
              maxKeys: 4,
            }),
          )
          .map(([path, q]) => `${path}?${new URLSearchParams(q)}`),
        fc
          .tuple(fc.constantFrom('/v1/consumers/', '/v1/keys/', '/v1/keys/'), text)
          .map(([path, id]) => `${path}${encodeURIComponent(id)}`),
      );
      await fc.assert(
        fc.asyncProperty(url, async (u) => {
          const res = await h.request({ method: 'GET', url: u });
          if (res.statusCode >= 500) throw new Error(`GET ${u} → ${res.body}`);
          if (res.statusCode >= 400) expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        }),
        { numRuns: 300 },
      );
    });

    it('never answers random JSON bodies with a 5xx (property)', async () => {
      const field = fc.constantFrom(
        'name',
        'externalId',
        'metadata',
        'rateLimit',
        'quota',
        'consumerId',
        'scopes',
        'expiresAt',
        'expiresIn',
        'allowedIps',
        'reason',
        'key',
        'cost',
        'ip',
      );
      const value = fc.oneof(
        fc.jsonValue({ maxDepth: 3 }),
        fc.constantFrom(consumerId, keyId, '10.0.0.0/8', '1.2.3.4', '90d', '2030-01-01T00:00:00Z', ['read']),
        fc.record({ limit: fc.jsonValue({ maxDepth: 1 }), window: fc.jsonValue({ maxDepth: 1 }) }),
        fc.string({ unit: 'binary' }),
      );
      const body = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.dictionary(field, value, { maxKeys: 5 }));
      const endpoint = fc.constantFrom(...writes.map(({ method, url }) => ({ method, url })));
      await fc.assert(
        fc.asyncProperty(endpoint, body, async ({ method, url }, payload) => {
          const res = await send(method, url, JSON.stringify(payload) ?? 'null');
          if (res.statusCode >= 500) throw new Error(`${method} ${url} ${JSON.stringify(payload)} → ${res.body}`);
          if (res.statusCode >= 400) {
            expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
            expect(res.json().code).toMatch(/^[A-Z_]+$/);
          }
        }),
        { numRuns: 300 },
      );
    });
  });
}
