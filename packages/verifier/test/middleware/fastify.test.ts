import { keyrollFastify } from '@keyroll/verifier/fastify';
import Fastify from 'fastify';
import { expect, it } from 'vitest';
import { costHeader, middlewareSuite } from './middleware-suite.js';

middlewareSuite('Fastify', async (verifier, clock) => {
  const app = Fastify();
  app.get('/things', { preHandler: keyrollFastify({ verifier, clock, scopes: ['read'] }) }, async (req) => ({
    consumerId: req.keyroll?.consumerId,
    keyId: req.keyroll?.keyId,
    deprecated: req.keyroll?.deprecated,
  }));
  const bulk = keyrollFastify({ verifier, clock, cost: (req) => costHeader(req.headers['x-cost']) });
  app.post('/bulk', { preHandler: bulk }, async () => ({ ok: true }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, close: () => app.close() };
});

it('refuses bad options when the hook is created', () => {
  expect(() => keyrollFastify({ verifier: {} as never })).toThrow(/Verifier/);
});
