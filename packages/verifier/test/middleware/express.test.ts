import type { AddressInfo } from 'node:net';
import { keyrollExpress } from '@keyroll/verifier/express';
import express from 'express';
import { costHeader, middlewareSuite } from './middleware-suite.js';

middlewareSuite('Express', async (verifier, clock) => {
  const app = express();
  app.get('/things', keyrollExpress({ verifier, clock, scopes: ['read'] }), (req, res) => {
    res.json({ consumerId: req.keyroll?.consumerId, keyId: req.keyroll?.keyId, deprecated: req.keyroll?.deprecated });
  });
  const bulk = keyrollExpress({ verifier, clock, cost: (req) => costHeader(req.headers['x-cost']) });
  app.post('/bulk', bulk, (_req, res) => {
    res.json({ ok: true });
  });
  const server = await new Promise<ReturnType<typeof app.listen>>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
});
