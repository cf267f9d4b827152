import { databaseAnswers, type Store } from '@keyroll/storage';
import type { ConnectedRedisRateLimiter } from '@keyroll/verifier/internal';
import type { FastifyInstance } from 'fastify';
import type { ClusterNode } from './cluster-node.js';

/** What readiness checks: storage, the change feed and, when configured, the Redis of cluster-wide limits. */
export interface HealthOptions {
  store: Store;
  cluster?: ClusterNode | undefined;
  redis?: Pick<ConnectedRedisRateLimiter, 'displayUrl' | 'reachable'> | undefined;
}

/** Liveness and readiness. */
export async function healthRoutes(app: FastifyInstance, opts: HealthOptions): Promise<void> {
  app.get('/healthz', { schema: { tags: ['operations'], summary: 'Liveness' } }, async () => ({ status: 'ok' }));
  app.get(
    '/readyz',
    {
      schema: {
        tags: ['operations'],
        summary:
          'Readiness: storage answers, the change feed follows and Redis (if configured) answers (503 degraded otherwise)',
      },
    },
    async (_req, reply) => {
      const storage = (await databaseAnswers(opts.store.db)) ? 'ok' : 'unreachable';
      const feed = opts.cluster?.feedStatus();
      const changeFeed = feed && {
        mode: feed.mode,
        connected: feed.connected,
        appliedSeq: feed.appliedSeq,
      };
      // Keys with rate limits or quotas are refused (503) while Redis is away: limits fail closed.
      const redis = opts.redis && ((await opts.redis.reachable()) ? 'ok' : 'unreachable');
      const problems = redis === 'unreachable' && {
        problems: [
          `Redis at ${opts.redis?.displayUrl} (KEYROLL_REDIS_URL) is unreachable: keys with rate limits or quotas are refused until it is back`,
        ],
      };
      // Degraded: cached keys still verify, but misses fail and changes from other nodes stop arriving.
      if (storage !== 'ok' || (feed && !feed.connected) || redis === 'unreachable') {
        return reply.code(503).send({ status: 'degraded', storage, changeFeed, redis, ...problems });
      }
      return { status: 'ready', storage, changeFeed, redis };
    },
  );
}
