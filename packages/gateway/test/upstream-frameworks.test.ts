import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../../test/support/databases.js';
import { createHarness, type Harness } from '../../../test/support/harness.js';
import { send } from '../../../test/support/http-send.js';

/** A real upstream app with a read handler under /v2 and an admin handler under /v2/admin. */
interface FrameworkUpstream {
  url: string;
  /** Paths the admin handler served, as the framework saw them. */
  adminHits: string[];
  close(): Promise<void>;
}

async function fastifyUpstream(): Promise<FrameworkUpstream> {
  const adminHits: string[] = [];
  const app = Fastify();
  app.all('/v2/admin', async (req) => {
    adminHits.push(req.url);
    return { handler: 'admin', url: req.url };
  });
  app.all('/v2/admin/*', async (req) => {
    adminHits.push(req.url);
    return { handler: 'admin', url: req.url };
  });
  app.all('/v2/*', async (req) => ({ handler: 'read', url: req.url }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, adminHits, close: () => app.close() };
}

async function expressUpstream(): Promise<FrameworkUpstream> {
  const adminHits: string[] = [];
  const app = express();
  app.use('/v2/admin', (req, res) => {
    adminHits.push(req.originalUrl);
    res.json({ handler: 'admin', url: req.originalUrl });
  });
  app.use('/v2', (req, res) => {
    res.json({ handler: 'read', url: req.originalUrl });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    adminHits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Spellings of a path under /v2/admin that a `read` key must never get to the admin handler with. */
const ADMIN_SPELLINGS = [
  '/v2/%61dmin/x',
  '/v2/ADMIN/x',
  '/v2/Admin',
  '/v2/%41DMIN/x',
  '/v2/adm%69n/x',
  '/v2/ADM%49N',
  '/v2//admin/x',
  '/v2/./admin/x',
  '/v2/x/../admin/x',
  '/v2/%2e%2e/v2/admin/x',
  '/v2/x/%2E%2E/admin/x',
  '/v2;x/admin/x',
  '/v2/admin;x/x',
  '/v2%2fadmin/x',
  '/v2/x%2f..%2fadmin/x',
  '/v2\\admin\\x',
  '/v2/x/..\\admin/x',
  '/v2%c0%afadmin/x',
  '/v2/%2561dmin/x',
  '/v2/%EF%BD%81dmin/x',
  '/v2/admin#/x',
  'http://evil.example/v2/admin/x',
];

const sqlite = DIALECTS.find((d) => d.name === 'sqlite');

for (const [name, start] of [
  ['Fastify', fastifyUpstream],
  ['Express', expressUpstream],
] as const) {
  describe.skipIf(!sqlite?.available)(`gateway in front of ${name}: path spelling cannot change the route`, () => {
    let h: Harness;
    let upstream: FrameworkUpstream;
    let base: string;
    let readKey: string;
    let adminKey: string;

    beforeAll(async () => {
      if (!sqlite) throw new Error('no sqlite dialect');
      upstream = await start();
      const routes = [
        { pathPrefix: '/v2', upstream: upstream.url, scopes: ['read'] },
        { pathPrefix: '/v2/admin', upstream: upstream.url, scopes: ['admin'] },
      ];
      h = await createHarness(sqlite, { KEYROLL_GATEWAY_CONFIG: JSON.stringify({ routes }) });
      if (!h.kr.gateway) throw new Error('the gateway was not configured');
      base = await h.kr.gateway.listen(0);
      readKey = (await h.consumerWithKey({ scopes: ['read'] })).key;
      adminKey = (await h.consumerWithKey({ scopes: ['read', 'admin'] })).key;
    });
    afterAll(async () => {
      await h?.close();
      await upstream?.close();
    });

    it('serves the read handler to a read key', async () => {
      const res = await send(base, 'GET', '/v2/items?q=%2F', { 'x-api-key': readKey });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ handler: 'read', url: '/v2/items?q=%2F' });
    });

    it.each(ADMIN_SPELLINGS)('does not let a read key reach the admin handler by %s', async (path) => {
      const before = upstream.adminHits.length;
      const res = await send(base, 'GET', path, { 'x-api-key': readKey });
      expect(upstream.adminHits.slice(before), 'the admin handler was reached').toEqual([]);
      expect([400, 403]).toContain(res.status);
      expect(res.headers['content-type']).toBe('application/problem+json');
      expect(res.body.code).toBe(res.status === 400 ? 'INVALID_PATH' : 'FORBIDDEN');
      if (res.status === 400) expect(res.body.reason).toMatch(/^[A-Z_0-9]+$/);
    });

    it('forwards the canonical path that was authorised, and the query as sent', async () => {
      const res = await send(base, 'GET', '/v2/%61dmin//x?y=%61&z', { 'x-api-key': adminKey });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ handler: 'admin', url: '/v2/admin/x?y=%61&z' });
      const absolute = await send(base, 'GET', 'http://evil.example/v2/admin/y', { 'x-api-key': adminKey });
      expect(absolute.body).toEqual({ handler: 'admin', url: '/v2/admin/y' });
    });
  });
}
