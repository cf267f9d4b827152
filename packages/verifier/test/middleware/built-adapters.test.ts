import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { generateKey, hashKey } from '@keyroll/core';
import { describe, expect, it } from 'vitest';
import { send } from '../../../../test/support/http-send.js';

const dist = new URL('../../dist/', import.meta.url);
const built = existsSync(new URL('middleware/hono.js', dist));

/** The adapters as users import them: from the built package, against a verifier built there too. */
describe.skipIf(!built)('adapters from dist (run `npm run build` first)', () => {
  async function builtVerifier() {
    const { Verifier } = await import(new URL('internal.js', dist).href);
    const { key } = generateKey('kr_live');
    const stored = {
      id: 'key_built',
      consumerId: 'csm_built',
      hash: hashKey(key),
      name: 'built',
      version: 1,
      lineageId: 'key_built',
      scopes: ['read'],
      metadata: {},
      allowedRanges: null,
      rateLimit: null,
      quota: null,
      planId: null,
      expiresAt: null,
      retiresAt: null,
      revokedAt: null,
    };
    const root = generateKey('kr_root');
    const rootRow = {
      ...stored,
      id: 'key_root',
      lineageId: 'key_root',
      consumerId: 'root',
      hash: root.hash,
      scopes: ['*'],
    };
    const rows = new Map([stored, rootRow].map((r) => [r.hash, r]));
    const verifier = new Verifier({ lookup: { get: async (h: string) => rows.get(h) ?? null } });
    return { verifier, key, rootKey: root.key };
  }

  it('Fastify, Express and Hono let a valid key through, ask for a missing one, refuse root keys and bad costs', async () => {
    const { verifier, key, rootKey } = await builtVerifier();
    const cost = (req: any) => Number(req.headers?.['x-cost'] ?? req.header?.('x-cost'));
    const { keyrollFastify } = await import(new URL('middleware/fastify.js', dist).href);
    const { keyrollExpress } = await import(new URL('middleware/express.js', dist).href);
    const { keyrollHono } = await import(new URL('middleware/hono.js', dist).href);
    const { default: Fastify } = await import('fastify');
    const { default: express } = await import('express');
    const { Hono } = await import('hono');
    const { serve } = await import('@hono/node-server');

    const f = Fastify();
    f.get('/t', { preHandler: keyrollFastify({ verifier, scopes: ['read'] }) }, async (req: any) => ({
      c: req.keyroll.consumerId,
    }));
    f.get('/c', { preHandler: keyrollFastify({ verifier, cost }) }, async () => ({ ok: true }));
    const fUrl = await f.listen({ port: 0, host: '127.0.0.1' });

    const e = express();
    e.get('/t', keyrollExpress({ verifier, scopes: ['read'] }), (req: any, res: any) =>
      res.json({ c: req.keyroll.consumerId }),
    );
    e.get('/c', keyrollExpress({ verifier, cost }), (_req: any, res: any) => res.json({ ok: true }));
    const eServer = e.listen(0, '127.0.0.1');
    await new Promise((r) => eServer.once('listening', r));

    const h = new Hono();
    h.get('/t', keyrollHono({ verifier, scopes: ['read'] }), (c: any) => c.json({ c: c.get('keyroll').consumerId }));
    h.get('/c', keyrollHono({ verifier, cost: (c: any) => Number(c.req.header('x-cost')) }), (c: any) =>
      c.json({ ok: true }),
    );
    const hServer: any = serve({ fetch: h.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise((r) => hServer.once('listening', r));

    try {
      for (const url of [
        fUrl,
        `http://127.0.0.1:${(eServer.address() as AddressInfo).port}`,
        `http://127.0.0.1:${hServer.address().port}`,
      ]) {
        const ok = await send(url, 'GET', '/t', { authorization: `Bearer ${key}` });
        expect(ok.status, url).toBe(200);
        expect(ok.body).toEqual({ c: 'csm_built' });
        const missing = await send(url, 'GET', '/t');
        expect(missing.status, url).toBe(401);
        expect(missing.body).toMatchObject({ code: 'UNAUTHORIZED' });
        const root = await send(url, 'GET', '/t', { authorization: `Bearer ${rootKey}` });
        expect(root.status, url).toBe(401);
        expect(root.body).toMatchObject({ code: 'UNAUTHORIZED', verifyCode: 'NOT_FOUND' });
        const badCost = await send(url, 'GET', '/c', { authorization: `Bearer ${key}`, 'x-cost': '-5' });
        expect(badCost.status, url).toBe(400);
        expect(badCost.body).toMatchObject({ code: 'VALIDATION_FAILED', field: 'cost', value: '-5' });
        expect((await send(url, 'GET', '/c', { authorization: `Bearer ${key}`, 'x-cost': '2' })).status, url).toBe(200);
      }
    } finally {
      await f.close();
      eServer.closeAllConnections();
      eServer.close();
      hServer.closeAllConnections();
      hServer.close();
    }
  });
});
