import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-deps.js';

/** `GET /metrics`: Prometheus exposition of this instance's registry (unauthenticated, like `/healthz`). */
export async function metricsRoutes(fastify: FastifyInstance, deps: AppDeps): Promise<void> {
  fastify.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics' } }, async (_req, reply) => {
    const { contentType, body } = await deps.monitoring.metrics.render();
    return reply.type(contentType).send(body);
  });
}
