import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { keyrollHono } from '@keyroll/verifier/hono';
import { Hono } from 'hono';
import { costHeader, middlewareSuite } from './middleware-suite.js';

middlewareSuite('Hono', async (verifier, clock) => {
  const app = new Hono();
  app.get('/things', keyrollHono({ verifier, clock, scopes: ['read'] }), (c) => {
    const key = c.get('keyroll');
    return c.json({ consumerId: key.consumerId, keyId: key.keyId, deprecated: key.deprecated });
  });
  const bulk = keyrollHono({ verifier, clock, cost: (c) => costHeader(c.req.header('x-cost')) });
  app.post('/bulk', bulk, (c) => c.json({ ok: true }));
  const { server, port } = await new Promise<{ server: Server; port: number }>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
      resolve({ server: s as Server, port: info.port }),
    );
  });
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
});
