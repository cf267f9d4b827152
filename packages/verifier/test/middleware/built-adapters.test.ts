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
    const { Verifier } = await import(new URL('index.js', dist).href);
    const { key } = generateKey('kr_live');
    const stored = {
      id: 'key_built',
      consumerId: 'csm_built',
      hash: hashKey(key),
      name: 'built',
      version: 1,
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
    const verifier = new Verifier({ lookup: { get: async (h: string) => (h === stored.hash ? stored : null) } });
    return { verifier, key };
  }

  it('Fastify, Express and Hono let a valid key through and ask for a missing one', async () => {
    const { verifier, key } = await builtVerifier();
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
    const fUrl = await f.listen({ port: 0, host: '127.0.0.1' });

    const e = express();
    e.get('/t', keyrollExpress({ verifier, scopes: ['read'] }), (req: any, res: any) =>
      res.json({ c: req.keyroll.consumerId }),
    );
    const eServer = e.listen(0, '127.0.0.1');
    await new Promise((r) => eServer.once('listening', r));

    const h = new Hono();
    h.get('/t', keyrollHono({ verifier, scopes: ['read'] }), (c: any) => c.json({ c: c.get('keyroll').consumerId }));
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
