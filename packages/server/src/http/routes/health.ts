import type { Store } from '@keyroll/storage';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { ClusterNode } from '../../cluster/cluster-node.js';

/** Liveness and readiness. */
export async function healthRoutes(app: FastifyInstance, opts: { store: Store; cluster?: ClusterNode }): Promise<void> {
  app.get('/healthz', { schema: { tags: ['operations'], summary: 'Liveness' } }, async () => ({ status: 'ok' }));
  app.get(
    '/readyz',
    {
      schema: {
        tags: ['operations'],
        summary: 'Readiness: storage answers and the change feed follows (503 degraded otherwise)',
      },
    },
    async (_req, reply) => {
      const storage = await sql`select 1`.execute(opts.store.db).then(
        () => 'ok',
        () => 'unreachable',
      );
      const feed = opts.cluster?.feedStatus();
      const changeFeed = feed && {
        mode: feed.mode,
        connected: feed.connected,
        appliedSeq: feed.appliedSeq,
      };
      // Degraded: cached keys still verify, but misses fail and changes from other nodes stop arriving.
      if (storage !== 'ok' || (feed && !feed.connected)) {
        return reply.code(503).send({ status: 'degraded', storage, changeFeed });
      }
      return { status: 'ready', storage, changeFeed };
    },
  );
}
