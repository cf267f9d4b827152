import type { Store } from '@keyroll/storage';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';

/** Liveness and readiness. */
export async function healthRoutes(app: FastifyInstance, opts: { store: Store }): Promise<void> {
  app.get('/healthz', { schema: { tags: ['operations'], summary: 'Liveness' } }, async () => ({ status: 'ok' }));
  app.get(
    '/readyz',
    { schema: { tags: ['operations'], summary: 'Readiness: storage answers' } },
    async (_req, reply) => {
      try {
        await sql`select 1`.execute(opts.store.db);
        return { status: 'ready', storage: 'ok' };
      } catch {
        return reply.code(503).send({ status: 'degraded', storage: 'unreachable' });
      }
    },
  );
}
